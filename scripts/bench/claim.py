"""Benchmark: concurrent "next ticket" claims (下一个) on a scratch database.

    .venv/bin/python scripts/bench/claim.py [--tickets 20000] [--claimers 8,16] \
        [--sqlite-claimers 1,4] [--engine sqlite|postgres|both]

N open, unassigned tickets (spread over the default queues' kinds, priorities and due times) are
bulk-inserted first (not timed). Then K claimer threads (8 and 16 on PostgreSQL; 1 and 4 on SQLite,
which has one writer at a time), each with its own session and connection,
call `app.tickets.assignment.claim_next` in a transaction of its own (commit per claim) until
nothing waits. It prints claims per second and verifies that every ticket was claimed exactly once
(no ticket went to two agents; none was left). PostgreSQL runs when one answers at
postgresql://postgres@127.0.0.1:5432/test.

Baseline, measured in the same run and on the same engine: the same number of rows claimed by the
same number of threads with a bare one-statement claim on a one-column table (with a partial index
on the waiting rows, as the app has) — on PostgreSQL
`UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING id` with psycopg in
autocommit, on SQLite the same UPDATE in `BEGIN IMMEDIATE … COMMIT` with the sqlite3 module — what
the engine can do at all; the app's rate is printed as a ratio to it.
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
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("HUITOU_SECRET_KEY", "bench-secret-key-that-is-long-enough-0123456789")
os.environ.setdefault("HUITOU_ENVIRONMENT", "development")
os.environ.setdefault("HUITOU_LOG_LEVEL", "ERROR")

import sqlalchemy as sa  # noqa: E402

from app.accounts.models import Agent, Team  # noqa: E402
from app.customers.models import Customer  # noqa: E402
from app.db import create_db_engine, session_scope  # noqa: E402
from app.integrations.models import Store  # noqa: E402
from app.migrations import upgrade  # noqa: E402
from app.tickets.assignment import claim_next  # noqa: E402
from app.tickets.models import Ticket  # noqa: E402
from app.tickets.queues import ensure_default_queues, queue_rows  # noqa: E402

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
NOW = datetime(2026, 11, 11, 2, 0, tzinfo=UTC)
CUSTOMERS = 2_000
KINDS = (
    "buyer_message",
    "inquiry",
    "bargaining",
    "payment_reminder",
    "reassurance",
    "shipping",
    "confirm_nudge",
    "review_request",
    "bad_review",
    "aftersales",
    "lost_lead",
    "revisit",
)
PRIORITIES = (("low", 0), ("normal", 1), ("high", 2), ("urgent", 3))


def seed(engine: sa.Engine, tickets: int, claimers: int) -> list[int]:
    """A store, a team with `claimers` agents and its default queues, `tickets` waiting tickets."""
    with session_scope(engine) as session:
        store = Store(slug="bench", platform="standard", name="Bench", created_at=NOW, updated_at=NOW)
        team = Team(name="售后", created_at=NOW)
        session.add_all([store, team])
        session.flush()
        agents = [
            Agent(
                username=f"bench{i}",
                display_name=f"客服{i}",
                team_id=team.id,
                password_hash="-",
                created_at=NOW,
            )
            for i in range(claimers)
        ]
        session.add_all(agents)
        ensure_default_queues(session, team_id=team.id, now=NOW)
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
                for i in range(CUSTOMERS)
            ],
        )
        customer_ids = list(session.execute(sa.select(Customer.__table__.c.id)).scalars())
        rows = []
        for i in range(tickets):
            priority, rank = PRIORITIES[(i * 7) % 4]
            rows.append(
                {
                    "kind": KINDS[i % len(KINDS)],
                    "status": "open",
                    "priority": priority,
                    "priority_rank": rank,
                    "queue_rank": 2 * rank,  # tickets.sla.queue_rank, no ticket near a breach
                    "store_id": store.id,
                    "team_id": team.id if i % 3 else None,
                    "customer_id": customer_ids[i % len(customer_ids)],
                    "subject": f"工单 {i}",
                    "tags": [],
                    "due_at": NOW + timedelta(minutes=(i * 37) % 2880),
                    "created_at": NOW,
                    "updated_at": NOW,
                }
            )
        for start in range(0, len(rows), 5_000):
            session.execute(sa.insert(Ticket.__table__), rows[start : start + 5_000])
        session.execute(sa.text("ANALYZE"))
        return [a.id for a in agents]


def run_threads(count: int, work: Callable[[int], list[int]]) -> tuple[list[list[int]], float]:
    results: list[list[int]] = [[] for _ in range(count)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(count + 1)

    def target(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(index)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return results, elapsed


def verify(label: str, results: list[list[int]], expected: int) -> None:
    claimed = [ticket_id for ids in results for ticket_id in ids]
    twice = len(claimed) - len(set(claimed))
    if twice or len(set(claimed)) != expected:
        raise SystemExit(f"[{label}] FAILED: {len(claimed)} claims, {twice} duplicates, {expected} tickets")
    busy = sum(1 for ids in results if ids)
    print(f"[{label}] verified: {expected:,} tickets claimed exactly once by {busy} claimers; none twice")


def bench_app(url: str, label: str, tickets: int, claimers: int) -> float:
    engine = (
        create_db_engine(url, pool_size=claimers + 4) if url.startswith("postgres") else create_db_engine(url)
    )
    agent_ids = seed(engine, tickets, claimers)

    def work(index: int) -> list[int]:
        mine: list[int] = []
        while True:
            with session_scope(engine) as session:
                agent = session.get(Agent, agent_ids[index])
                ticket_id = claim_next(session, agent=agent, now=NOW)
            if ticket_id is None:
                return mine
            mine.append(ticket_id)

    results, elapsed = run_threads(claimers, work)
    rate = tickets / elapsed
    print(f"[{label}] {tickets:,} claims by {claimers} claimers in {elapsed:.1f}s: {rate:,.0f} claims/s")
    verify(label, results, tickets)
    with engine.connect() as conn:
        owners = dict(conn.execute(sa.select(Ticket.__table__.c.id, Ticket.__table__.c.assignee_id)).all())
    expected = {ticket_id: agent_ids[i] for i, ids in enumerate(results) for ticket_id in ids}
    if owners != expected:
        raise SystemExit(f"[{label}] FAILED: the database disagrees with what the claimers got")
    engine.dispose()
    return rate


def queue_page_timing(url: str, tickets: int) -> None:
    """How long one page of a queue takes at this size (a re-seeded, unclaimed database)."""
    engine = create_db_engine(url)
    agent_ids = seed(engine, tickets, 1)
    with session_scope(engine) as session:
        agent = session.get(Agent, agent_ids[0])
        started = time.perf_counter()
        for _ in range(20):
            queue_rows(session, agent=agent, queue_key="presale", now=NOW)
        per_page = (time.perf_counter() - started) / 20 * 1000
    print(f"[queue page] 50 rows of 售前咨询 over {tickets:,} tickets: {per_page:.1f} ms")
    engine.dispose()


def pg_baseline(url: str, tickets: int, claimers: int) -> float:
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bare_claims")
        conn.execute("CREATE TABLE bare_claims (id bigserial PRIMARY KEY, owner int)")
        conn.execute("CREATE INDEX bare_claims_waiting ON bare_claims (id) WHERE owner IS NULL")
        conn.execute("INSERT INTO bare_claims (owner) SELECT NULL FROM generate_series(1, %s)", (tickets,))
        conn.execute("ANALYZE bare_claims")

    def work(index: int) -> list[int]:
        mine: list[int] = []
        with psycopg.connect(dsn, autocommit=True) as conn:
            while True:
                row = conn.execute(
                    "UPDATE bare_claims SET owner = %s WHERE id = (SELECT id FROM bare_claims"
                    " WHERE owner IS NULL ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id",
                    (index,),
                ).fetchone()
                if row is None:
                    return mine
                mine.append(row[0])

    results, elapsed = run_threads(claimers, work)
    verify(f"baseline pg x{claimers}", results, tickets)
    rate = tickets / elapsed
    print(f"[baseline pg x{claimers}] bare psycopg UPDATE … SKIP LOCKED: {rate:,.0f} claims/s")
    return rate


def sqlite_baseline(tickets: int, claimers: int) -> float:
    with tempfile.TemporaryDirectory(prefix="huitou-bare-") as tmp:
        path = f"{tmp}/bare.db"
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE bare_claims (id INTEGER PRIMARY KEY, owner INTEGER)")
        conn.execute("CREATE INDEX bare_claims_waiting ON bare_claims (id) WHERE owner IS NULL")
        conn.executemany("INSERT INTO bare_claims (owner) VALUES (NULL)", ((),) * tickets)
        conn.close()

        def work(index: int) -> list[int]:
            mine: list[int] = []
            db = sqlite3.connect(path, isolation_level=None, timeout=30)
            db.execute("PRAGMA synchronous=NORMAL")
            while True:
                db.execute("BEGIN IMMEDIATE")
                row = db.execute(
                    "UPDATE bare_claims SET owner = ? WHERE id = (SELECT id FROM bare_claims"
                    " WHERE owner IS NULL ORDER BY id LIMIT 1) RETURNING id",
                    (index,),
                ).fetchone()
                db.execute("COMMIT")
                if row is None:
                    db.close()
                    return mine
                mine.append(row[0])

        results, elapsed = run_threads(claimers, work)
    verify(f"baseline sqlite x{claimers}", results, tickets)
    rate = tickets / elapsed
    print(f"[baseline sqlite x{claimers}] bare sqlite3 UPDATE in BEGIN IMMEDIATE: {rate:,.0f} claims/s")
    return rate


def postgres_available() -> bool:
    try:
        engine = sa.create_engine(PG_ADMIN, poolclass=sa.NullPool, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001
        return False


def with_pg_database(run: Callable[[str], None]) -> None:
    name = f"huitou_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        run(sa.make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False))
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--claimers", default="8,16", help="claimer threads on PostgreSQL (comma-separated)")
    # SQLite has one writer at a time: more claimers only queue on the lock (and starve past its
    # busy timeout), so its runs use fewer.
    parser.add_argument(
        "--sqlite-claimers", default="1,4", help="claimer threads on SQLite (comma-separated)"
    )
    parser.add_argument("--engine", choices=("sqlite", "postgres", "both"), default="both")
    args = parser.parse_args()
    counts = [int(c) for c in args.claimers.split(",") if c.strip()]
    if args.engine in ("sqlite", "both"):
        for claimers in [int(c) for c in args.sqlite_claimers.split(",") if c.strip()]:
            baseline = sqlite_baseline(args.tickets, claimers)
            with tempfile.TemporaryDirectory(prefix="huitou-bench-") as tmp:
                url = f"sqlite:///{tmp}/bench.db"
                upgrade(url)
                rate = bench_app(url, f"sqlite x{claimers}", args.tickets, claimers)
            print(f"[sqlite x{claimers}] claim_next rate / bare baseline: {rate / baseline:.3f}")
        with tempfile.TemporaryDirectory(prefix="huitou-bench-") as tmp:
            url = f"sqlite:///{tmp}/page.db"
            upgrade(url)
            queue_page_timing(url, args.tickets)
    if args.engine in ("postgres", "both"):
        if not postgres_available():
            print("[postgres] no PostgreSQL at 127.0.0.1:5432; skipped")
            return
        for claimers in counts:

            def run(url: str, claimers: int = claimers) -> None:
                upgrade(url)
                baseline = pg_baseline(url, args.tickets, claimers)
                rate = bench_app(url, f"postgres x{claimers}", args.tickets, claimers)
                print(f"[postgres x{claimers}] claim_next rate / bare baseline: {rate / baseline:.3f}")

            with_pg_database(run)

        def page(url: str) -> None:
            upgrade(url)
            queue_page_timing(url, args.tickets)

        with_pg_database(page)


if __name__ == "__main__":
    main()
