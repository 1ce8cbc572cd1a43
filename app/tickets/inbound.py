"""Buyer messages: a message joins the customer's conversation (its active ticket), reopens one
solved lately, or opens a buyer_message ticket; a redelivered message is recorded once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, select

from app.errors import InvalidInput
from app.tickets import sla
from app.tickets.actions import add_message, clean_body, link_missing, lock_customer, reopen
from app.tickets.models import (
    ACTIVE_STATUSES,
    MessageDirection,
    Ticket,
    TicketKind,
    TicketMessage,
    TicketPriority,
    TicketStatus,
)

# A buyer writing again within this long after a ticket was solved reopens it; later, a new one.
REOPEN_WINDOW = timedelta(days=7)
SUBJECT_LENGTH = 80


def _message_by_external_id(session: Session, store_id: int | None, external_id: str) -> TicketMessage | None:
    query = select(TicketMessage).where(
        TicketMessage.store_id == store_id, TicketMessage.external_id == external_id
    )
    return session.exec(query).first()


def _conversation(session: Session, *, customer_id: int, order_id: int | None) -> Ticket | None:
    """The active ticket a buyer message continues: the one about this order if any, else the
    most recently worked on."""
    active = list(
        session.exec(
            select(Ticket)
            .where(Ticket.customer_id == customer_id, Ticket.status.in_(ACTIVE_STATUSES))
            .order_by(Ticket.updated_at.desc(), Ticket.id.desc())
        )
    )
    if not active:
        return None
    if order_id is not None:
        for ticket in active:
            if ticket.order_id == order_id:
                return ticket
    return active[0]


def _recently_solved(
    session: Session, *, customer_id: int, order_id: int | None, now: datetime
) -> Ticket | None:
    query = (
        select(Ticket)
        .where(Ticket.customer_id == customer_id, Ticket.status == TicketStatus.solved)
        .where(Ticket.solved_at >= now - REOPEN_WINDOW)
        .order_by(Ticket.solved_at.desc(), Ticket.id.desc())
    )
    for ticket in session.exec(query):
        # A message about another order is another topic: it opens its own ticket.
        if order_id is None or ticket.order_id in (None, order_id):
            return ticket
    return None


def _open_inquiry_id(session: Session, customer_id: int) -> int | None:
    from app.presale.models import Inquiry, InquiryStatus

    query = (
        select(Inquiry.id)
        .where(Inquiry.customer_id == customer_id)
        .where(Inquiry.status.in_((InquiryStatus.open, InquiryStatus.bargaining)))
        .order_by(Inquiry.opened_at.desc(), Inquiry.id.desc())
    )
    return session.exec(query).first()


def _subject_from(text: str) -> str:
    first = text.strip().splitlines()[0].strip()
    return first if len(first) <= SUBJECT_LENGTH else first[: SUBJECT_LENGTH - 1] + "…"


def receive_message(
    session: Session,
    *,
    store_id: int | None,
    customer_id: int,
    body: str,
    now: datetime,
    external_id: str | None = None,
    channel: str = "",
    order_id: int | None = None,
) -> TicketMessage:
    """A buyer message: joins the customer's active ticket (pending / snoozed → open), else
    reopens one solved in the last REOPEN_WINDOW, else opens a buyer_message ticket. A message
    redelivered with the same (store, external id) is recorded once: the first one is returned."""
    from app.phrasing.stats import on_buyer_message

    text = clean_body(body)
    external_id = (external_id or "").strip() or None
    if external_id is not None and len(external_id) > 128:
        raise InvalidInput("An external id is at most 128 characters.", fields={"external_id": "≤ 128"})
    if external_id is not None and (found := _message_by_external_id(session, store_id, external_id)):
        return found
    customer = lock_customer(session, customer_id)
    if order_id is not None:
        from app.orders.models import Order

        order = session.get(Order, order_id)
        if order is None or order.customer_id != customer_id:
            raise InvalidInput(
                "That order is not this customer's.", fields={"order_id": "not the customer's"}
            )
    # Re-checked under the lock: a concurrent delivery of the same message may have just won.
    if external_id is not None and (found := _message_by_external_id(session, store_id, external_id)):
        return found
    ticket = _conversation(session, customer_id=customer_id, order_id=order_id)
    if ticket is None:
        ticket = _recently_solved(session, customer_id=customer_id, order_id=order_id, now=now)
        if ticket is not None:
            reopen(session, ticket, agent=None, now=now)
    if ticket is None:
        ticket = Ticket(
            kind=TicketKind.buyer_message,
            status=TicketStatus.open,
            priority=TicketPriority.normal,
            priority_rank=TicketPriority.normal.rank,
            store_id=store_id if store_id is not None else customer.store_id,
            customer_id=customer_id,
            order_id=order_id,
            subject=_subject_from(text),
            tags=[],
            created_at=now,
            updated_at=now,
        )
        sla.start_clocks(session, ticket, now=now)
        session.add(ticket)
        session.flush()
    if ticket.status in (TicketStatus.pending, TicketStatus.snoozed):
        ticket.status = TicketStatus.open
        ticket.snoozed_until = None
        sla.sync(session, ticket, now=now)  # a paused clock runs again
    link_missing(ticket, order_id=order_id, inquiry_id=_open_inquiry_id(session, customer_id))
    ticket.last_inbound_at = now
    sla.buyer_waiting(session, ticket, now=now)
    ticket.updated_at = now
    session.add(ticket)
    message = add_message(
        session,
        ticket,
        direction=MessageDirection.inbound,
        body=text,
        now=now,
        channel=channel or "",
        store_id=store_id,
        external_id=external_id,
    )
    on_buyer_message(session, now=now, customer_id=customer_id)
    return message
