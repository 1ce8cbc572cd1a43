"""Benchmark: the 30-day supervisor dashboard over a large database, on SQLite and PostgreSQL.

    .venv/bin/python scripts/bench/dashboard.py [--orders 100000] [--tickets N]
        [--engine sqlite|postgres|both] [--keep DIR] [--runs 5]

Data: `huitou seed-demo`'s steps make the stores, customers, orders (180 days, more of them
recent), inquiries, cases, reviews and follow-ups; the desk's own demo seed makes about a hundred
tickets through the services, which does not scale, so this script bulk-inserts the tickets itself
(default: two per order) with their messages (buyer questions, automatic replies, human replies,
second rounds), CSAT surveys and phrasing uses, for 30 agents in three teams.

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
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("HUITOU_SECRET_KEY", "bench-secret-key-that-is-long-enough-0123456789")
os.environ.setdefault("HUITOU_ENVIRONMENT", "development")
os.environ.setdefault("HUITOU_LOG_LEVEL", "ERROR")

import sqlalchemy as sa  # noqa: E402

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # 16:00 in Shanghai
HISTORY_DAYS = 180
BATCH = 5_000
AGENTS = 30
TEAMS = ("售前", "售后", "回访")


def history_time(rng: random.Random) -> datetime:
    """When something happened: like the demo orders, over 180 days, more of it recent."""
    return NOW - timedelta(days=rng.uniform(0, HISTORY_DAYS) ** 1.15 / HISTORY_DAYS**0.15)


def insert(session: Any, table: sa.Table, rows: Iterator[dict[str, Any]]) -> int:
    n, chunk = 0, []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= BATCH:
            session.execute(sa.insert(table), chunk)
            n += len(chunk)
            chunk = []
    if chunk:
        session.execute(sa.insert(table), chunk)
        n += len(chunk)
    return n


def next_id(session: Any, table: sa.Table) -> int:
    return int(session.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar_one()) + 1


def seed_agents(session: Any) -> list[tuple[int, int]]:
    """30 agents in three teams (a fixed password hash: nobody logs in as them)."""
    from app.accounts.models import Agent, Team

    teams = {}
    for name in TEAMS:
        team = session.execute(sa.select(Team).where(Team.name == name)).scalar_one_or_none()
        if team is None:
            team = Team(name=name, created_at=NOW)
            session.add(team)
            session.flush()
        teams[name] = team.id
    rows = [
        {
            "username": f"bench{i:02d}",
            "display_name": f"客服{i:02d}",
            "role": "agent",
            "team_id": teams[TEAMS[i % 3]],
            "locale": "zh_CN",
            "is_active": True,
            "password_hash": "!bench",
            "session_epoch": 0,
            "is_away": False,
            "created_at": NOW,
        }
        for i in range(AGENTS)
    ]
    session.execute(sa.insert(Agent.__table__), rows)
    found = session.execute(
        sa.select(Agent.__table__.c.id, Agent.__table__.c.team_id).where(
            Agent.__table__.c.username.like("bench%")
        )
    )
    return [(r.id, r.team_id) for r in found]


def seed_desk(session: Any, tickets: int, seed: int) -> dict[str, int]:
    """Tickets with messages, surveys and phrasing uses, bulk-inserted with explicit ids."""
    from app.customers.models import Customer
    from app.phrasing.models import PhrasingTemplate, PhrasingUsage
    from app.reviews.models import CsatSurvey
    from app.tickets.models import Ticket, TicketMessage

    rng = random.Random(seed)
    agents = seed_agents(session)
    c = Customer.__table__
    customers = [(r.id, r.store_id) for r in session.execute(sa.select(c.c.id, c.c.store_id))]
    categories = ("review_request", "payment_reminder", "bargaining", "revisit_care", "presale_reassurance")
    template_ids = []
    for i in range(40):
        tpl = PhrasingTemplate(
            title=f"话术 {i}", category=categories[i % len(categories)], created_at=NOW, updated_at=NOW
        )
        session.add(tpl)
        session.flush()
        template_ids.append((tpl.id, tpl.category))
    kinds = ("buyer_message", "inquiry", "shipping", "aftersales", "payment_reminder", "review_request")
    first_ticket = next_id(session, Ticket.__table__)
    first_survey = next_id(session, CsatSurvey.__table__)
    messages: list[dict[str, Any]] = []
    surveys: list[dict[str, Any]] = []
    usages: list[dict[str, Any]] = []
    counts = {"messages": 0, "surveys": 0, "usages": 0}

    def gap(median: float) -> timedelta:
        return timedelta(seconds=max(1.0, rng.lognormvariate(0, 1.1) * median))

    def flush_children() -> None:
        for name, table, rows in (
            ("messages", TicketMessage.__table__, messages),
            ("surveys", CsatSurvey.__table__, surveys),
            ("usages", PhrasingUsage.__table__, usages),
        ):
            if rows:
                session.execute(sa.insert(table), rows)
                counts[name] += len(rows)
                rows.clear()

    # In time order, as a live desk writes them (ids grow with time).
    created_times = sorted(history_time(rng) for _ in range(tickets))

    def rows() -> Iterator[dict[str, Any]]:
        for n, created in enumerate(created_times):
            ticket_id = first_ticket + n
            customer_id, store_id = customers[rng.randrange(len(customers))]
            agent_id, team_id = agents[rng.randrange(len(agents))]
            assigned = rng.random() > 0.08
            at = created
            thread = [("inbound", at, None, False)]
            if rng.random() < 0.12:
                thread.append(("outbound", at + timedelta(seconds=3), None, True))  # an auto-reply
            first_reply = None
            for round_no in range(1 + (rng.random() < 0.45) + (rng.random() < 0.15)):
                if round_no:
                    at = at + timedelta(minutes=rng.uniform(5, 240))
                    thread.append(("inbound", at, None, False))
                    if rng.random() < 0.3:
                        thread.append(("inbound", at + timedelta(seconds=rng.uniform(5, 60)), None, False))
                if not assigned or rng.random() < 0.03:
                    break  # nobody answered this round
                at = at + gap(45 if round_no == 0 else 70)
                thread.append(("outbound", at, agent_id, False))
                first_reply = first_reply or at
            thread = [m for m in thread if m[1] <= NOW]
            last = max(m[1] for m in thread)
            solved = first_reply is not None and rng.random() < 0.85 and last + timedelta(hours=1) < NOW
            solved_at = last + timedelta(minutes=rng.uniform(5, 600)) if solved else None
            if solved_at and solved_at > NOW:
                solved, solved_at = False, None
            for direction, when, author, automated in thread:
                messages.append(
                    {
                        "ticket_id": ticket_id,
                        "direction": direction,
                        "author_id": author,
                        "automated": automated,
                        "body": "亲，在的～" if direction == "outbound" else "请问什么时候发货？",
                        "channel": "manual" if direction == "outbound" else "taobao",
                        "delivery_status": "sent" if direction == "outbound" else "",
                        "created_at": when,
                    }
                )
            if solved and rng.random() < 0.3:
                answered_at = solved_at + timedelta(hours=rng.uniform(0.1, 30))
                answered = rng.random() < 0.6 and answered_at <= NOW
                surveys.append(
                    {
                        "id": first_survey + counts["surveys"] + len(surveys),
                        "ticket_id": ticket_id,
                        "store_id": store_id,
                        "customer_id": customer_id,
                        "agent_id": agent_id,
                        "locale": "zh_CN",
                        "sent_at": solved_at,
                        "expires_at": solved_at + timedelta(days=7),
                        "rating": rng.choice((5, 5, 5, 4, 4, 3, 2, 1)) if answered else None,
                        "comment": "",
                        "answered_at": answered_at if answered else None,
                    }
                )
            if first_reply is not None and rng.random() < 0.2:
                template_id, category = template_ids[rng.randrange(len(template_ids))]
                outcome = rng.random() < 0.3 and first_reply + timedelta(hours=2) <= NOW
                usages.append(
                    {
                        "template_id": template_id,
                        "category": category,
                        "locale": "zh_CN",
                        "agent_id": agent_id,
                        "ticket_id": ticket_id,
                        "customer_id": customer_id,
                        "action": "sent",
                        "used_at": first_reply,
                        "outcome": "replied" if outcome else None,
                        "outcome_at": first_reply + timedelta(hours=2) if outcome else None,
                    }
                )
            yield {
                "id": ticket_id,
                "kind": rng.choice(kinds),
                "status": "solved" if solved else "open",
                "priority": "normal",
                "priority_rank": 1,
                "store_id": store_id,
                "team_id": team_id,
                "assignee_id": agent_id if assigned else None,
                "customer_id": customer_id,
                "subject": "买家咨询",
                "tags": [],
                "first_response_due_at": created + timedelta(minutes=10),
                "resolution_due_at": created + timedelta(hours=24),
                "first_response_at": first_reply,
                "last_inbound_at": created,
                "solved_at": solved_at,
                "reopened_count": 1 if solved and rng.random() < 0.05 else 0,
                "created_at": created,
                "updated_at": solved_at or last,
            }
            if len(messages) >= BATCH * 3:
                # The parent tickets go first (foreign keys): the caller inserts this chunk now.
                yield {"__flush__": True}

    chunk: list[dict[str, Any]] = []
    total = 0
    for row in rows():
        if "__flush__" in row:
            session.execute(sa.insert(Ticket.__table__), chunk)
            total += len(chunk)
            chunk = []
            flush_children()
            continue
        chunk.append(row)
    if chunk:
        session.execute(sa.insert(Ticket.__table__), chunk)
        total += len(chunk)
    flush_children()
    return {"tickets": total, **counts, "agents": len(agents)}


def build(url: str, orders: int, tickets: int) -> None:
    from app.db import UTCDateTime, create_db_engine, session_scope
    from app.demo import SEED_STEPS, DemoSizes, seed_all
    from app.migrations import upgrade

    started = time.perf_counter()
    upgrade(url)
    os.environ["HUITOU_DATABASE_URL"] = url
    from app.config import get_settings
    from app.db import get_engine

    get_settings.cache_clear()
    get_engine.cache_clear()
    steps = [s for s in SEED_STEPS if s != "app.tickets.demo:seed"]
    seed_all(DemoSizes(customers=max(orders // 4, 1), orders=orders), seed=7, now=NOW, steps=steps)
    engine = create_db_engine(url)
    with session_scope(engine) as session:
        counts = seed_desk(session, tickets, seed=11)
        # The after-sales demo stamps a case's updated_at with the step after `now` when it stops
        # there (app/aftersales/demo.py): bring those back to `now`, or the rollup would see the
        # cases as changed on every read until that future time.
        cases = sa.table("aftersales_cases", sa.column("updated_at", UTCDateTime()))
        session.execute(sa.update(cases).where(cases.c.updated_at > NOW).values(updated_at=NOW))
    with engine.connect() as conn:
        conn.execute(sa.text("ANALYZE"))
        conn.commit()
    engine.dispose()
    if url.startswith("sqlite"):  # fold the write-ahead log in: reads then skip a 250 MB WAL
        with sqlite3.connect(sa.make_url(url).database) as raw:
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    print(f"  built in {time.perf_counter() - started:.0f}s: {orders:,} orders, {counts}")


def median_ms(fn: Callable[[], Any], runs: int) -> float:
    fn()  # warm-up (connection, statement caches, OS page cache)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def measure(url: str, label: str, runs: int) -> None:
    os.environ["HUITOU_DATABASE_URL"] = url
    from app.config import get_settings
    from app.db import get_engine

    get_settings.cache_clear()
    get_engine.cache_clear()
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
    query = "/reports?start=2026-11-01&end=2026-11-30"

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--tickets", type=int, default=None, help="default: two per order")
    parser.add_argument("--engine", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--keep", default=None, help="a directory to keep (and reuse) the SQLite database in")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    tickets = args.tickets if args.tickets is not None else 2 * args.orders
    tag = f"{args.orders}o_{tickets}t"
    if args.engine in ("sqlite", "both"):
        tmp = None if args.keep else tempfile.TemporaryDirectory(prefix="huitou-bench-")
        folder = Path(args.keep or tmp.name)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"dashboard_{tag}.db"
        url = f"sqlite:///{path}"
        if not path.exists():
            print(f"[sqlite] building {path} …")
            build(url, args.orders, tickets)
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
                build(url, args.orders, tickets)
            measure(url, "postgres", args.runs)
        finally:
            if not args.keep:
                with admin.connect() as conn:
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()


if __name__ == "__main__":
    main()
