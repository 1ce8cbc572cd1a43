"""Tickets: where work comes from (follow-up tasks, buyer messages), one active ticket per customer and
topic, and what the desk may do with a ticket. The actions (tickets.actions) and buyer messages
(tickets.inbound) are re-exported here, so callers have one door: `service.reply(...)` …"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from app.accounts.models import Agent, Team
from app.customers.models import Customer
from app.errors import InvalidInput, NotFound
from app.tickets import sla
from app.tickets.actions import (
    add_message,
    add_note,
    assign,
    clean_body,
    link_missing,
    lock_customer,
    parse_priority,
    reopen,
    reply,
    set_priority,
    set_tags,
    snooze,
    solve,
    webhook_available,
)
from app.tickets.inbound import REOPEN_WINDOW, receive_message
from app.tickets.models import (
    ACTIVE_STATUSES,
    MessageDirection,
    Ticket,
    TicketKind,
    TicketMessage,
    TicketPriority,
    TicketStatus,
)

__all__ = [
    "REOPEN_WINDOW",
    "add_message",
    "add_note",
    "allowed_actions",
    "assign",
    "available_channels",
    "get_ticket",
    "inbound_count_since",
    "messages_of",
    "open_task",
    "open_ticket",
    "open_ticket_for",
    "past_tickets",
    "receive_message",
    "reopen",
    "reply",
    "require_ticket",
    "set_priority",
    "set_tags",
    "snooze",
    "solve",
]


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


def _parse_kind(kind: TicketKind | str) -> TicketKind:
    try:
        return TicketKind(kind)
    except ValueError as exc:
        raise InvalidInput(
            "{kind} is not a ticket kind.", fields={"kind": ", ".join(TicketKind)}, kind=kind
        ) from exc


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
    a pending or snoozed ticket back to open) instead of a second ticket. `due_at` is the task's
    own deadline (an after-sales clock): the ticket must be resolved by then."""
    kind, priority = _parse_kind(kind), parse_priority(priority)
    if not subject.strip():
        raise InvalidInput("A ticket needs a subject.", fields={"subject": "required"})
    customer = lock_customer(session, customer_id)
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
            store_id=customer.store_id,
            team_id=team_id,
            customer_id=customer_id,
            order_id=order_id,
            inquiry_id=inquiry_id,
            case_id=case_id,
            review_id=review_id,
            subject=subject.strip()[:255],
            tags=[],
            created_at=now,
            updated_at=now,
        )
        sla.start_clocks(session, ticket, now=now, deadline=due_at)
        session.add(ticket)
        session.flush()
    else:
        if priority.rank > TicketPriority(ticket.priority).rank:
            before = sla.targets_for(session, ticket)
            ticket.priority = priority
            ticket.priority_rank = priority.rank
            sla.priority_changed(session, ticket, before=before, now=now)
        if ticket.status in (TicketStatus.snoozed, TicketStatus.pending):
            ticket.status = TicketStatus.open
            ticket.snoozed_until = None
            sla.sync(session, ticket, now=now)  # a paused clock runs again
        if due_at is not None:
            sla.tighten_deadline(session, ticket, due_at, now=now)
        link_missing(ticket, order_id=order_id, inquiry_id=inquiry_id, case_id=case_id, review_id=review_id)
        ticket.updated_at = now
        session.add(ticket)
    add_message(session, ticket, direction=MessageDirection.note, body=body, now=now)
    return ticket


def open_ticket(
    session: Session,
    *,
    customer_id: int,
    kind: TicketKind | str,
    subject: str,
    body: str,
    now: datetime,
    priority: TicketPriority | str = TicketPriority.normal,
    order_id: int | None = None,
    inquiry_id: int | None = None,
    case_id: int | None = None,
    team: str | None = None,
    due_at: datetime | None = None,
) -> tuple[Ticket, bool]:
    """A ticket opened by hand or through the API, its links checked against the customer:
    (the ticket, True) — or (the customer's active ticket of this kind, False) when the body
    became a note on it."""
    from app.aftersales.models import AftersalesCase
    from app.orders.models import Order
    from app.presale.models import Inquiry

    text = clean_body(body)
    kind = _parse_kind(kind)
    if session.get(Customer, customer_id) is None:
        raise InvalidInput("Customer {id} does not exist.", fields={"customer_id": "unknown"}, id=customer_id)
    for column, model, value in (
        ("order_id", Order, order_id),
        ("inquiry_id", Inquiry, inquiry_id),
        ("case_id", AftersalesCase, case_id),
    ):
        if value is None:
            continue
        row = session.get(model, value)
        if row is None or row.customer_id != customer_id:
            raise InvalidInput(
                "{name} {id} is not this customer's.",
                fields={column: "not the customer's"},
                name=column,
                id=value,
            )
    team = (team or "").strip() or None
    if team is not None and session.exec(select(Team.id).where(Team.name == team)).first() is None:
        raise InvalidInput("Team {team} does not exist.", fields={"team": "unknown team"}, team=team)
    if due_at is not None and due_at.tzinfo is None:
        due_at = due_at.replace(tzinfo=UTC)  # naive means UTC, as everywhere in the API
    existing = open_ticket_for(session, customer_id=customer_id, kind=kind)
    ticket = open_task(
        session,
        kind=kind,
        customer_id=customer_id,
        subject=subject,
        body=text,
        priority=priority,
        now=now,
        order_id=order_id,
        inquiry_id=inquiry_id,
        case_id=case_id,
        team=team,
        due_at=due_at,
    )
    return ticket, existing is None


# --- reading -----------------------------------------------------------------------------------


def messages_of(session: Session, ticket_id: int) -> list[TicketMessage]:
    query = select(TicketMessage).where(TicketMessage.ticket_id == ticket_id)
    return list(session.exec(query.order_by(TicketMessage.created_at, TicketMessage.id)))


def past_tickets(
    session: Session, *, customer_id: int, exclude_id: int | None = None, limit: int = 10
) -> list[Ticket]:
    """The customer's other tickets, newest first."""
    query = select(Ticket).where(Ticket.customer_id == customer_id)
    if exclude_id is not None:
        query = query.where(Ticket.id != exclude_id)
    return list(session.exec(query.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit)))


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


def allowed_actions(ticket: Ticket, agent: Agent) -> set[str]:
    """What the desk offers on this ticket. Every active agent may work any ticket; a solved one
    takes a reply (which reopens it), a note and a reopen; a closed one, a reply, a note and a reopen."""
    if not agent.is_active:
        return set()
    status = TicketStatus(ticket.status)
    if status in ACTIVE_STATUSES:
        actions = {"reply", "note", "snooze", "solve", "assign", "priority", "tags", "macro"}
        if ticket.assignee_id is None and status == TicketStatus.open:
            actions.add("claim")
        return actions
    if status == TicketStatus.solved:
        return {"reply", "note", "reopen", "assign", "priority", "tags", "macro"}
    return {"reply", "note", "reopen"}


def available_channels(session: Session, ticket: Ticket) -> list[str]:
    """How a reply can travel: the outbound webhook when a subscription takes message.outbound
    (offered first), and always by hand ("manual": pasted into the marketplace chat)."""
    return ["webhook", "manual"] if webhook_available(session) else ["manual"]
