"""Dispatch jobs of the desk: wake snoozed tickets when their time comes, keep SLA clocks current
(breaches, near-breach rank), and auto-assign.

All are safe to run in several workers at once on PostgreSQL: rows are taken with
`FOR UPDATE SKIP LOCKED` (tickets by wake_snoozed, team rows by auto_assign), so no two workers act
on the same row; each re-checks state in its UPDATE, so a ticket changed meanwhile is left alone.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from app.db import is_postgres, session_scope
from app.tickets import assignment, sla
from app.tickets.models import Ticket, TicketStatus

# Tickets per transaction: on SQLite a write transaction keeps every desk write waiting, so each
# stays short (tens of milliseconds); MAX_PER_RUN bounds one dispatch cycle.
BATCH_SIZE = 50
MAX_PER_RUN = 5_000


def wake_due(session, *, now: datetime, limit: int = BATCH_SIZE) -> int:
    """Snoozed tickets whose time has come go back to open; the wake-up time counts as a deadline,
    so a woken ticket sorts ahead of others of its priority that are due later."""
    query = (
        sa.select(Ticket)
        .where(Ticket.status == TicketStatus.snoozed, Ticket.snoozed_until <= now)
        .order_by(Ticket.snoozed_until, Ticket.id)
        .limit(limit)
    )
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    tickets = list(session.execute(query).scalars())
    for ticket in tickets:
        woke_for = ticket.snoozed_until
        ticket.status = TicketStatus.open
        ticket.snoozed_until = None
        sla.sync(session, ticket, now=now)  # a paused SLA clock runs again
        if woke_for is not None and (ticket.due_at is None or woke_for < ticket.due_at):
            ticket.due_at = woke_for
        ticket.updated_at = now
        session.add(ticket)
    session.flush()
    return len(tickets)


def wake_snoozed(now: datetime, *, engine: Engine | None = None) -> int:
    """The dispatch job: wake what is due, batch after batch (each batch its own transaction)."""
    total = 0
    while total < MAX_PER_RUN:
        with session_scope(engine) as session:
            woken = wake_due(session, now=now)
        total += woken
        if woken < BATCH_SIZE:
            break
    return total


def sla_sweep(now: datetime, *, engine: Engine | None = None) -> int:
    """The dispatch job: record missed SLA deadlines and raise tickets near one in their queues
    (tickets whose sla_next_at has come), batch after batch; SKIP LOCKED on PostgreSQL."""
    total = 0
    while total < MAX_PER_RUN:
        with session_scope(engine) as session:
            done = sla.sweep(session, now=now, limit=BATCH_SIZE)
        total += done
        if done < BATCH_SIZE:
            break
    return total


def auto_assign(now: datetime, *, engine: Engine | None = None) -> int:
    """The dispatch job: give waiting tickets to online agents of teams that assign automatically."""
    with session_scope(engine) as session:
        return assignment.auto_assign(session, now=now)
