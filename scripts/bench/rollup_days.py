"""What recomputing one day of the metrics rollup costs, family by family, on an existing dataset
(read only: nothing is written).

    .venv/bin/python scripts/bench/rollup_days.py postgresql://postgres@127.0.0.1:5432/huitou_bench_… 0 1 30
    .venv/bin/python scripts/bench/rollup_days.py sqlite:////tmp/huitou-bench/dataset-….db 0 1 30
    … --background   (on PostgreSQL: as the dispatch job runs them, without parallel workers or JIT)

Each argument is a day, as days before today in the rollup's time zone. Prints the day's total
wall time and its slowest families (ms / rows). Run it with nothing else on the machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import load  # noqa: E402 - the load benchmark's URL helpers


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="the dataset's database URL")
    parser.add_argument("days_ago", nargs="*", type=int, default=[0, 1, 30])
    parser.add_argument("--background", action="store_true", help="the dispatch job's query settings")
    parser.add_argument("--top", type=int, default=6)
    args = parser.parse_args(argv)
    os.environ |= load.server_env(load.sa_url(args.url))

    from app.db import session_scope, utc_now
    from app.metrics.base import Scope, run
    from app.metrics.dialect import Sql
    from app.metrics.kpis import families
    from app.metrics.period import Period, local_today
    from app.metrics.rollups import background_queries, rollup_tz

    now = utc_now()  # the edge's clock: this script is the caller
    tz = rollup_tz()
    today = local_today(now, tz)
    with session_scope(write=False) as session:
        if args.background:
            background_queries(session)
        for ago in args.days_ago:
            day = today - timedelta(days=ago)
            sql = Sql.for_session(session, Period(day, day, tz))
            timed = []
            for family in families():
                started = time.perf_counter()
                rows = run(session, family, sql, Scope())
                timed.append((time.perf_counter() - started, family.name, len(rows)))
            timed.sort(reverse=True)
            total = sum(t for t, _, _ in timed)
            slowest = ", ".join(f"{name} {t * 1000:.0f}/{n}" for t, name, n in timed[: args.top])
            print(f"{day} ({ago} days ago): {total * 1000:.0f} ms; slowest (ms/rows): {slowest}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
