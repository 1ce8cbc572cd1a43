"""Benchmark: materialise and handle 100,000 due follow-ups on a scratch database.

    .venv/bin/python scripts/bench/followups.py [--rows 100000] [--workers 1] [--engine sqlite|postgres|both]

Orders are bulk-inserted first (not timed): half unpaid (a payment-reminder task each), half paid
(a payment reminder that is skipped as "already paid", and an automatic reassurance). Then it times
`backfill_orders` (materialising the follow-ups from the order rules) and the worker's claim/handle
loop (`run_batch`, with leases; several threads with --workers on PostgreSQL, SKIP LOCKED).
PostgreSQL runs when one answers at postgresql://postgres@127.0.0.1:5432/test.

Baseline, measured in the same run: the same number of rows claimed in batches of 500 and each
marked done with one task row inserted, with the bare sqlite3 module — what this machine can do at
all — so the handling rate is also printed as a ratio to it.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("HUITOU_SECRET_KEY", "bench-secret-key-that-is-long-enough-0123456789")
os.environ.setdefault("HUITOU_ENVIRONMENT", "development")
os.environ.setdefault("HUITOU_LOG_LEVEL", "ERROR")

import sqlalchemy as sa  # noqa: E402

from app.customers.models import Customer  # noqa: E402
from app.db import create_db_engine, session_scope  # noqa: E402
from app.followups.jobs import run_batch  # noqa: E402
from app.followups.models import Followup  # noqa: E402
from app.followups.rules import ensure_default_rules  # noqa: E402
from app.followups.schedule import backfill_orders  # noqa: E402
from app.integrations.models import Store  # noqa: E402
from app.migrations import upgrade  # noqa: E402
from app.orders.models import Order  # noqa: E402

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
NOW = datetime(2026, 11, 11, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai: outside quiet hours
CUSTOMERS = 20_000


def seed(engine: sa.Engine, rows: int) -> list[int]:
    """Orders giving exactly `rows` follow-ups: unpaid ones give 1, paid ones give 2."""
    paid = rows // 4
    unpaid = rows - 2 * paid
    placed = NOW - timedelta(hours=2)
    with session_scope(engine) as session:
        store = Store(slug="bench", platform="standard", name="Bench", created_at=NOW, updated_at=NOW)
        session.add(store)
        session.flush()
        ensure_default_rules(session, now=NOW)
        customers = [
            {
                "store_id": store.id,
                "external_id": f"b{i}",
                "nickname": f"买家{i}",
                "created_at": NOW,
                "updated_at": NOW,
            }
            for i in range(CUSTOMERS)
        ]
        for i in range(0, len(customers), 5_000):
            session.execute(sa.insert(Customer.__table__), customers[i : i + 5_000])
        customer_ids = [
            r[0]
            for r in session.execute(sa.select(Customer.__table__.c.id).order_by(Customer.__table__.c.id))
        ]
        orders = []
        for i in range(unpaid + paid):
            is_paid = i >= unpaid
            orders.append(
                {
                    "store_id": store.id,
                    "customer_id": customer_ids[i % len(customer_ids)],
                    "number": f"BENCH{i:07d}",
                    "stage": "paid" if is_paid else "ordered",
                    "currency": "CNY",
                    "subtotal": Decimal("99.00"),
                    "shipping_fee": Decimal("0.00"),
                    "discount_total": Decimal("0.00"),
                    "total": Decimal("99.00"),
                    "refunded_amount": Decimal("0.00"),
                    "placed_at": placed,
                    "paid_at": placed + timedelta(minutes=10) if is_paid else None,
                    "note": "",
                    "created_at": placed,
                    "updated_at": placed,
                }
            )
        for i in range(0, len(orders), 5_000):
            session.execute(sa.insert(Order.__table__), orders[i : i + 5_000])
        return [r[0] for r in session.execute(sa.select(Order.__table__.c.id).order_by(Order.__table__.c.id))]


def bare_baseline(rows: int) -> float:
    """Rows per second for claim + update + insert per row with plain sqlite3 (no app code)."""
    with tempfile.TemporaryDirectory(prefix="huitou-bare-") as tmp:
        conn = sqlite3.connect(f"{tmp}/bare.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("CREATE TABLE due (id INTEGER PRIMARY KEY, status TEXT, due_at TEXT, outcome TEXT)")
        conn.execute("CREATE INDEX due_status ON due (status, due_at)")
        conn.execute("CREATE TABLE tasks (id INTEGER PRIMARY KEY, due_id INTEGER, body TEXT)")
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO due (status, due_at) VALUES ('pending', ?)",
            ((NOW.isoformat(),) for _ in range(rows)),
        )
        conn.execute("COMMIT")
        started = time.perf_counter()
        while True:
            conn.execute("BEGIN IMMEDIATE")
            ids = [
                r[0]
                for r in conn.execute("SELECT id FROM due WHERE status = 'pending' ORDER BY due_at LIMIT 500")
            ]
            for due_id in ids:
                conn.execute(
                    "UPDATE due SET status = 'done', outcome = 'task_created' WHERE id = ?", (due_id,)
                )
                conn.execute("INSERT INTO tasks (due_id, body) VALUES (?, '请尽快付款')", (due_id,))
            conn.execute("COMMIT")
            if not ids:
                break
        elapsed = time.perf_counter() - started
        conn.close()
    rate = rows / elapsed
    print(f"[baseline] bare sqlite3, claim + update + insert per row: {rate:,.0f} rows/s")
    return rate


def bench(url: str, label: str, rows: int, workers: int) -> float:
    upgrade(url)
    engine = create_db_engine(url)
    order_ids = seed(engine, rows)
    started = time.perf_counter()
    with session_scope(engine) as session:
        created = backfill_orders(session, order_ids=order_ids, now=NOW)
    materialise = time.perf_counter() - started

    handled = [0] * workers

    def work(index: int) -> None:
        while True:
            claimed, done = run_batch(NOW, engine=engine)
            handled[index] += done
            if not claimed:
                return

    started = time.perf_counter()
    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    handling = time.perf_counter() - started
    with engine.connect() as conn:
        outcomes = dict(
            conn.execute(
                sa.select(Followup.__table__.c.outcome, sa.func.count()).group_by(
                    Followup.__table__.c.outcome
                )
            ).all()
        )
    engine.dispose()
    print(
        f"[{label}] materialised {created:,} follow-ups in {materialise:.1f}s: "
        f"{created / materialise:,.0f} rows/s"
    )
    print(
        f"[{label}] handled {sum(handled):,} follow-ups with {workers} worker(s) in {handling:.1f}s: "
        f"{sum(handled) / handling:,.0f} rows/s  outcomes={outcomes}"
    )
    return sum(handled) / handling


def postgres_available() -> bool:
    try:
        engine = sa.create_engine(PG_ADMIN, poolclass=sa.NullPool, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=1, help="worker threads (PostgreSQL only)")
    parser.add_argument("--engine", choices=("sqlite", "postgres", "both"), default="both")
    args = parser.parse_args()
    baseline = bare_baseline(args.rows)
    if args.engine in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="huitou-bench-") as tmp:
            rate = bench(f"sqlite:///{tmp}/bench.db", "sqlite", args.rows, 1)
        print(f"[sqlite] handling rate / bare baseline: {rate / baseline:.3f}")
    if args.engine in ("postgres", "both"):
        if not postgres_available():
            print("[postgres] no PostgreSQL at 127.0.0.1:5432; skipped")
            return
        name = f"huitou_bench_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            url = sa.make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
            rate = bench(url, f"postgres x{args.workers}", args.rows, args.workers)
            print(f"[postgres x{args.workers}] handling rate / bare sqlite3 baseline: {rate / baseline:.3f}")
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()


if __name__ == "__main__":
    main()
