"""Supervisors manage their team's queues: saved filters validated before they are stored."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from app.accounts.models import Agent, Role
from app.errors import Forbidden, InvalidInput, NotFound
from app.tickets.actions import clean_tags
from app.tickets.models import Queue, TicketKind, TicketPriority, TicketStatus

ASSIGNEE_MODES = ("unassigned_or_mine", "unassigned", "mine")


def _may_manage(actor: Agent, team_id: int | None) -> None:
    role = Role(actor.role)
    if role == Role.admin:
        return
    if role == Role.supervisor and team_id is not None and team_id == actor.team_id:
        return
    raise Forbidden("Only a supervisor of this team (or an admin) can change its queues.")


def clean_filters(filters: dict[str, Any] | None) -> dict[str, Any]:
    """A queue's filters, validated: known kinds, statuses, priorities; an assignee mode; tags."""
    filters = dict(filters or {})
    unknown = sorted(set(filters) - {"kinds", "statuses", "priorities", "assignee", "tags", "store_id"})
    if unknown:
        raise InvalidInput(
            "Unknown queue filters: {names}.", fields={"filters": "unknown"}, names=", ".join(unknown)
        )
    cleaned: dict[str, Any] = {}
    for name, enum_cls in (("kinds", TicketKind), ("statuses", TicketStatus), ("priorities", TicketPriority)):
        values = filters.get(name) or []
        if isinstance(values, str):
            values = [v for v in values.replace(",", " ").split() if v]
        bad = [v for v in values if v not in {m.value for m in enum_cls}]
        if bad:
            raise InvalidInput(
                "Unknown values for {name}: {values}.",
                fields={name: ", ".join(m.value for m in enum_cls)},
                name=name,
                values=", ".join(map(str, bad)),
            )
        if values:
            cleaned[name] = [m.value for m in enum_cls if m.value in set(values)]
    cleaned.setdefault("statuses", ["open"])
    mode = filters.get("assignee") or "unassigned_or_mine"
    if mode not in ASSIGNEE_MODES:
        raise InvalidInput(
            "Show unassigned tickets, mine, or both.", fields={"assignee": " | ".join(ASSIGNEE_MODES)}
        )
    cleaned["assignee"] = mode
    tags = clean_tags(filters.get("tags"))
    if tags:
        cleaned["tags"] = tags
    if filters.get("store_id") not in (None, ""):
        try:
            cleaned["store_id"] = int(filters["store_id"])
        except (TypeError, ValueError) as exc:
            raise InvalidInput("Choose a store.", fields={"store_id": "a store id"}) from exc
    return cleaned


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 64:
        raise InvalidInput(
            "A queue needs a name of at most 64 characters.", fields={"name": "1–64 characters"}
        )
    return name


def create_queue(
    session: Session,
    *,
    actor: Agent,
    team_id: int | None,
    name: str,
    filters: dict[str, Any] | None,
    now: datetime,
    key: str | None = None,
) -> Queue:
    _may_manage(actor, team_id)
    cleaned, name = clean_filters(filters), _clean_name(name)
    taken = set(session.exec(select(Queue.key).where(Queue.team_id == team_id)))
    key = (key or "").strip() or f"custom-{len(taken) + 1}"
    while key in taken:
        key = f"{key}-1"
    if len(key) > 32:
        raise InvalidInput("A queue key is at most 32 characters.", fields={"key": "≤ 32"})
    position = max(
        (q.position for q in session.exec(select(Queue).where(Queue.team_id == team_id))), default=0
    )
    queue = Queue(
        team_id=team_id,
        key=key,
        name=name,
        position=position + 10,
        filters=cleaned,
        is_default=False,
        created_at=now,
    )
    session.add(queue)
    session.flush()
    return queue


def require_queue(session: Session, queue_id: int) -> Queue:
    queue = session.get(Queue, queue_id)
    if queue is None:
        raise NotFound("Queue {id} does not exist.", id=queue_id)
    return queue


def update_queue(
    session: Session,
    queue: Queue,
    *,
    actor: Agent,
    now: datetime,
    name: str | None = None,
    filters: dict[str, Any] | None = None,
    position: int | None = None,
) -> Queue:
    _may_manage(actor, queue.team_id)
    if queue.key == "mine" and filters is not None:
        raise InvalidInput(
            "The “my tickets” queue always shows your own tickets.", fields={"filters": "fixed"}
        )
    if name is not None:
        queue.name = _clean_name(name)
    if filters is not None:
        queue.filters = clean_filters(filters)
    if position is not None:
        queue.position = int(position)
    session.add(queue)
    session.flush()
    return queue


def delete_queue(session: Session, queue: Queue, *, actor: Agent, now: datetime) -> None:
    """Remove a team's queue. A default comes back the next time the team's queues are listed, so
    defaults are changed (renamed, refiltered), not deleted."""
    _may_manage(actor, queue.team_id)
    if queue.is_default:
        raise InvalidInput(
            "Default queues can be renamed or refiltered, not deleted.", fields={"queue": "default"}
        )
    session.delete(queue)
    session.flush()
