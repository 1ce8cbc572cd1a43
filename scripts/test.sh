#!/usr/bin/env bash
# The whole test suite: lint, then pytest on SQLite, then again on PostgreSQL.
# PostgreSQL: HUITOU_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test).
# With CI=true the PostgreSQL leg is mandatory; elsewhere it is skipped, with the reason, when no
# server answers. Extra arguments go to pytest (e.g. ./scripts/test.sh -k login).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh
ensure_venv test

# Browser tests drive Debian's chromium through Playwright (no browser download).
if ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "==> installing chromium for the browser tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
  else
    echo "==> chromium not found and apt unavailable: browser tests will be skipped"
  fi
fi

echo "==> ruff"
.venv/bin/ruff check app tests scripts alembic/env.py

PYTEST=(.venv/bin/python -m pytest -p no:cacheprovider "$@")
export PYTHONDONTWRITEBYTECODE=1

echo "==> pytest on SQLite"
env -u HUITOU_TEST_DATABASE_URL "${PYTEST[@]}"

PG_URL="${HUITOU_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/test}"
if .venv/bin/python - "$PG_URL" <<'PY' 2>/tmp/huitou-pg-check.$$
import sys, psycopg
psycopg.connect(sys.argv[1], connect_timeout=3).close()
PY
then
  echo "==> pytest on PostgreSQL ($PG_URL)"
  HUITOU_TEST_DATABASE_URL="$PG_URL" "${PYTEST[@]}"
else
  reason=$(tail -n 1 /tmp/huitou-pg-check.$$ || true)
  rm -f /tmp/huitou-pg-check.$$
  if [ "${CI:-}" = "true" ]; then
    echo "FAIL: the PostgreSQL leg is mandatory in CI and no server answers at $PG_URL: $reason" >&2
    exit 1
  fi
  echo "==> SKIPPED the PostgreSQL leg: no server answers at $PG_URL ($reason)"
fi
rm -f /tmp/huitou-pg-check.$$
