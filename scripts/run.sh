#!/usr/bin/env bash
# Run Huitou on this machine: venv, migrations on ./var/huitou.db, demo data on first run,
# the server on http://127.0.0.1:8000 and one `huitou dispatch` worker beside it.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh
ensure_venv
mkdir -p var
export HUITOU_DATABASE_URL="${HUITOU_DATABASE_URL:-sqlite:///$PWD/var/huitou.db}"
HOST="${HUITOU_HOST:-127.0.0.1}"
PORT="${HUITOU_PORT:-8000}"

echo "==> migrating the database"
.venv/bin/huitou migrate
echo "==> loading demo data (first run only)"
.venv/bin/huitou seed-demo --if-empty

worker_pid=""
if .venv/bin/huitou --help 2>/dev/null | grep -q ' dispatch '; then
  .venv/bin/huitou dispatch &
  worker_pid=$!
  trap '[ -n "$worker_pid" ] && kill "$worker_pid" 2>/dev/null || true' EXIT INT TERM
fi

cat <<TXT

  Huitou (回头) is running on http://$HOST:$PORT
  Demo logins (username / password):
$(.venv/bin/python -c 'from app.demo import demo_logins
for u, p, r in demo_logins(): print(f"    {r:<11} {u:<10} {p}")')

TXT
.venv/bin/huitou serve --host "$HOST" --port "$PORT"
