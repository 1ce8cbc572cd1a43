"""SLA clocks of a ticket: first response, next response and resolution deadlines from the ticket's
SLA policy (tickets.sla_policies), counted in business hours (China's working days, holidays and
调休 included: tickets.business_time) or in calendar hours, in the store's time zone; the one
`due_at` the queue orders by (the earliest deadline still open); pauses; breaches; the queue rank.

- Pausing: while a ticket is pending or snoozed and its policy says so, its clocks stand still
  (`sla_paused_at`). When it leaves that state each deadline still ahead moves out by the time the
  clock stood still (business or calendar time, as the policy counts) — a deadline already missed
  before the pause stays missed, and a task's own deadline (`task_due_at`) never moves.
- Breaches: a deadline passed while its clock runs is recorded once (SlaBreach, unique per ticket,
  metric and deadline) by the dispatch job (jobs.sla_sweep) or by the action that answers or
  solves late, whichever comes first.
- Risk: once the last `risk_percent` of a target has begun (or it is missed), the ticket is at risk
  and its queue_rank rises by more than one priority level: 2 × priority.rank + 3. The job keeps
  that current through `sla_next_at`, the next moment something changes.

Without a policy the desk's calendar defaults below apply, with no pausing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from app.config import get_settings
from app.tickets.business_time import BusinessClock, BusinessHours, CalendarClock, Clock
from app.tickets.models import ACTIVE_STATUSES, Ticket, TicketPriority, TicketStatus
from app.tickets.sla_models import SlaBreach, SlaClock, SlaMetric, SlaPolicy
from app.tickets.sla_policies import PolicySet, policy_for

# The desk's defaults without a policy, in calendar time. First response and each next response
# share a target; resolution is 4× it.
DEFAULT_RESPONSE_TARGETS: dict[TicketPriority, timedelta] = {
    TicketPriority.urgent: timedelta(minutes=15),
    TicketPriority.high: timedelta(hours=1),
    TicketPriority.normal: timedelta(hours=4),
    TicketPriority.low: timedelta(hours=24),
}
RESOLUTION_FACTOR = 4
DEFAULT_RISK_PERCENT = 20
RISK_BOOST = 3  # above the ticket's own priority (2 × rank) and the next one (2 × rank + 2)


def response_target(priority: TicketPriority | str) -> timedelta:
    return DEFAULT_RESPONSE_TARGETS[TicketPriority(priority)]


def resolution_target(priority: TicketPriority | str) -> timedelta:
    return response_target(priority) * RESOLUTION_FACTOR


def queue_rank(priority: TicketPriority | str, at_risk: bool) -> int:
    return 2 * TicketPriority(priority).rank + (RISK_BOOST if at_risk else 0)


# --- which targets a ticket has -------------------------------------------------------------------


@dataclass(frozen=True)
class Targets:
    first_response: timedelta | None
    next_response: timedelta | None
    resolution: timedelta | None
    clock: Clock
    pause_when_pending: bool = False
    pause_when_snoozed: bool = False
    risk_percent: int = DEFAULT_RISK_PERCENT
    policy_id: int | None = None

    def target(self, metric: SlaMetric) -> timedelta | None:
        return getattr(self, metric.value)

    def pauses(self, status: Any) -> bool:
        status = TicketStatus(status)
        return (status == TicketStatus.pending and self.pause_when_pending) or (
            status == TicketStatus.snoozed and self.pause_when_snoozed
        )


def default_targets(priority: TicketPriority | str) -> Targets:
    response = response_target(priority)
    return Targets(response, response, response * RESOLUTION_FACTOR, CalendarClock())


def _minutes(value: int | None) -> timedelta | None:
    return timedelta(minutes=value) if value else None


def store_timezone(session: Session, store_id: int | None, cache: dict[int | None, str] | None = None) -> str:
    """The store's time zone (the default one without a store); `cache` spares the job a lookup
    per ticket."""
    from app.integrations.models import Store

    if cache is not None and store_id in cache:
        return cache[store_id]
    with session.no_autoflush:
        store = session.get(Store, store_id) if store_id is not None else None
    tz = (store.timezone if store is not None else "") or get_settings().default_timezone
    if cache is not None:
        cache[store_id] = tz
    return tz


def policy_targets(policy: SlaPolicy, tz: str) -> Targets:
    clock: Clock = CalendarClock()
    if SlaClock(policy.clock) == SlaClock.business:
        clock = BusinessClock(BusinessHours(tz, policy.day_start, policy.day_end))
    return Targets(
        first_response=_minutes(policy.first_response_minutes),
        next_response=_minutes(policy.next_response_minutes),
        resolution=_minutes(policy.resolution_minutes),
        clock=clock,
        pause_when_pending=policy.pause_when_pending,
        pause_when_snoozed=policy.pause_when_snoozed,
        risk_percent=policy.risk_percent,
        policy_id=policy.id,
    )


def targets_for(session: Session, ticket: Ticket, *, policies: PolicySet | None = None) -> Targets:
    """The ticket's targets: its most specific policy's, or the calendar defaults."""
    where = {"team_id": ticket.team_id, "kind": ticket.kind, "priority": ticket.priority}
    policy = policies.choose(**where) if policies is not None else policy_for(session, **where)
    if policy is None:
        return default_targets(ticket.priority)
    cache = policies.timezones if policies is not None else None
    return policy_targets(policy, store_timezone(session, ticket.store_id, cache))


# --- the deadlines ------------------------------------------------------------------------------


def open_deadlines_by_metric(ticket: Ticket) -> list[tuple[SlaMetric, datetime]]:
    deadlines = []
    if ticket.first_response_at is None and ticket.first_response_due_at is not None:
        deadlines.append((SlaMetric.first_response, ticket.first_response_due_at))
    if ticket.next_response_due_at is not None:
        deadlines.append((SlaMetric.next_response, ticket.next_response_due_at))
    if ticket.resolution_due_at is not None:
        deadlines.append((SlaMetric.resolution, ticket.resolution_due_at))
    return deadlines


def open_deadlines(ticket: Ticket) -> list[datetime]:
    return [due for _, due in open_deadlines_by_metric(ticket)]


def refresh_due(ticket: Ticket) -> None:
    deadlines = open_deadlines(ticket)
    ticket.due_at = min(deadlines) if deadlines else None


def _earliest(*values: datetime | None) -> datetime | None:
    present = [v for v in values if v is not None]
    return min(present) if present else None


def _start(clock: Clock, at: datetime, target: timedelta | None) -> datetime | None:
    return clock.add(at, target) if target else None


def start_clocks(
    session: Session, ticket: Ticket, *, now: datetime, deadline: datetime | None = None
) -> None:
    """A new ticket: first response and resolution targets from `now`. A task's own deadline (an
    after-sales clock) is a resolution deadline too: the earlier of the two holds."""
    targets = targets_for(session, ticket)
    ticket.first_response_due_at = _start(targets.clock, now, targets.first_response)
    ticket.task_due_at = deadline
    ticket.resolution_due_at = _earliest(_start(targets.clock, now, targets.resolution), deadline)
    sync(session, ticket, now=now, targets=targets)


def buyer_waiting(session: Session, ticket: Ticket, *, now: datetime) -> None:
    """A buyer message arrived: the next-response clock starts, unless an earlier unanswered
    message already started it."""
    targets = targets_for(session, ticket)
    if ticket.next_response_due_at is None:
        ticket.next_response_due_at = _start(targets.clock, now, targets.next_response)
    sync(session, ticket, now=now, targets=targets)


def answered(session: Session, ticket: Ticket, *, now: datetime, agent_id: int | None = None) -> None:
    """A person replied: the first response is met (once) and nobody waits for a next one. A reply
    after a deadline records the breach (if the job has not yet)."""
    targets = targets_for(session, ticket)
    record_missed(session, ticket, targets=targets, now=now, agent_id=agent_id)
    if ticket.first_response_at is None:
        ticket.first_response_at = now
    ticket.next_response_due_at = None
    sync(session, ticket, now=now, targets=targets)


def restart_resolution(session: Session, ticket: Ticket, *, now: datetime) -> None:
    """A reopened ticket gets a fresh resolution target (an old task deadline no longer holds)."""
    targets = targets_for(session, ticket)
    ticket.task_due_at = None
    ticket.resolution_due_at = _start(targets.clock, now, targets.resolution)
    sync(session, ticket, now=now, targets=targets)


def tighten_deadline(session: Session, ticket: Ticket, deadline: datetime, *, now: datetime) -> None:
    """A task brought its own deadline (an after-sales clock) to an existing ticket."""
    ticket.task_due_at = _earliest(ticket.task_due_at, deadline)
    ticket.resolution_due_at = _earliest(ticket.resolution_due_at, deadline)
    sync(session, ticket, now=now)


def _moved(
    before: Targets,
    after: Targets,
    anchor: datetime,
    due: datetime | None,
    old: timedelta | None,
    new: timedelta | None,
) -> datetime | None:
    """A deadline under new targets from its anchor, keeping the time its clock already stood
    still (the part of anchor → due beyond the old target)."""
    if new is None:
        return None
    credit = timedelta(0)
    if due is not None and old is not None:
        credit = max(before.clock.between(anchor, due) - old, timedelta(0))
    return after.clock.add(anchor, new + credit)


def retarget(session: Session, ticket: Ticket, *, before: Targets, now: datetime) -> None:
    """The ticket's priority (or team, or kind) changed: its response deadlines follow the targets
    it has now, from their anchors (created / last buyer message), keeping the time their clocks
    stood still. The resolution deadline only ever tightens: it may be a task's own deadline."""
    after = targets_for(session, ticket)
    if ticket.first_response_at is None:
        ticket.first_response_due_at = _moved(
            before,
            after,
            ticket.created_at,
            ticket.first_response_due_at,
            before.first_response,
            after.first_response,
        )
    if ticket.next_response_due_at is not None and ticket.last_inbound_at is not None:
        ticket.next_response_due_at = _moved(
            before,
            after,
            ticket.last_inbound_at,
            ticket.next_response_due_at,
            before.next_response,
            after.next_response,
        )
    tighter = _moved(
        before, after, ticket.created_at, ticket.resolution_due_at, before.resolution, after.resolution
    )
    ticket.resolution_due_at = _earliest(ticket.resolution_due_at, tighter, ticket.task_due_at)
    sync(session, ticket, now=now, targets=after)


def priority_changed(session: Session, ticket: Ticket, *, before: Targets, now: datetime) -> None:
    retarget(session, ticket, before=before, now=now)


# --- pausing, breaches, risk ---------------------------------------------------------------------


def _resume(ticket: Ticket, targets: Targets, now: datetime) -> None:
    paused_at = ticket.sla_paused_at
    ticket.sla_paused_at = None
    if paused_at is None or now <= paused_at:
        return
    clock = targets.clock

    def moved(due: datetime | None) -> datetime | None:
        if due is None or due <= paused_at:
            return due  # missed before the pause: stays missed
        return clock.add(now, clock.between(paused_at, due))

    if ticket.first_response_at is None:
        ticket.first_response_due_at = moved(ticket.first_response_due_at)
    ticket.next_response_due_at = moved(ticket.next_response_due_at)
    resolution = moved(ticket.resolution_due_at)
    ticket.resolution_due_at = (
        _earliest(resolution, ticket.task_due_at) if resolution is not None else resolution
    )


def insert_breaches(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert breach rows, skipping any already recorded (one executemany, any number of rows)."""
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(SlaBreach.__table__).on_conflict_do_nothing(
        index_elements=["ticket_id", "metric", "due_at"]
    )
    session.execute(statement, rows)


def record_missed(
    session: Session,
    ticket: Ticket,
    *,
    targets: Targets,
    now: datetime,
    agent_id: int | None = None,
    sink: list[dict[str, Any]] | None = None,
) -> None:
    """Record each open deadline its running clock has passed (a paused clock stopped at
    `sla_paused_at`); a deadline already recorded is not recorded again. With `sink` the rows are
    collected there for one insert later (the job's batch)."""
    if ticket.id is None:
        return
    clock_now = ticket.sla_paused_at or now
    rows = [
        {
            "ticket_id": ticket.id,
            "metric": metric.value,
            "due_at": due,
            "breached_at": now,
            "agent_id": agent_id if agent_id is not None else ticket.assignee_id,
            "team_id": ticket.team_id,
            "policy_id": targets.policy_id,
        }
        for metric, due in open_deadlines_by_metric(ticket)
        if due <= clock_now
    ]
    if sink is not None:
        sink.extend(rows)
    else:
        insert_breaches(session, rows)


def _schedule(ticket: Ticket, targets: Targets, now: datetime) -> None:
    """Risk now, and the next moment it or a breach can change (None: nothing to watch)."""
    at_risk, events = False, []
    if ticket.status in ACTIVE_STATUSES and ticket.sla_paused_at is None:
        for metric, due in open_deadlines_by_metric(ticket):
            if due <= now:
                at_risk = True
                if ticket.id is None:
                    events.append(now)  # not recorded yet: the job records it
                continue
            events.append(due)
            target = targets.target(metric)
            if target is None or targets.risk_percent <= 0:
                continue
            warn = targets.clock.subtract(due, target * targets.risk_percent / 100)
            if warn <= now:
                at_risk = True
            else:
                events.append(warn)
    ticket.sla_risk = at_risk
    ticket.sla_next_at = min(events) if events else None
    ticket.queue_rank = queue_rank(ticket.priority, at_risk)


def sync(
    session: Session,
    ticket: Ticket,
    *,
    now: datetime,
    targets: Targets | None = None,
    policies: PolicySet | None = None,
    agent_id: int | None = None,
    sink: list[dict[str, Any]] | None = None,
) -> None:
    """Bring the ticket's SLA state in line with its status at `now`: pause or resume its clocks,
    record the deadlines missed, refresh due_at, risk and queue_rank. Call it after every status
    change; safe to call any time (the dispatch job does)."""
    targets = targets or targets_for(session, ticket, policies=policies)
    active = ticket.status in ACTIVE_STATUSES
    pause = active and targets.pauses(ticket.status)
    if ticket.sla_paused_at is not None and not pause:
        _resume(ticket, targets, now)
    if active:
        record_missed(session, ticket, targets=targets, now=now, agent_id=agent_id, sink=sink)
    if pause and ticket.sla_paused_at is None:
        ticket.sla_paused_at = now
    refresh_due(ticket)
    _schedule(ticket, targets, now)


def settle(session: Session, ticket: Ticket, *, now: datetime, agent_id: int | None = None) -> None:
    """Before a ticket is solved: a paused clock resumes (the pause is credited) and every deadline
    missed by now is recorded."""
    targets = targets_for(session, ticket)
    if ticket.sla_paused_at is not None:
        _resume(ticket, targets, now)
    record_missed(session, ticket, targets=targets, now=now, agent_id=agent_id)
    refresh_due(ticket)


# --- the dispatch job's part ------------------------------------------------------------------------


def sweep(session: Session, *, now: datetime, limit: int) -> int:
    """Tickets whose next SLA event is due: breaches recorded, risk and queue rank refreshed."""
    from app.db import is_postgres

    query = (
        sa.select(Ticket)
        .where(Ticket.sla_next_at <= now)
        .order_by(Ticket.sla_next_at, Ticket.id)
        .limit(limit)
    )
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    tickets = list(session.execute(query).scalars())
    if not tickets:
        return 0
    policies = PolicySet.load(session)
    missed: list[dict[str, Any]] = []
    with session.no_autoflush:
        for ticket in tickets:
            sync(session, ticket, now=now, policies=policies, sink=missed)
    session.flush()
    insert_breaches(session, missed)
    return len(tickets)
