"""Tickets, for now: opening a task ticket (follow-ups) with one open ticket per customer and topic."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from app.accounts.models import Team
from app.customers.models import Customer
from app.errors import InvalidInput, NotFound
from app.tickets.models import (
    ACTIVE_STATUSES,
    MessageDirection,
    Ticket,
    TicketKind,
    TicketMessage,
    TicketPriority,
    TicketStatus,
)


def get_ticket(session: Session, ticket_id: int) -> Ticket | None:
    return session.get(Ticket, ticket_id)


def require_ticket(session: Session, ticket_id: int) -> Ticket:
    ticket = get_ticket(session, ticket_id)
    if ticket is None:
        raise NotFound("Ticket {id} does not exist.", id=ticket_id)
    return ticket


def open_ticket_for(session: Session, *, customer_id: int, kind: TicketKind | str) -> Ticket | None:
    """The customer's active ticket on this topic, if any."""
    query = (
        select(Ticket)
        .where(Ticket.customer_id == customer_id, Ticket.kind == TicketKind(kind))
        .where(Ticket.status.in_(ACTIVE_STATUSES))
        .order_by(Ticket.id)
    )
    return session.exec(query).first()


def _parse(kind: TicketKind | str, priority: TicketPriority | str) -> tuple[TicketKind, TicketPriority]:
    try:
        kind = TicketKind(kind)
    except ValueError as exc:
        raise InvalidInput(
            "{kind} is not a ticket kind.", fields={"kind": ", ".join(TicketKind)}, kind=kind
        ) from exc
    try:
        priority = TicketPriority(priority)
    except ValueError as exc:
        raise InvalidInput(
            "{priority} is not a priority.", fields={"priority": ", ".join(TicketPriority)}, priority=priority
        ) from exc
    return kind, priority


def open_task(
    session: Session,
    *,
    kind: TicketKind | str,
    customer_id: int,
    subject: str,
    body: str,
    priority: TicketPriority | str,
    now: datetime,
    order_id: int | None = None,
    inquiry_id: int | None = None,
    case_id: int | None = None,
    review_id: int | None = None,
    team: str | None = None,
    due_at: datetime | None = None,
) -> Ticket:
    """A task for an agent queue. One active ticket per customer and topic: when the customer
    already has one of this kind, the task becomes a note on it (its priority raised if higher,
    a snoozed ticket woken up) instead of a second ticket."""
    kind, priority = _parse(kind, priority)
    if not subject.strip():
        raise InvalidInput("A ticket needs a subject.", fields={"subject": "required"})
    # Lock the customer row: two workers cannot both find "no open ticket" and open two.
    session.exec(select(Customer.id).where(Customer.id == customer_id).with_for_update()).first()
    ticket = open_ticket_for(session, customer_id=customer_id, kind=kind)
    if ticket is None:
        team_id = None
        if team:
            team_id = session.exec(select(Team.id).where(Team.name == team)).first()
        ticket = Ticket(
            kind=kind,
            status=TicketStatus.open,
            priority=priority,
            priority_rank=priority.rank,
            team_id=team_id,
            customer_id=customer_id,
            order_id=order_id,
            inquiry_id=inquiry_id,
            case_id=case_id,
            review_id=review_id,
            subject=subject.strip()[:255],
            tags=[],
            due_at=due_at,
            created_at=now,
            updated_at=now,
        )
        session.add(ticket)
        session.flush()
    else:
        if priority.rank > TicketPriority(ticket.priority).rank:
            ticket.priority = priority
            ticket.priority_rank = priority.rank
        if ticket.status == TicketStatus.snoozed:
            ticket.status = TicketStatus.open
            ticket.snoozed_until = None
        if due_at is not None and (ticket.due_at is None or due_at < ticket.due_at):
            ticket.due_at = due_at
        for column, value in (
            ("order_id", order_id),
            ("inquiry_id", inquiry_id),
            ("case_id", case_id),
            ("review_id", review_id),
        ):
            if getattr(ticket, column) is None and value is not None:
                setattr(ticket, column, value)
        ticket.updated_at = now
        session.add(ticket)
    add_message(session, ticket, direction=MessageDirection.note, body=body, now=now)
    return ticket


def add_message(
    session: Session,
    ticket: Ticket,
    *,
    direction: MessageDirection | str,
    body: str,
    now: datetime,
    author_id: int | None = None,
    channel: str = "",
    delivery_status: str = "",
) -> TicketMessage:
    message = TicketMessage(
        ticket_id=ticket.id,
        direction=MessageDirection(direction),
        author_id=author_id,
        body=body,
        channel=channel[:32],
        delivery_status=delivery_status[:16],
        created_at=now,
    )
    session.add(message)
    session.flush()
    return message


def messages_of(session: Session, ticket_id: int) -> list[TicketMessage]:
    query = select(TicketMessage).where(TicketMessage.ticket_id == ticket_id)
    return list(session.exec(query.order_by(TicketMessage.created_at, TicketMessage.id)))


def inbound_count_since(session: Session, *, customer_id: int, since: datetime, until: datetime) -> int:
    """Buyer messages on the customer's tickets in [since, until): replies, for revisit results."""
    query = (
        select(sa.func.count())
        .select_from(TicketMessage)
        .join(Ticket, Ticket.id == TicketMessage.ticket_id)
        .where(Ticket.customer_id == customer_id, TicketMessage.direction == MessageDirection.inbound)
        .where(TicketMessage.created_at >= since, TicketMessage.created_at < until)
    )
    return int(session.exec(query).one())
