"""Benchmark: the 30-day supervisor dashboard over a large database, on SQLite and PostgreSQL.

    .venv/bin/python scripts/bench/dashboard.py [--orders 100000] [--tickets N] [--open-tickets N]
        [--messages N] [--engine sqlite|postgres|both] [--keep DIR] [--runs 5]
    .venv/bin/python scripts/bench/dashboard.py --database URL [--in-place] [--runs 5]

Data: `huitou seed-demo` with sizes — stores, customers (one per four orders), orders (180 days,
more of them recent), inquiries, cases, reviews, follow-ups, and the desk topped up in bulk to the
requested tickets (default: two per order, 5% open) and messages (default: 2.5 per ticket) with
CSAT surveys and phrasing uses (app.tickets.bulk_demo). Built at a fixed NOW, so runs compare.

--database URL measures an existing database instead, such as the reference dataset of
/tmp/bench-ref/README.txt (NOW is then its newest message); the benchmark adds activity and a
rollup, so it works on a copy (a file copy; CREATE DATABASE … TEMPLATE) unless --in-place.

Timed, each the median of --runs after one warm-up:
- baseline: two bare index-range counts over the same 30 days (orders paid, buyer messages), the
  least any dashboard must read;
- the dashboard straight from the live tables (app.metrics.rollups with the rollup switched off);
- refreshing the daily rollup after a burst of new activity, and the dashboard from the rollup;
- GET /reports through the app (login, filters, templates), as a supervisor.

--keep DIR builds the SQLite database (and names the PostgreSQL one) once and reuses it later.
PostgreSQL runs when one answers at postgresql://postgres@127.0.0.1:5432/test.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("HUITOU_SECRET_KEY", "bench-secret-key-that-is-long-enough-0123456789")
os.environ.setdefault("HUITOU_ENVIRONMENT", "development")
os.environ.setdefault("HUITOU_LOG_LEVEL", "ERROR")

import sqlalchemy as sa  # noqa: E402

from app.demo import DemoSizes  # noqa: E402

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # 16:00 in Shanghai; --database: its newest message


def build(url: str, sizes: DemoSizes) -> None:
    """`huitou seed-demo` with these sizes (its steps, bulk desk included), at the fixed NOW."""
    from app.db import UTCDateTime, create_db_engine, session_scope
    from app.demo import seed_all
    from app.migrations import upgrade

    started = time.perf_counter()
    upgrade(url)
    use_database(url)
    seed_all(sizes, seed=7, now=NOW)
    engine = create_db_engine(url)
    with session_scope(engine) as session:
        # The after-sales demo stamps a case's updated_at with the step after `now` when it stops
        # there (app/aftersales/demo.py): bring those back to `now`, or the rollup would see the
        # cases as changed on every read until that future time.
        cases = sa.table("aftersales_cases", sa.column("updated_at", UTCDateTime()))
        session.execute(sa.update(cases).where(cases.c.updated_at > NOW).values(updated_at=NOW))
    engine.dispose()
    if url.startswith("sqlite"):  # fold the write-ahead log in: reads then skip a multi-GB WAL
        with sqlite3.connect(sa.make_url(url).database) as raw:
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    print(f"  built in {time.perf_counter() - started:.0f}s")


def use_database(url: str) -> None:
    os.environ["HUITOU_DATABASE_URL"] = url
    from app.config import get_settings
    from app.db import get_engine

    get_settings.cache_clear()
    get_engine.cache_clear()


def median_ms(fn: Callable[[], Any], runs: int) -> float:
    fn()  # warm-up (connection, statement caches, OS page cache)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def measure(url: str, label: str, runs: int) -> None:
    use_database(url)
    from app.db import get_engine
    from app.metrics import dashboard, rollups
    from app.metrics.base import Scope
    from app.metrics.dialect import Sql
    from app.metrics.period import preset_period
    from app.orders.models import Order
    from app.tickets.models import TicketMessage

    engine = get_engine()
    period = preset_period("30d", now=NOW, tz="Asia/Shanghai")
    sql_for = Sql("sqlite" if url.startswith("sqlite") else "postgresql", period)
    o, m = Order.__table__, TicketMessage.__table__
    with engine.connect() as conn:
        sizes = {
            t: conn.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
            for t in (
                "orders",
                "tickets",
                "ticket_messages",
                "inquiries",
                "reviews",
                "csat_surveys",
                "followups",
            )
        }
    print(f"[{label}] rows: " + ", ".join(f"{t} {n:,}" for t, n in sizes.items()))

    def baseline() -> None:
        with engine.connect() as conn:
            conn.execute(sa.select(sa.func.count()).where(sql_for.within(o.c.paid_at))).scalar_one()
            conn.execute(
                sa.select(sa.func.count()).where(m.c.direction == "inbound", sql_for.within(m.c.created_at))
            ).scalar_one()

    from sqlmodel import Session

    def board(use_rollup: bool) -> Callable[[], Any]:
        def run() -> Any:
            with Session(engine) as session, rollups.enabled(use_rollup):
                return dashboard.build(session, period=period, scope=Scope())

        return run

    def show(what: str, ms: float) -> None:
        print(f"[{label}] {what:<52} {ms:8,.0f} ms  ({ms / base:5.1f}× baseline)")

    base = median_ms(baseline, runs)
    show("baseline: two bare index-range counts, 30 days", base)
    show("dashboard from the live tables (no rollup)", median_ms(board(False), max(1, runs // 2)))
    started = time.perf_counter()
    with Session(engine) as session:
        done = rollups.rebuild(session, now=NOW + timedelta(minutes=1))
        session.commit()
    print(f"[{label}] first rollup of all {done} days: {time.perf_counter() - started:.1f}s")
    touch_recent(engine)
    started = time.perf_counter()
    with Session(engine) as session:
        done = rollups.refresh(session, now=NOW + timedelta(minutes=6))
        session.commit()
    print(
        f"[{label}] refresh after a burst of new activity: {done} days, {time.perf_counter() - started:.2f}s"
    )
    show("dashboard from the rollup (+ today live)", median_ms(board(True), runs))
    show("GET /reports as a supervisor", median_ms(page_request(), runs))
    with Session(engine) as session, rollups.enabled(True):
        fresh = dashboard.build(session, period=period, scope=Scope()).values()
    with Session(engine) as session, rollups.enabled(False):
        live_values = dashboard.build(session, period=period, scope=Scope()).values()
    agree = all(fresh[k].value == live_values[k].value for k in fresh)
    print(f"[{label}] rollup figures equal the live figures: {agree}")
    engine.dispose()


def touch_recent(engine: sa.Engine) -> None:
    """New activity after the rollup (at NOW + 3 min): buyer messages and replies, a refund on an
    order paid three weeks ago."""
    from app.orders.models import Order
    from app.tickets.models import Ticket, TicketMessage

    t, m, o = Ticket.__table__, TicketMessage.__table__, Order.__table__
    with engine.begin() as conn:
        recent = conn.execute(sa.select(t.c.id, t.c.assignee_id).order_by(t.c.id.desc()).limit(200)).all()
        rows = []
        for i, (ticket_id, agent_id) in enumerate(recent):
            at = NOW + timedelta(minutes=3, seconds=i / 2)
            rows.append({"ticket_id": ticket_id, "direction": "inbound", "body": "在吗", "created_at": at})
            if agent_id:
                rows.append(
                    {
                        "ticket_id": ticket_id,
                        "direction": "outbound",
                        "author_id": agent_id,
                        "body": "在的亲",
                        "created_at": at + timedelta(seconds=40),
                    }
                )
        conn.execute(sa.insert(m), rows)
        touched = NOW + timedelta(minutes=3)
        conn.execute(sa.update(t).where(t.c.id.in_([r[0] for r in recent])).values(updated_at=touched))
        old = conn.execute(
            sa.select(o.c.id).where(o.c.paid_at < NOW - timedelta(days=20)).order_by(o.c.id).limit(1)
        ).scalar_one()
        conn.execute(sa.update(o).where(o.c.id == old).values(refunded_amount=100, updated_at=touched))


def page_request() -> Callable[[], Any]:
    from fastapi.testclient import TestClient

    from app.accounts import service as accounts
    from app.accounts.models import Role
    from app.db import session_scope
    from app.main import create_app

    with session_scope() as session:
        if accounts.get_agent_by_username(session, "benchboss") is None:
            accounts.create_agent(
                session, username="benchboss", password="bench-boss-password", role=Role.supervisor, now=NOW
            )
    client = TestClient(create_app(), base_url="http://testserver")
    page = client.get("/login")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    client.post(
        "/login", data={"username": "benchboss", "password": "bench-boss-password", "csrf_token": token}
    )
    from app.metrics.period import preset_period

    period = preset_period("30d", now=NOW, tz="Asia/Shanghai")
    query = f"/reports?start={period.start.isoformat()}&end={period.end.isoformat()}"

    def run() -> None:
        response = client.get(query)
        assert response.status_code == 200, response.status_code

    return run


def postgres_available() -> bool:
    try:
        engine = sa.create_engine(PG_ADMIN, poolclass=sa.NullPool, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001
        return False


def newest_message(url: str) -> datetime:
    """The dataset's clock: its newest message, to the next whole minute."""
    from app.db import create_db_engine
    from app.tickets.models import TicketMessage

    engine = create_db_engine(url, poolclass=sa.NullPool)
    with engine.connect() as conn:
        m = TicketMessage.__table__
        latest = conn.execute(sa.select(sa.func.max(m.c.created_at))).scalar_one()
    engine.dispose()
    latest = latest.replace(tzinfo=UTC) if latest.tzinfo is None else latest.astimezone(UTC)
    return datetime.fromtimestamp(math.ceil(latest.timestamp() / 60) * 60, UTC)


def existing(url: str, runs: int, in_place: bool) -> None:
    """Measure a database built before (by `huitou seed-demo`), on a scratch copy unless in place."""
    global NOW
    url = (
        sa.make_url(url).set(drivername="postgresql+psycopg")
        if url.startswith("postgres")
        else sa.make_url(url)
    )
    NOW = newest_message(url.render_as_string(hide_password=False))
    print(f"[{url.get_backend_name()}] NOW = {NOW.isoformat()} (the newest message)")
    if in_place:
        measure(url.render_as_string(hide_password=False), url.get_backend_name(), runs)
        return
    if url.get_backend_name() == "sqlite":
        source = Path(url.database)
        with sqlite3.connect(source) as raw:
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        with tempfile.TemporaryDirectory(prefix="huitou-bench-", dir=source.parent) as tmp:
            copy = Path(tmp) / source.name
            started = time.perf_counter()
            shutil.copyfile(source, copy)
            print(f"[sqlite] copied to {copy} in {time.perf_counter() - started:.0f}s")
            measure(f"sqlite:///{copy}", "sqlite", runs)
        return
    scratch = f"{url.database}_bench_copy"
    admin = sa.create_engine(
        url.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=sa.NullPool
    )
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
        started = time.perf_counter()
        conn.exec_driver_sql(f'CREATE DATABASE "{scratch}" TEMPLATE "{url.database}"')
        print(f"[postgres] copied to {scratch} in {time.perf_counter() - started:.0f}s")
    try:
        measure(url.set(database=scratch).render_as_string(hide_password=False), "postgres", runs)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--tickets", type=int, default=None, help="default: two per order")
    parser.add_argument("--open-tickets", type=int, default=None, help="default: 5%% of the tickets")
    parser.add_argument("--messages", type=int, default=None, help="default: 2.5 per ticket")
    parser.add_argument("--engine", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--keep", default=None, help="a directory to keep (and reuse) the SQLite database in")
    parser.add_argument("--database", default=None, help="measure this existing database instead")
    parser.add_argument("--in-place", action="store_true", help="with --database: no scratch copy")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if args.database:
        existing(args.database, args.runs, args.in_place)
        return
    tickets = args.tickets if args.tickets is not None else 2 * args.orders
    sizes = DemoSizes(
        customers=max(args.orders // 4, 1),
        orders=args.orders,
        tickets=tickets,
        open_tickets=args.open_tickets if args.open_tickets is not None else tickets // 20,
        messages=args.messages if args.messages is not None else tickets * 5 // 2,
    )
    tag = f"{args.orders}o_{tickets}t"
    if args.engine in ("sqlite", "both"):
        tmp = None if args.keep else tempfile.TemporaryDirectory(prefix="huitou-bench-")
        folder = Path(args.keep or tmp.name)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"dashboard_{tag}.db"
        url = f"sqlite:///{path}"
        if not path.exists():
            print(f"[sqlite] building {path} …")
            build(url, sizes)
        measure(url, "sqlite", args.runs)
        if tmp is not None:
            tmp.cleanup()
    if args.engine in ("postgres", "both"):
        if not postgres_available():
            print("[postgres] no PostgreSQL at 127.0.0.1:5432; skipped")
            return
        name = f"huitou_bench_dashboard_{tag}"
        admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
        with admin.connect() as conn:
            exists = conn.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).first()
            if exists and not args.keep:
                conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
                exists = None
            if not exists:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = sa.make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
        try:
            if not exists:
                print(f"[postgres] building {name} …")
                build(url, sizes)
            measure(url, "postgres", args.runs)
        finally:
            if not args.keep:
                with admin.connect() as conn:
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()


if __name__ == "__main__":
    main()
