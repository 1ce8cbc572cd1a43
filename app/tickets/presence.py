"""Who else has a ticket open: heartbeat rows (TicketViewer) in the database, so the notice
"小李 也在处理这个工单" holds across server processes and hosts."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from app.accounts.models import Agent
from app.tickets.models import TicketViewer

# A viewer counts as "here" while its page keeps sending heartbeats (every 5 s).
PRESENCE_WINDOW = timedelta(seconds=15)
# Rows older than this are litter from closed tabs; each heartbeat sweeps its ticket's.
STALE_AFTER = timedelta(hours=1)


@functools.cache
def _upsert(dialect: str) -> sa.Insert:
    """INSERT … ON CONFLICT (ticket_id, agent_id) DO UPDATE SET seen_at, built once per dialect
    (building `excluded` costs a tenth of a heartbeat)."""
    table = TicketViewer.__table__
    if dialect == "postgresql":
        statement = postgresql.insert(table)
    elif dialect == "sqlite":
        statement = sqlite.insert(table)
    else:  # pragma: no cover - the product runs on SQLite and PostgreSQL only
        raise RuntimeError(f"presence needs SQLite or PostgreSQL, not {dialect}")
    statement = statement.values(
        ticket_id=sa.bindparam("ticket_id"),
        agent_id=sa.bindparam("agent_id"),
        seen_at=sa.bindparam("seen_at"),
    )
    return statement.on_conflict_do_update(
        index_elements=["ticket_id", "agent_id"], set_={"seen_at": statement.excluded.seen_at}
    )


def heartbeat(session: Session, *, ticket_id: int, agent_id: int, now: datetime) -> None:
    """Record that `agent_id` has `ticket_id` open now (one row per ticket and agent)."""
    values = {"ticket_id": ticket_id, "agent_id": agent_id, "seen_at": now}
    session.execute(_upsert(session.get_bind().dialect.name), values)
    viewers = TicketViewer.__table__  # Core, not ORM: no session synchronisation to evaluate
    session.execute(
        sa.delete(viewers).where(viewers.c.ticket_id == ticket_id, viewers.c.seen_at < now - STALE_AFTER)
    )


def leave(session: Session, *, ticket_id: int, agent_id: int) -> None:
    """The agent closed the ticket: others stop seeing the notice at once."""
    session.execute(
        sa.delete(TicketViewer).where(TicketViewer.ticket_id == ticket_id, TicketViewer.agent_id == agent_id)
    )


def other_viewers(session: Session, *, ticket_id: int, agent_id: int, now: datetime) -> list[Agent]:
    """The other agents who sent a heartbeat for this ticket within the window, by name."""
    query = (
        select(Agent)
        .join(TicketViewer, TicketViewer.agent_id == Agent.id)
        .where(TicketViewer.ticket_id == ticket_id, TicketViewer.agent_id != agent_id)
        .where(TicketViewer.seen_at >= now - PRESENCE_WINDOW)
        .order_by(Agent.display_name, Agent.id)
    )
    return list(session.exec(query))
