"""Benchmark: SLA business-time arithmetic and the SLA dispatch job.

    .venv/bin/python scripts/bench/sla.py [--calls 20000] [--tickets 20000] [--engine sqlite|postgres|both]

1. The calculator: `add_business_time` and `business_time_between` (China's working days,
   09:00–18:00 Shanghai) for random starts in 2025–2026 and targets of 1 minute to 2 days. Baselines
   in the same run: plain calendar addition (what a calendar clock costs), and a naive
   minute-by-minute walk (on fewer calls: it is slow) — the answers of the two walks are compared.
2. The job: N open tickets whose next SLA event is due (created 60–200 business minutes ago under a
   120-minute first-response target: some past it, some in its last 20 %, the rest not yet) under
   a store-wide business-hours policy, bulk-inserted (not timed); then `jobs.sla_sweep` records the
   breaches and raises the tickets at risk, batch after batch. Baseline, same run and engine: one
   bare `UPDATE tickets SET sla_risk = … WHERE
   sla_next_at <= now` over the same rows — what touching every row costs at all.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("HUITOU_SECRET_KEY", "bench-secret-key-that-is-long-enough-0123456789")
os.environ.setdefault("HUITOU_ENVIRONMENT", "development")
os.environ.setdefault("HUITOU_LOG_LEVEL", "ERROR")

import sqlalchemy as sa  # noqa: E402

from app.customers.models import Customer  # noqa: E402
from app.db import create_db_engine, session_scope  # noqa: E402
from app.integrations.models import Store  # noqa: E402
from app.migrations import upgrade  # noqa: E402
from app.tickets import jobs  # noqa: E402
from app.tickets.business_time import (  # noqa: E402
    BusinessHours,
    add_business_time,
    business_time_between,
    is_business_day,
    subtract_business_time,
)
from app.tickets.models import Ticket  # noqa: E402
from app.tickets.sla_models import SlaBreach, SlaPolicy  # noqa: E402

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
NOW = datetime(2026, 11, 11, 2, 0, tzinfo=UTC)
HOURS = BusinessHours("Asia/Shanghai")
ZONE = ZoneInfo("Asia/Shanghai")


def naive_add(start: datetime, minutes: int) -> datetime:
    """The baseline: step minute by minute, counting the open ones."""
    cursor = start.replace(second=0, microsecond=0)
    left = minutes
    while left > 0:
        local = cursor.astimezone(ZONE)
        if is_business_day(local.date()) and dtime(9) <= local.time() < dtime(18):
            left -= 1
        cursor += timedelta(minutes=1)
    return cursor


def calculator(calls: int) -> None:
    rng = random.Random(11)
    base = datetime(2025, 1, 1, tzinfo=UTC)
    starts = [base + timedelta(minutes=rng.randrange(0, 2 * 365 * 24 * 60)) for _ in range(calls)]
    amounts = [timedelta(minutes=rng.randrange(1, 2 * 24 * 60)) for _ in range(calls)]

    t = time.perf_counter()
    ends = [s + a for s, a in zip(starts, amounts, strict=True)]
    calendar = time.perf_counter() - t

    t = time.perf_counter()
    ends = [add_business_time(s, a, HOURS) for s, a in zip(starts, amounts, strict=True)]
    business = time.perf_counter() - t

    t = time.perf_counter()
    spans = [business_time_between(s, e, HOURS) for s, e in zip(starts, ends, strict=True)]
    between = time.perf_counter() - t
    assert spans == amounts, "between(add(x)) must give x back"

    few = min(calls, 300)
    t = time.perf_counter()
    naive = [
        naive_add(s, int(a.total_seconds() // 60)) for s, a in zip(starts[:few], amounts[:few], strict=True)
    ]
    slow = time.perf_counter() - t
    mismatches = sum(
        1
        for s, a, n in zip(starts[:few], amounts[:few], naive, strict=True)
        if add_business_time(s.replace(second=0, microsecond=0), a, HOURS) != n
    )
    print(f"calculator ({calls} calls; naive walk on {few})")
    print(f"  calendar addition (baseline)     {calendar / calls * 1e6:10.2f} µs/call")
    print(f"  add_business_time                {business / calls * 1e6:10.2f} µs/call")
    print(f"  business_time_between            {between / calls * 1e6:10.2f} µs/call")
    print(f"  naive minute walk (baseline)     {slow / few * 1e6:10.2f} µs/call")
    print(f"  day walk vs minute walk          {(slow / few) / (business / calls):10.1f}× faster")
    print(f"  answers differing from the walk  {mismatches:10d}")


def scratch(engine_name: str) -> tuple[str, str | None]:
    if engine_name == "sqlite":
        return f"sqlite:///{tempfile.mkdtemp(prefix='huitou-bench-sla-')}/bench.db", None
    name = f"huitou_bench_sla_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return sa.make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False), name


def drop(name: str | None) -> None:
    if name is None:
        return
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def seed(engine: sa.Engine, tickets: int) -> None:
    rng = random.Random(5)
    with session_scope(engine) as session:
        store = Store(slug="bench", platform="standard", name="bench", created_at=NOW, updated_at=NOW)
        session.add(store)
        session.flush()
        session.add(
            SlaPolicy(
                name="bench",
                first_response_minutes=120,
                resolution_minutes=1440,
                created_at=NOW,
                updated_at=NOW,
            )
        )
        session.execute(
            sa.insert(Customer.__table__),
            [
                {
                    "store_id": store.id,
                    "external_id": f"b{i}",
                    "nickname": f"买家{i}",
                    "created_at": NOW,
                    "updated_at": NOW,
                }
                for i in range(1000)
            ],
        )
        customers = list(session.execute(sa.select(Customer.__table__.c.id)).scalars())
        rows = []
        for i in range(tickets):
            # 60–200 business minutes ago: a third past the 120-minute target, some in its last 20 %.
            created = subtract_business_time(NOW, timedelta(minutes=rng.randrange(60, 200)), HOURS)
            first_due = add_business_time(created, timedelta(minutes=120), HOURS)
            rows.append(
                {
                    "kind": "payment_reminder",
                    "status": "open",
                    "priority": "normal",
                    "priority_rank": 1,
                    "queue_rank": 2,
                    "store_id": store.id,
                    "customer_id": customers[i % len(customers)],
                    "subject": f"工单 {i}",
                    "tags": [],
                    "first_response_due_at": first_due,
                    "resolution_due_at": add_business_time(created, timedelta(minutes=1440), HOURS),
                    "due_at": first_due,
                    "sla_next_at": NOW - timedelta(minutes=1),
                    "created_at": created,
                    "updated_at": created,
                }
            )
        for start in range(0, len(rows), 5_000):
            session.execute(sa.insert(Ticket.__table__), rows[start : start + 5_000])


def job(engine_name: str, tickets: int) -> None:
    url, name = scratch(engine_name)
    try:
        upgrade(url)
        engine = create_db_engine(url)
        seed(engine, tickets)
        t = time.perf_counter()
        with engine.begin() as conn:
            touched = conn.execute(
                sa.update(Ticket.__table__)
                .where(Ticket.__table__.c.sla_next_at <= NOW)
                .values(sla_risk=Ticket.__table__.c.sla_risk)
            ).rowcount
        bare = time.perf_counter() - t
        t = time.perf_counter()
        swept = 0
        while True:
            done = jobs.sla_sweep(NOW, engine=engine)
            swept += done
            if done < jobs.MAX_PER_RUN:
                break
        took = time.perf_counter() - t
        with engine.connect() as conn:
            recorded = conn.execute(sa.select(sa.func.count()).select_from(SlaBreach.__table__)).scalar()
            risky = conn.execute(
                sa.select(sa.func.count()).select_from(Ticket.__table__).where(Ticket.__table__.c.sla_risk)
            ).scalar()
            left = conn.execute(
                sa.select(sa.func.count())
                .select_from(Ticket.__table__)
                .where(Ticket.__table__.c.sla_next_at <= NOW)
            ).scalar()
        print(f"sla_sweep on {engine_name} ({tickets} tickets due)")
        print(f"  bare UPDATE of the same rows (baseline) {touched / bare:10.0f} rows/s")
        print(f"  jobs.sla_sweep                          {swept / took:10.0f} tickets/s ({took:.2f} s)")
        print(f"  breaches recorded {recorded}, tickets at risk {risky}, still due {left}")
        engine.dispose()
    finally:
        drop(name)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--engine", choices=("sqlite", "postgres", "both"), default="sqlite")
    args = parser.parse_args()
    calculator(args.calls)
    for engine_name in ("sqlite", "postgres") if args.engine == "both" else (args.engine,):
        job(engine_name, args.tickets)


if __name__ == "__main__":
    main()
