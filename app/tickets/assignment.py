"""Who works a ticket: "next ticket" (下一个) claims, away status, and per-team auto-assignment.

A claim is one conditional UPDATE: on PostgreSQL the candidate is chosen with `FOR UPDATE SKIP
LOCKED` inside the UPDATE, so two agents clicking at once take two different tickets without
waiting on each other; elsewhere the most urgent candidates are tried in turn with
`UPDATE … WHERE id = :id AND assignee_id IS NULL` (SQLite serialises writers with BEGIN
IMMEDIATE, so that is atomic there too). The partial index ix_tickets_waiting holds waiting
tickets in queue order (rank descending, then due, then id), so the candidate is the first entry
of an index scan that matches the agent's queues. Auto-assignment locks the team row with SKIP
LOCKED, so concurrent dispatch workers never assign one team's tickets at the same time.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, select

from app.accounts.models import Agent, AssignmentMode, Role, Team
from app.db import is_postgres
from app.errors import Forbidden, InvalidInput, NotFound
from app.tickets.models import ACTIVE_STATUSES, Queue, Ticket
from app.tickets.queues import (
    DEFAULT_KEYS,
    QueueDef,
    StatementCache,
    _team_scope,
    queue_condition,
    queues_for,
)

# Auto-assignment counts an agent as online when seen this recently (the workbench polls every 4 s).
ONLINE_WINDOW = timedelta(minutes=5)
# touch_seen writes at most this often per agent, so polling does not turn every read into a write.
SEEN_RESOLUTION = timedelta(seconds=30)
CLAIM_CANDIDATES = 8
MAX_CAP = 500
AUTO_BATCH = 500
# Filters that cannot exclude an open, unassigned ticket beyond its kind.
SIMPLE_FILTERS = frozenset({"kinds", "statuses", "assignee"})


# Written as literals (not bound parameters), so the planner can match the partial index
# ix_tickets_waiting on every engine and under prepared statements.
WAITING = sa.and_(Ticket.status == sa.literal_column("'open'"), Ticket.assignee_id.is_(None))
# The queue's order (rank descending, then due, no due last, then id: queues.QUEUE_ORDER) as
# ix_tickets_waiting holds it, "no due last" spelt as `due_at IS NULL` because SQLite's indexes
# hold NULLs first: waiting work comes out of one index scan in order, with no sort.
WAITING_ORDER = (Ticket.queue_rank.desc(), Ticket.due_at.is_(None), Ticket.due_at.asc(), Ticket.id.asc())


def _claim_filters(session: Session, agent: Agent, queue_key: str | None, *, now: datetime) -> list[QueueDef]:
    """The filters of the agent's queues (or of that one queue), read as plain rows: a claim
    needs no Queue objects."""
    scope = Queue.team_id.is_(None)
    if agent.team_id is not None:
        scope = sa.or_(Queue.team_id == agent.team_id, scope)
    rows = session.execute(
        sa.select(Queue.key, Queue.team_id, Queue.filters).where(scope).order_by(Queue.id)
    ).all()
    chosen: dict[str, QueueDef] = {}
    for key, team_id, filters in sorted(rows, key=lambda r: r.team_id is not None):
        if team_id is not None or key not in chosen:
            chosen[key] = QueueDef(key, key, filters or {})
    if not set(chosen) >= DEFAULT_KEYS:
        created = queues_for(session, agent, now=now)
        chosen = {q.key: QueueDef(q.key, q.name, q.filters or {}) for q in created}
    if queue_key:
        if queue_key not in chosen:
            raise NotFound("There is no queue {key}.", key=queue_key)
        return [chosen[queue_key]]
    return list(chosen.values())


def _claimable(session: Session, agent: Agent, queues: list[QueueDef]) -> sa.ColumnElement[bool]:
    """Beyond "waiting": in one of these queues, in the agent's team scope."""
    scope = _team_scope(agent)
    if all(set(q.filters) <= SIMPLE_FILTERS for q in queues):
        # Only kinds differ (the defaults): one IN list instead of an OR per queue.
        if any(not q.filters.get("kinds") for q in queues):
            return scope
        kinds = sorted({kind for q in queues for kind in q.filters["kinds"]})
        return sa.and_(scope, Ticket.kind.in_(kinds))
    return sa.and_(scope, sa.or_(*[queue_condition(session, q, agent) for q in queues]))


# A claim's statements, built once per agent and set of queue filters (what the agent, its team
# and its queues make them; the time is a parameter): building them and their cache key was about
# a fifth of a claim's CPU in the server process (1.6 → 1.25 ms; docs/performance.md, stop 25).
_claims: StatementCache[tuple[sa.Executable, ...]] = StatementCache(512)
_CLAIM_NOW = sa.bindparam("claim_now", type_=Ticket.__table__.c.updated_at.type)
_CLAIM_ID = sa.bindparam("claim_id", type_=Ticket.__table__.c.id.type)


def _claim_statements(
    session: Session, agent: Agent, queue_key: str | None, *, now: datetime
) -> tuple[sa.Executable, ...] | None:
    """PostgreSQL: (the UPDATE choosing its candidate,); elsewhere: (the candidates' SELECT, the
    conditional UPDATE of one of them). None: no queue the agent could claim from."""
    # Only queues that can show an open ticket nobody has yet.
    queues = [
        q
        for q in _claim_filters(session, agent, queue_key, now=now)
        if q.filters.get("assignee") != "mine" and "open" in (q.filters.get("statuses") or ["open"])
    ]
    if not queues:
        return None
    postgres = is_postgres(session)
    shape = (
        session.get_bind().dialect.name,
        agent.id,
        agent.team_id,
        tuple((q.key, json.dumps(q.filters, sort_keys=True)) for q in queues),
    )
    statements = _claims.get(shape)
    if statements is not None:
        return statements
    values = {"assignee_id": agent.id, "assigned_at": _CLAIM_NOW, "updated_at": _CLAIM_NOW}
    waiting = sa.and_(WAITING, _claimable(session, agent, queues))
    if postgres:
        candidate = (
            sa.select(Ticket.id)
            .where(waiting)
            .order_by(*WAITING_ORDER)
            .limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        claim = (
            sa.update(Ticket)
            .where(Ticket.id == candidate, Ticket.assignee_id.is_(None))
            .values(**values)
            .returning(Ticket.id)
        )
        return _claims.put(shape, (claim,))
    candidates = sa.select(Ticket.id).where(waiting).order_by(*WAITING_ORDER).limit(CLAIM_CANDIDATES)
    claim = sa.update(Ticket).where(Ticket.id == _CLAIM_ID, WAITING).values(**values)
    return _claims.put(shape, (candidates, claim))


def claim_next(session: Session, *, agent: Agent, now: datetime, queue_key: str | None = None) -> int | None:
    """Atomically take the most urgent unassigned open ticket in the agent's queues and return its
    id; None when nothing waits. Away agents may still claim by hand.

    The most urgent rank first (a ticket near an SLA breach above the next priority), the earliest
    due of it, in the order of the index ix_tickets_waiting, so the candidate is the first entry of
    one index scan: on PostgreSQL one UPDATE whose candidate is locked with SKIP LOCKED (a ticket
    another agent is taking right now is passed over, nobody waits); elsewhere candidates are
    tried in turn with a conditional UPDATE.

    The UPDATEs are Core statements on the session's connection returning the id alone: the
    caller opens the ticket by its id, and the ORM's bulk-update path with the whole row loaded
    back was ~12 % of a claim's Python (docs/performance.md, stops 23 and 24). Tickets already in
    the session are not refreshed: a caller that holds one reloads it."""
    statements = _claim_statements(session, agent, queue_key, now=now)
    if statements is None:
        return None
    connection = session.connection()
    if len(statements) == 1:  # PostgreSQL
        return connection.execute(statements[0], {"claim_now": now}).scalar_one_or_none()
    candidates, claim = statements
    while ids := list(connection.execute(candidates).scalars()):
        for ticket_id in ids:
            if connection.execute(claim, {"claim_id": ticket_id, "claim_now": now}).rowcount == 1:
                return ticket_id
    return None


def set_away(session: Session, agent: Agent, *, away: bool, now: datetime) -> Agent:
    """挂起: an away agent gets no auto-assigned work (and can still take tickets by hand)."""
    agent.is_away = bool(away)
    agent.last_seen_at = now
    session.add(agent)
    session.flush()
    return agent


def touch_seen(session: Session, agent: Agent, *, now: datetime) -> None:
    """The agent is at the desk now (the workbench poll calls this); written at most every 30 s."""
    if agent.last_seen_at is not None and now - agent.last_seen_at < SEEN_RESOLUTION:
        return
    session.execute(
        sa.update(Agent)
        .where(Agent.id == agent.id)
        .where(sa.or_(Agent.last_seen_at.is_(None), Agent.last_seen_at < now - SEEN_RESOLUTION))
        .values(last_seen_at=now)
    )
    # The loaded object learns the value without being marked dirty (no second UPDATE).
    set_committed_value(agent, "last_seen_at", now)


def update_team_assignment(
    session: Session,
    team: Team,
    *,
    mode: AssignmentMode | str,
    max_open: int | str | None,
    actor: Agent,
    now: datetime,
) -> Team:
    """A team's auto-assignment: manual (next ticket only), round robin or fewest open, with a cap
    of active tickets per agent (0: none). Supervisors of the team and admins."""
    role = Role(actor.role)
    if not (role == Role.admin or (role == Role.supervisor and actor.team_id == team.id)):
        raise Forbidden("Only a supervisor of this team (or an admin) can change its assignment.")
    try:
        mode = AssignmentMode(mode)
    except ValueError as exc:
        raise InvalidInput(
            "Choose manual, round robin or fewest open tickets.",
            fields={"mode": " | ".join(m.value for m in AssignmentMode)},
        ) from exc
    try:
        cap = int(max_open or 0)
    except (TypeError, ValueError):
        cap = -1
    if cap < 0 or cap > MAX_CAP:
        raise InvalidInput(
            "The cap is a whole number from 0 (no cap) to {max}.",
            fields={"max_open": f"0–{MAX_CAP}"},
            max=MAX_CAP,
        )
    team.assignment_mode = mode
    team.max_open_per_agent = cap
    session.add(team)
    session.flush()
    return team


def _online_agents(session: Session, team: Team, now: datetime) -> list[Agent]:
    query = (
        select(Agent)
        .where(Agent.team_id == team.id, Agent.role == Role.agent, Agent.is_active.is_(True))
        .where(Agent.is_away.is_(False), Agent.last_seen_at >= now - ONLINE_WINDOW)
        .order_by(Agent.id)
    )
    return list(session.exec(query))


def _open_counts(session: Session, agent_ids: list[int]) -> dict[int, int]:
    query = (
        sa.select(Ticket.assignee_id, sa.func.count())
        .where(Ticket.assignee_id.in_(agent_ids), Ticket.status.in_(ACTIVE_STATUSES))
        .group_by(Ticket.assignee_id)
    )
    counts = {agent_id: 0 for agent_id in agent_ids}
    counts.update({agent_id: int(n) for agent_id, n in session.execute(query)})
    return counts


def _pick(team: Team, agents: list[Agent], counts: dict[int, int], last: int | None) -> int | None:
    cap = team.max_open_per_agent or 0
    free = [a.id for a in agents if cap == 0 or counts[a.id] < cap]
    if not free:
        return None
    if AssignmentMode(team.assignment_mode) == AssignmentMode.fewest_open:
        return min(free, key=lambda agent_id: (counts[agent_id], agent_id))
    # Round robin: the first free agent after the one who got the last ticket.
    after = [agent_id for agent_id in free if last is not None and agent_id > last]
    return after[0] if after else free[0]


def assign_team(session: Session, team: Team, *, now: datetime) -> int:
    """Give the team's waiting tickets (open, unassigned, of this team) to its online agents."""
    agents = _online_agents(session, team, now)
    if not agents:
        return 0
    counts = _open_counts(session, [a.id for a in agents])
    query = (
        sa.select(Ticket.id)
        .where(WAITING, Ticket.team_id == team.id)
        .order_by(*WAITING_ORDER)
        .limit(AUTO_BATCH)
    )
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    ticket_ids = list(session.execute(query).scalars())
    assigned = 0
    last = team.last_assigned_agent_id
    for ticket_id in ticket_ids:
        agent_id = _pick(team, agents, counts, last)
        if agent_id is None:
            break
        result = session.execute(
            sa.update(Ticket)
            .where(Ticket.id == ticket_id, Ticket.assignee_id.is_(None))
            .values(assignee_id=agent_id, assigned_at=now, updated_at=now)
        )
        if result.rowcount == 1:
            counts[agent_id] += 1
            last = agent_id
            assigned += 1
    if assigned:
        team.last_assigned_agent_id = last
        session.add(team)
        session.flush()
    return assigned


def auto_assign(session: Session, *, now: datetime) -> int:
    """Every team that assigns automatically; returns how many tickets were given out."""
    query: Any = select(Team).where(Team.assignment_mode != AssignmentMode.manual).order_by(Team.id)
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True)  # another worker has this team: skip it
    total = 0
    for team in session.exec(query).all():
        total += assign_team(session, team, now=now)
    return total
