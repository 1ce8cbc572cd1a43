# Sourced by run.sh and test.sh: find Python 3.11+, create .venv if missing, install the project.
# Usage: ensure_venv [extras]
find_python() {
  for candidate in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "Huitou needs Python 3.11 or newer; none found (set PYTHON=/path/to/python3.11)." >&2
  return 1
}

ensure_venv() {
  local extras="${1:-}"
  if [ ! -x .venv/bin/python ]; then
    local py; py=$(find_python)
    echo "==> creating .venv with $("$py" --version)"
    "$py" -m venv .venv
    .venv/bin/python -m pip install --quiet --upgrade pip
  fi
  local spec="."
  [ -n "$extras" ] && spec=".[$extras]"
  # Reinstall only when the project's dependencies changed since the last install.
  local stamp=".venv/.huitou-installed${extras:+-$extras}"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "==> installing huitou${extras:+ with [$extras]} into .venv"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e "$spec"
    touch "$stamp"
  fi
}
