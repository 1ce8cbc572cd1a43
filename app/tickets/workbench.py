"""The workbench's read model (工作台): the agent's queues with counts, and one queue's rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from app.accounts.models import Agent
from app.tickets import queues
from app.tickets.workspace import RowView, row_views

MINE = "mine"
PAGE_SIZE = 50


@dataclass
class QueueEntry:
    key: str
    label: str
    count: int
    selected: bool

    @property
    def shown(self) -> str:
        """The count as the queue list shows it: "99+" once it reaches queues.COUNT_CAP."""
        return f"{queues.COUNT_CAP - 1}+" if self.count >= queues.COUNT_CAP else str(self.count)


@dataclass
class QueueList:
    entries: list[QueueEntry]
    selected: QueueEntry | None

    @property
    def waiting(self) -> int:
        """Tickets in the agent's queues, not counting "mine" twice."""
        return sum(e.count for e in self.entries if e.key != MINE)


@dataclass
class QueueRows:
    queue_key: str
    rows: list[RowView]
    next_cursor: str | None
    cursor: str | None


def _default_key(entries: list[QueueEntry]) -> str | None:
    """The agent's own work first, else the first queue with something waiting, else the first."""
    by_key = {e.key: e for e in entries}
    if MINE in by_key and by_key[MINE].count:
        return MINE
    return next((e.key for e in entries if e.count), entries[0].key if entries else None)


def queue_list(session: Session, *, agent: Agent, now: datetime, selected: str | None = None) -> QueueList:
    """The agent's queues and their counts (a few queries, whatever the number of tickets).

    An unknown `selected` key falls back to the default choice: a stale link still opens.
    """
    found = queues.queues_for(session, agent, now=now)
    counts = queues.queue_counts(session, agent=agent, now=now)
    entries = [QueueEntry(q.key, queues.queue_label(q), int(counts.get(q.key, 0)), False) for q in found]
    keys = {e.key for e in entries}
    chosen = selected if selected in keys else _default_key(entries)
    current = None
    for entry in entries:
        entry.selected = entry.key == chosen
        if entry.selected:
            current = entry
    return QueueList(entries=entries, selected=current)


def queue_rows(
    session: Session, *, agent: Agent, queue_key: str, now: datetime, cursor: str | None = None
) -> QueueRows:
    page = queues.queue_rows(
        session, agent=agent, queue_key=queue_key, now=now, cursor=cursor or None, limit=PAGE_SIZE
    )
    return QueueRows(
        queue_key=queue_key,
        rows=row_views(list(page.items), now=now),
        next_cursor=page.next_cursor,
        cursor=cursor or None,
    )


def rows_or_empty(
    session: Session, *, agent: Agent, listing: QueueList, now: datetime, cursor: str | None
) -> Any:
    if listing.selected is None:
        return QueueRows(queue_key="", rows=[], next_cursor=None, cursor=None)
    return queue_rows(session, agent=agent, queue_key=listing.selected.key, now=now, cursor=cursor)
