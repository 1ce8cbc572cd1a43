"""`huitou seed-demo`: deterministic, realistic demo data, step by step per domain, in batches.

Each domain contributes a step (a function of the shared DemoContext); steps run in order and
see what earlier steps created (ids, in ctx.ids).
"""

from __future__ import annotations

import importlib
import random
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from faker import Faker
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlmodel import Session, select

from app.accounts import service as accounts
from app.accounts.models import Agent, Role
from app.bulk import insert_rows
from app.db import session_scope

DEMO_PASSWORDS = {"admin": "huitou-admin", "supervisor": "huitou-super", "agent": "huitou-agent"}
DEMO_ACCOUNTS = (
    # username, display name, role, team
    ("admin", "管理员", Role.admin, None),
    ("zhuguan", "王主管", Role.supervisor, "售后"),
    ("xiaomei", "小美", Role.agent, "售前"),
    ("xiaoli", "小李", Role.agent, "售后"),
)
DEMO_TEAMS = (
    ("售前", "Pre-sale questions and bargaining"),
    ("售后", "After-sales and shipping"),
    ("回访", "Revisits"),
)
BATCH = 5_000


@dataclass(frozen=True)
class DemoSizes:
    customers: int = 200
    orders: int = 600
    # The desk at scale (app.tickets.bulk_demo): None keeps the service-made demo desk alone.
    tickets: int | None = None
    open_tickets: int | None = None
    messages: int | None = None


class DemoSizeError(ValueError):
    """Sizes the demo cannot produce exactly (the command says which and why)."""


@dataclass
class DemoContext:
    session: Session
    sizes: DemoSizes
    rng: random.Random
    faker: Faker
    now: datetime
    progress: Progress
    ids: dict[str, Any] = field(default_factory=dict)

    def insert_batches(self, table: sa.Table, rows: Iterable[dict[str, Any]], total: int, label: str) -> None:
        """Insert rows in batches of BATCH with a progress bar (app.bulk: COPY / executemany)."""
        task = self.progress.add_task(label, total=total)
        for chunk in chunked(rows, BATCH):
            insert_rows(self.session, table, chunk)
            self.progress.advance(task, len(chunk))


def chunked(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def seed_accounts(ctx: DemoContext) -> None:
    session, now = ctx.session, ctx.now
    for name, description in DEMO_TEAMS:
        if accounts.get_team_by_name(session, name) is None:
            accounts.create_team(session, name=name, description=description, now=now)
    for username, display, role, team in DEMO_ACCOUNTS:
        if accounts.get_agent_by_username(session, username) is None:
            accounts.create_agent(
                session,
                username=username,
                password=DEMO_PASSWORDS[role.value],
                role=role,
                display_name=display,
                team=team,
                now=now,
            )
    ctx.ids["agents"] = [a.id for a in session.exec(select(Agent).where(Agent.role == Role.agent))]


SeedStep = Callable[[DemoContext], None]
# Each domain seeds in its own `demo.py`; later steps use the ids earlier ones put in ctx.ids:
#   store_ids: list[int]; products: list[dict] (id, store_id, sku, title, category, list_price,
#   floor_price); customers: list[tuple[int, int]] (customer id, store id); agents: list[int];
#   orders: list[tuple[int, int, int, str]] (order id, customer id, store id, stage).
SEED_STEPS: list[SeedStep | str] = [
    seed_accounts,
    "app.phrasing.demo:seed",
    "app.integrations.demo:seed",
    "app.catalog.demo:seed",
    "app.customers.demo:seed",
    "app.orders.demo:seed",
    "app.presale.demo:seed",
    "app.aftersales.demo:seed",
    "app.reviews.demo:seed",
    "app.followups.demo:seed",
    "app.tickets.demo:seed",
    "app.reviews.surveys_demo:seed",
    "app.tickets.bulk_demo:seed",
    "app.metrics.quality_demo:seed",
]


def _step(step: SeedStep | str) -> SeedStep:
    if callable(step):
        return step
    module, _, name = step.partition(":")
    return getattr(importlib.import_module(module), name)


def has_demo_data() -> bool:
    """True once anyone can log in: the first run of ./scripts/run.sh seeds, later runs do not."""
    with session_scope(write=False) as session:
        return session.exec(select(sa.func.count()).select_from(Agent)).one() > 0


def seed_all(
    sizes: DemoSizes, *, seed: int, now: datetime, steps: list[SeedStep | str] | None = None
) -> None:
    faker = Faker("zh_CN")
    faker.seed_instance(seed)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=False,
    )
    if not progress.console.is_terminal:  # a log file: a line now and then, not only at the end
        progress = LineProgress(progress.console)  # type: ignore[assignment]
    with progress, session_scope() as session:
        ctx = DemoContext(
            session=session, sizes=sizes, rng=random.Random(seed), faker=faker, now=now, progress=progress
        )
        with _bulk_load(session):
            for step in steps or SEED_STEPS:
                _step(step)(ctx)
                session.flush()
        # Fresh statistics, so the query planner picks the right indexes on the new data.
        session.execute(sa.text("ANALYZE"))
        engine = session.get_bind()
    if engine.dialect.name == "postgresql":
        # And the visibility map (VACUUM runs outside a transaction): without it every index-only
        # scan of the new rows visits the table too, until autovacuum comes round.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM (ANALYZE)")


@contextmanager
def _bulk_load(session: Session) -> Iterator[None]:
    """SQLite: a big page cache while seeding (one transaction writes millions of index entries in
    no particular order; the default 2 MB cache would spill and re-read pages all along), back to
    what it was after. PostgreSQL's shared buffers are the server's business."""
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    before = session.execute(sa.text("PRAGMA cache_size")).scalar_one()
    session.execute(sa.text("PRAGMA cache_size = -1048576"))  # 1 GiB, only as pages are used
    try:
        yield
    finally:
        session.execute(sa.text(f"PRAGMA cache_size = {int(before)}"))


class LineProgress:
    """Progress as plain lines (for logs): each task every LINE_EVERY seconds and when done."""

    LINE_EVERY = 15.0

    def __init__(self, console: Any) -> None:
        self.console = console
        self.tasks: dict[int, list[Any]] = {}

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def add_task(self, description: str, total: float | None = None, **_: Any) -> int:
        started = time.monotonic()  # durations for the log, not the time of day
        self.tasks[len(self.tasks)] = [description, total or 0, 0, started, started]
        return len(self.tasks) - 1

    def advance(self, task_id: int, advance: float = 1) -> None:
        task = self.tasks[task_id]
        task[2] += advance
        at = time.monotonic()
        if at - task[4] >= self.LINE_EVERY or task[2] >= task[1]:
            task[4] = at
            self.console.print(
                f"{task[0]}: {task[2]:,.0f}/{task[1]:,.0f} in {at - task[3]:.0f}s", highlight=False
            )


def demo_logins() -> list[tuple[str, str, str]]:
    return [(username, DEMO_PASSWORDS[role.value], role.value) for username, _, role, _ in DEMO_ACCOUNTS]
