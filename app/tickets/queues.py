"""Queues: saved filters over tickets, per team, with twelve defaults (售前咨询 … 我的工单).

What a queue shows an agent: tickets matching its filters that are unassigned or assigned to that
agent — somebody else's work stays off my queue (the "mine" queue shows only mine, in every
active status). A team's queue holds its team's tickets and those of no team. Rows are ordered by
priority (urgent first; a ticket near an SLA breach rises above the next priority: queue_rank),
then the earliest due time (none last), then id; counts for all of an agent's queues come from
one query.
"""

from __future__ import annotations

import base64
import collections
import functools
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.accounts.models import Agent
from app.customers.models import Customer
from app.db import broad, in_autocommit
from app.errors import InvalidInput, NotFound
from app.i18n import N_, gettext
from app.pagination import MAX_LIMIT, Rows
from app.tickets.models import Queue, Ticket

S = TypeVar("S")


@dataclass(frozen=True)
class QueueDef:
    key: str
    name: str  # English msgid
    filters: dict[str, Any]


# Team queues show live work (open); the agent's own queue shows all of their active tickets.
_WORK = {"statuses": ["open"], "assignee": "unassigned_or_mine"}
DEFAULT_QUEUES: tuple[QueueDef, ...] = (
    QueueDef("presale", N_("Pre-sale questions"), {"kinds": ["inquiry", "buyer_message"], **_WORK}),
    QueueDef("bargaining", N_("Bargaining in progress"), {"kinds": ["bargaining"], **_WORK}),
    QueueDef("payment", N_("Payment reminders"), {"kinds": ["payment_reminder"], **_WORK}),
    QueueDef("reassurance", N_("Reassurance before shipping"), {"kinds": ["reassurance"], **_WORK}),
    QueueDef("shipping", N_("Shipping tracking"), {"kinds": ["shipping"], **_WORK}),
    QueueDef("confirm", N_("Awaiting receipt confirmation"), {"kinds": ["confirm_nudge"], **_WORK}),
    QueueDef(
        "review_request", N_("Review requests"), {"kinds": ["review_request", "review_thanks"], **_WORK}
    ),
    QueueDef("bad_review", N_("Bad reviews"), {"kinds": ["bad_review"], **_WORK}),
    QueueDef("aftersales", N_("Returns and exchanges"), {"kinds": ["aftersales"], **_WORK}),
    QueueDef("lost_lead", N_("Lost-lead follow-up"), {"kinds": ["lost_lead"], **_WORK}),
    QueueDef("revisit", N_("Periodic revisits"), {"kinds": ["revisit"], **_WORK}),
    QueueDef("mine", N_("My tickets"), {"statuses": ["open", "pending", "snoozed"], "assignee": "mine"}),
)
DEFAULT_KEYS = frozenset(q.key for q in DEFAULT_QUEUES)
ACTIVE = ("open", "pending", "snoozed")


@dataclass
class TicketRow:
    id: int
    kind: str
    status: str
    priority: str
    subject: str
    customer_id: int | None
    customer_name: str
    assignee_id: int | None
    assignee_name: str
    due_at: datetime | None
    updated_at: datetime
    last_inbound_at: datetime | None
    tags: list[str]
    sla_risk: bool = False
    sla_paused: bool = False
    # The SLA deadlines still open: (metric, due time), earliest first; none while paused.
    deadlines: list[tuple[str, datetime]] = field(default_factory=list)


def _deadlines(row: Any) -> list[tuple[str, datetime]]:
    if row.sla_paused_at is not None:
        return []
    found = []
    if row.first_response_at is None and row.first_response_due_at is not None:
        found.append(("first_response", row.first_response_due_at))
    if row.next_response_due_at is not None:
        found.append(("next_response", row.next_response_due_at))
    if row.resolution_due_at is not None:
        found.append(("resolution", row.resolution_due_at))
    return sorted(found, key=lambda item: item[1])


def queue_label(queue: Queue | QueueDef) -> str:
    """The queue's name in the viewer's language (defaults are msgids; custom names as written)."""
    return gettext(queue.name)


# --- which queues an agent has ------------------------------------------------------------------


def ensure_default_queues(session: Session, *, team_id: int | None, now: datetime) -> int:
    """Create the default queues missing for a team (or the team-less set); returns how many."""
    query = select(Queue.key).where(
        Queue.team_id == team_id if team_id is not None else Queue.team_id.is_(None)
    )
    have = set(session.exec(query))
    # Without a transaction ("next ticket" on PostgreSQL) there is no savepoint, and none is
    # needed: each INSERT commits or fails by itself.
    autocommit = in_autocommit(session)
    created = 0
    for position, default in enumerate(DEFAULT_QUEUES):
        if default.key in have:
            continue
        queue = Queue(
            team_id=team_id,
            key=default.key,
            name=default.name,
            position=position * 10,
            filters=dict(default.filters),
            is_default=True,
            created_at=now,
        )
        try:
            if autocommit:
                session.execute(sa.insert(Queue).values(queue.model_dump(exclude={"id"})))
            else:
                with session.begin_nested():  # a concurrent request may have created it just now
                    session.add(queue)
                    session.flush()
            created += 1
        except IntegrityError:
            continue
    return created


def _visible(session: Session, team_id: int | None) -> list[Queue]:
    scope = (
        Queue.team_id.is_(None)
        if team_id is None
        else sa.or_(Queue.team_id == team_id, Queue.team_id.is_(None))
    )
    rows = list(session.exec(select(Queue).where(scope).order_by(Queue.id)))
    # The team's own queue wins over a shared one with the same key; shared duplicates count once.
    chosen: dict[str, Queue] = {}
    for queue in rows:
        if queue.team_id is None:
            chosen.setdefault(queue.key, queue)
    for queue in rows:
        if queue.team_id is not None:
            chosen[queue.key] = queue
    return sorted(chosen.values(), key=lambda q: (q.key == "mine", q.position, q.id))


def queues_for(session: Session, agent: Agent, *, now: datetime) -> list[Queue]:
    """The agent's queues: their team's and the shared ones (team_id null), "mine" last. The
    defaults are created the first time a team needs them (`now`: the edge's clock)."""
    queues = _visible(session, agent.team_id)
    if DEFAULT_KEYS - {q.key for q in queues}:
        # Read again even when nothing was created here: a concurrent request may have made them.
        ensure_default_queues(session, team_id=agent.team_id, now=now)
        queues = _visible(session, agent.team_id)
    return queues


def find_queue(session: Session, agent: Agent, key: str, *, now: datetime) -> Queue:
    for queue in queues_for(session, agent, now=now):
        if queue.key == key:
            return queue
    raise NotFound("There is no queue {key}.", key=key)


# --- filters as SQL -------------------------------------------------------------------------------


def _has_tag(session: Session, tag: str) -> sa.ColumnElement[bool]:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import JSONB

        return sa.cast(Ticket.tags, JSONB).contains([tag])
    each = sa.func.json_each(Ticket.tags).table_valued("value")
    return sa.exists(sa.select(1).select_from(each).where(each.c.value == tag))


def _team_scope(agent: Agent) -> sa.ColumnElement[bool]:
    if agent.team_id is None:
        return sa.true()  # no team: every team's tickets
    return sa.or_(Ticket.team_id == agent.team_id, Ticket.team_id.is_(None))


def queue_condition(
    session: Session, queue: Queue | QueueDef, agent: Agent, *, statuses_and_kinds: bool = True
) -> sa.ColumnElement[bool]:
    """The WHERE clause of a queue for one agent (team scope not included; without its statuses
    and kinds when the caller reads one status and kind at a time)."""
    filters = queue.filters or {}
    parts: list[sa.ColumnElement[bool]] = []
    if statuses_and_kinds:
        parts.append(Ticket.status.in_(filters.get("statuses") or ["open"]))
        if filters.get("kinds"):
            parts.append(Ticket.kind.in_(filters["kinds"]))
    if filters.get("priorities"):
        parts.append(Ticket.priority.in_(filters["priorities"]))
    if filters.get("store_id"):
        parts.append(Ticket.store_id == int(filters["store_id"]))
    if filters.get("tags"):
        parts.append(sa.or_(*[_has_tag(session, t) for t in filters["tags"]]))
    mode = filters.get("assignee") or "unassigned_or_mine"
    if mode == "mine":
        parts.append(Ticket.assignee_id == agent.id)
    elif mode == "unassigned":
        parts.append(_broad(session, Ticket.assignee_id.is_(None)))
    else:
        parts.append(_broad(session, sa.or_(Ticket.assignee_id.is_(None), Ticket.assignee_id == agent.id)))
    return sa.and_(*parts)


def _broad(session: Session, condition: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
    """Most waiting tickets are unassigned: told so, SQLite's planner reads a queue through its
    kinds (ix_tickets_queue, team and assignee inside) instead of every unassigned ticket of the
    desk through the assignee index (25 ms instead of 1 ms per count at 100,000 open tickets)."""
    return broad(condition, session.get_bind().dialect.name)


# A queue's count stops at COUNT_CAP (shown as "99+", the badge every chat and marketplace app
# shows): an agent needs "a lot" there, not the exact size of a backlog (the supervisor's reports
# have that), and every row counted is read again on each agent's poll every 4 s. At 100,000 open
# tickets a cap of 1,000 made the counts 38 ms a poll, 100 makes them 27 (requests.py, reference).
COUNT_CAP = 100


def queue_counts(session: Session, *, agent: Agent, now: datetime) -> dict[str, int]:
    """queue key → tickets it shows the agent (at most COUNT_CAP), all queues in one statement:
    each count reads at most COUNT_CAP rows of an index range, whatever the size of the desk."""
    queues = queues_for(session, agent, now=now)
    if not queues:
        return {}
    shape = (
        session.get_bind().dialect.name,
        agent.id,
        agent.team_id,
        COUNT_CAP,
        tuple((q.key, json.dumps(q.filters or {}, sort_keys=True)) for q in queues),
    )
    statement = _statements.get(shape)
    if statement is None:
        capped = [_capped(session, q, agent) for q in queues]
        counts = [
            sa.select(sa.func.count()).select_from(c).scalar_subquery().label(f"q{i}")
            for i, c in enumerate(capped)
        ]
        statement = _statements.put(shape, sa.select(*counts))
    row = session.execute(statement).one()
    return {q.key: int(row[i] or 0) for i, q in enumerate(queues)}


class StatementCache(Generic[S]):
    """Built statements by what they depend on. The counts' statement is a union of index ranges
    per queue (a page of rows: per kind), and building it and computing its cache key took about
    40 % of a counts poll's CPU (py-spy); it changes only when the agent's queues or team do.
    The key holds everything a statement is built from (the queues' filters are read each time,
    so a change in any process takes effect at once); values that change per call are bound
    parameters. Statements are immutable, so threads share them; the oldest entry goes when the
    cache is full."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: collections.OrderedDict[tuple, S] = collections.OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple) -> S | None:
        with self.lock:
            statement = self.entries.get(key)
            if statement is not None:
                self.entries.move_to_end(key)
            return statement

    def put(self, key: tuple, statement: S) -> S:
        with self.lock:
            self.entries[key] = statement
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)
        return statement


_statements: StatementCache[sa.Select] = StatementCache(512)


def _capped(session: Session, queue: Queue, agent: Agent) -> sa.Subquery:
    """Up to COUNT_CAP rows of the queue: read one (status, kind) index range after another when
    the queue names its kinds (with the IN lists the planner reads the desk's unassigned tickets)."""
    filters = queue.filters or {}
    kinds, statuses = filters.get("kinds"), filters.get("statuses") or ["open"]
    if not kinds:
        where = [queue_condition(session, queue, agent), _team_scope(agent)]
        return sa.select(sa.literal(1)).select_from(Ticket).where(*where).limit(COUNT_CAP).subquery()
    rest = [queue_condition(session, queue, agent, statuses_and_kinds=False), _team_scope(agent)]
    ranges = [
        sa.select(sa.literal(1).label("one")).where(Ticket.status == status, Ticket.kind == kind, *rest)
        for status in statuses
        for kind in kinds
    ]
    union = sa.union_all(*ranges).subquery() if len(ranges) > 1 else ranges[0].subquery()
    return sa.select(union.c.one).limit(COUNT_CAP).subquery()


# --- rows, with a keyset cursor over (priority desc, due asc nulls last, id) --------------------------


def _encode(ticket_rank: int, due_at: datetime | None, ticket_id: int) -> str:
    raw = json.dumps({"p": ticket_rank, "d": due_at.isoformat() if due_at else None, "i": ticket_id})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[int, datetime | None, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        rank, due, ticket_id = int(data["p"]), data["d"], int(data["i"])
        due_at = datetime.fromisoformat(due) if due is not None else None
        if due_at is not None and due_at.tzinfo is None:
            raise ValueError
        return rank, due_at, ticket_id
    except (ValueError, KeyError, TypeError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(
            "The cursor is not one this page gave out.", fields={"cursor": "invalid cursor"}
        ) from exc


def _after(rank: int, due_at: datetime | None, ticket_id: int) -> sa.ColumnElement[bool]:
    if due_at is None:
        same_rank = sa.and_(Ticket.due_at.is_(None), Ticket.id > ticket_id)
    else:
        same_rank = sa.or_(
            Ticket.due_at > due_at,
            sa.and_(Ticket.due_at == due_at, Ticket.id > ticket_id),
            Ticket.due_at.is_(None),
        )
    return sa.or_(Ticket.queue_rank < rank, sa.and_(Ticket.queue_rank == rank, same_rank))


# queue_rank: the priority, raised while an SLA deadline is near or missed (tickets.sla).
QUEUE_ORDER = (Ticket.queue_rank.desc(), Ticket.due_at.asc().nulls_last(), Ticket.id.asc())


@functools.cache
def _rows_base() -> sa.Select[Any]:
    """A row of a queue page: the ticket with its buyer's and agent's names."""
    return (
        sa.select(
            Ticket.id,
            Ticket.kind,
            Ticket.status,
            Ticket.priority,
            Ticket.queue_rank,
            Ticket.sla_risk,
            Ticket.subject,
            Ticket.customer_id,
            Customer.nickname,
            Customer.name,
            Ticket.assignee_id,
            Agent.display_name,
            Ticket.due_at,
            Ticket.first_response_due_at,
            Ticket.first_response_at,
            Ticket.next_response_due_at,
            Ticket.resolution_due_at,
            Ticket.sla_paused_at,
            Ticket.updated_at,
            Ticket.last_inbound_at,
            Ticket.tags,
        )
        .select_from(Ticket)
        .outerjoin(Customer, Customer.id == Ticket.customer_id)
        .outerjoin(Agent, Agent.id == Ticket.assignee_id)
    )


def _in_queue_order(
    session: Session, queue: Queue, agent: Agent, query: sa.Select[Any], where: list[Any], limit: int
) -> sa.Select[Any]:
    """The first `limit` rows of `query` in the queue (and `where`), in QUEUE_ORDER.

    Sorting a team queue's whole backlog (tens of thousands of waiting tickets at a big desk) took
    a quarter of a second per page. A queue of given kinds and statuses is instead read as one
    range of ix_tickets_queue per (status, kind) and due or not — each already in queue order in
    the index, which also holds the team and assignee the filters need — cut at `limit`; only
    those few ids are merged and sorted, and only the page's tickets are joined to their buyer and
    agent. The agent's own queue (no kinds; a few hundred tickets at most) is sorted as it is."""
    filters = queue.filters or {}
    kinds, statuses = filters.get("kinds"), filters.get("statuses") or ["open"]
    if not kinds or (filters.get("assignee") or "") == "mine":
        return query.where(queue_condition(session, queue, agent), *where).order_by(*QUEUE_ORDER).limit(limit)
    # One status and kind per range: with the queue's IN lists beside them the planner would
    # read both kinds at once and sort them.
    rest = queue_condition(session, queue, agent, statuses_and_kinds=False)
    probe = sa.select(Ticket.id, Ticket.queue_rank, Ticket.due_at).where(rest, *where)
    parts = []
    for status in statuses:
        for kind in kinds:
            at = sa.and_(Ticket.status == status, Ticket.kind == kind)
            dated = probe.where(at, Ticket.due_at.is_not(None)).order_by(
                Ticket.queue_rank.desc(), Ticket.due_at, Ticket.id
            )
            undated = probe.where(at, Ticket.due_at.is_(None)).order_by(Ticket.queue_rank.desc(), Ticket.id)
            parts += [sa.select(q.limit(limit).subquery()) for q in (dated, undated)]
    merged = sa.union_all(*parts).subquery("queue_candidates")
    page = (
        sa.select(merged.c.id)
        .order_by(merged.c.queue_rank.desc(), merged.c.due_at.asc().nulls_last(), merged.c.id.asc())
        .limit(limit)
    )
    return query.where(Ticket.id.in_(page)).order_by(*QUEUE_ORDER)


def queue_rows(
    session: Session,
    *,
    agent: Agent,
    queue_key: str,
    now: datetime,
    cursor: str | None = None,
    limit: int = 50,
) -> Rows[TicketRow]:
    """One page of a queue's tickets, most urgent first."""
    if limit < 1 or limit > MAX_LIMIT:
        raise InvalidInput(
            "limit must be between 1 and {max}.", fields={"limit": f"1–{MAX_LIMIT}"}, max=MAX_LIMIT
        )
    queue = find_queue(session, agent, queue_key, now=now)
    if cursor:
        where = [_team_scope(agent), _after(*_decode(cursor))]
        statement = _in_queue_order(session, queue, agent, _rows_base(), where, limit + 1)
    else:  # the first page, which the workbench polls: built once per agent and queue
        shape = (
            "rows",
            session.get_bind().dialect.name,
            agent.id,
            agent.team_id,
            queue.key,
            json.dumps(queue.filters or {}, sort_keys=True),
            limit,
        )
        statement = _statements.get(shape)
        if statement is None:
            built = _in_queue_order(session, queue, agent, _rows_base(), [_team_scope(agent)], limit + 1)
            statement = _statements.put(shape, built)
    rows = list(session.execute(statement))
    more = len(rows) > limit
    rows = rows[:limit]
    items = [
        TicketRow(
            id=r.id,
            kind=str(r.kind),
            status=str(r.status),
            priority=str(r.priority),
            subject=r.subject,
            customer_id=r.customer_id,
            customer_name=r.nickname or r.name or (f"#{r.customer_id}" if r.customer_id else ""),
            assignee_id=r.assignee_id,
            assignee_name=r.display_name or "",
            due_at=r.due_at,
            sla_risk=bool(r.sla_risk),
            sla_paused=r.sla_paused_at is not None,
            deadlines=_deadlines(r),
            updated_at=r.updated_at,
            last_inbound_at=r.last_inbound_at,
            tags=list(r.tags or []),
        )
        for r in rows
    ]
    last = rows[-1] if rows else None
    next_cursor = _encode(last.queue_rank, last.due_at, last.id) if more and last is not None else None
    return Rows(items=items, next_cursor=next_cursor)


# Supervisors' side (create, change, remove a team's queues) lives in tickets.queue_settings;
# re-exported here so callers keep one module for queues.
from app.tickets.queue_settings import (  # noqa: E402
    clean_filters,
    create_queue,
    delete_queue,
    require_queue,
    update_queue,
)

__all__ = [
    "COUNT_CAP",
    "DEFAULT_QUEUES",
    "QUEUE_ORDER",
    "QueueDef",
    "StatementCache",
    "TicketRow",
    "clean_filters",
    "create_queue",
    "delete_queue",
    "ensure_default_queues",
    "find_queue",
    "queue_condition",
    "queue_counts",
    "queue_label",
    "queue_rows",
    "queues_for",
    "require_queue",
    "update_queue",
]
