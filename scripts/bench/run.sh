#!/usr/bin/env bash
# The mixed-load benchmark (issue 7): builds or reuses a dataset made by `huitou seed-demo`, runs
# the product as real processes (SQLite: one `huitou serve`; PostgreSQL: four behind a round-robin
# client, plus `huitou dispatch` workers), drives 50 agents, a stream of signed webhooks and two
# supervisors from a separate process on 127.0.0.1, measures bare baselines in the same run, checks
# the database afterwards, and prints and writes the table (WORKDIR/results-*.md and .json).
#
#   scripts/bench/run.sh                                   # small dataset, 30 s, both engines
#   scripts/bench/run.sh --size reference --duration 120   # the reference size (builds it once)
#   scripts/bench/run.sh --reuse-sqlite /tmp/bench-ref/huitou.db --reuse-pg huitou_ref --duration 120
#   scripts/bench/run.sh --help                            # every flag
#
# Datasets are built once per size in WORKDIR (default /tmp/huitou-bench) and in a PostgreSQL
# database huitou_bench_<hash>; every run works on a copy (a file copy; CREATE DATABASE … TEMPLATE),
# so the load never changes the dataset. PostgreSQL is used when one answers at --pg-admin.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/_venv.sh
ensure_venv bench
exec .venv/bin/python scripts/bench/load.py "$@"
