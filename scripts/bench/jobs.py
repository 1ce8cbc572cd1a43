"""Each `huitou dispatch` job once, on a copy of a dataset: how long it runs and, on SQLite, how
long it holds the database's only write lock (every request and webhook that writes waits
meanwhile). Two rounds: the first does what had come due, the second shows a quiet cycle.

    .venv/bin/python scripts/bench/jobs.py --sqlite /tmp/huitou-bench/dataset-….db
    .venv/bin/python scripts/bench/jobs.py --pg huitou_bench_…   (no write lock: run time only)

The copy is migrated first and removed afterwards.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import load  # noqa: E402 - the load benchmark's dataset helpers


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    load.dataset_arguments(parser)
    parser.add_argument("--rounds", type=int, default=2)
    args = load.parse_dataset_arguments(parser, argv)
    with load.dataset_copy(args.sqlite, args.pg, args.pg_admin, "jobs") as url:
        load.huitou(url, "migrate", quiet=True)
        os.environ |= load.server_env(load.sa_url(url) if url.startswith("postgresql") else url)
        measure(args.rounds)
    return 0


def measure(rounds: int) -> None:
    import app.db as db
    import app.models  # noqa: F401 - every table known before the first query
    from app import dispatch

    held = {"seconds": 0.0, "longest": 0.0, "count": 0}
    acquire, release = db._SqliteWriter.acquire, db._SqliteWriter.release

    def timed_acquire(writer, timeout):
        got = acquire(writer, timeout)
        writer.bench_since = time.perf_counter()
        return got

    def timed_release(writer):
        seconds = time.perf_counter() - writer.bench_since
        held["seconds"] += seconds
        held["longest"] = max(held["longest"], seconds)
        held["count"] += 1
        release(writer)

    db._SqliteWriter.acquire, db._SqliteWriter.release = timed_acquire, timed_release
    print(f"{'round':5} {'job':42} {'did':>6} {'ms':>8} {'write lock ms':>14} {'txns':>5} {'longest ms':>11}")
    for round_ in range(1, rounds + 1):
        for target in dispatch.JOBS:
            job = dispatch._load(target)
            held.update(seconds=0.0, longest=0.0, count=0)
            started = time.perf_counter()
            with db.background_writes():  # as the worker runs them
                done = job(db.utc_now())
            print(
                f"{round_:5} {target:42} {done:6} {(time.perf_counter() - started) * 1000:8.1f} "
                f"{held['seconds'] * 1000:14.1f} {held['count']:5} {held['longest'] * 1000:11.1f}"
            )


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
