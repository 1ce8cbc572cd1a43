#!/usr/bin/env bash
# Until the first release, the lifecycle schema lives in one migration that is regenerated from the
# models: 0001 (accounts) stays, 0002 is rebuilt. Revisions after it (0003: a wider queue index, so
# the large benchmark datasets upgrade in place) are written by hand, as every one after a release.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
rm -f alembic/versions/0002_*.py
HUITOU_DATABASE_URL="sqlite:///$tmp/regen.db" .venv/bin/alembic upgrade 0001 >/dev/null 2>&1
HUITOU_DATABASE_URL="sqlite:///$tmp/regen.db" .venv/bin/alembic revision --autogenerate -m "sales lifecycle" --rev-id 0002 >/dev/null 2>&1
rm -rf "$tmp"
ls alembic/versions/0002_*.py
