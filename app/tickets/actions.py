"""What an agent does to a ticket: reply, note, snooze, solve, reopen, assign, priority, tags.

Each action validates all its input before it writes anything, writes `updated_at`, and only
flushes. app.tickets.service re-exports them: callers use `service.reply(...)` and friends.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from app.accounts.models import Agent
from app.customers.models import Customer
from app.errors import Conflict, InvalidInput
from app.events import emit
from app.tickets import sla
from app.tickets.models import (
    ACTIVE_STATUSES,
    MessageDirection,
    Ticket,
    TicketMessage,
    TicketPriority,
    TicketStatus,
)

MAX_BODY = 10_000
MAX_SNOOZE = timedelta(days=90)
MAX_TAGS = 10
MAX_TAG_LENGTH = 32
CHANNELS = ("manual", "webhook")
# What a reply may leave the ticket as: still open, waiting on the buyer, or done.
THEN_STATUSES = (TicketStatus.open, TicketStatus.pending, TicketStatus.solved)
OUTBOUND_EVENT = "message.outbound"


def clean_body(body: str | None) -> str:
    text = (body or "").strip()
    if not text:
        raise InvalidInput("Write a message first.", fields={"body": "required"})
    if len(text) > MAX_BODY:
        raise InvalidInput(
            "A message is at most {max} characters.", fields={"body": f"≤ {MAX_BODY}"}, max=MAX_BODY
        )
    return text


def parse_priority(priority: TicketPriority | str) -> TicketPriority:
    try:
        return TicketPriority(priority)
    except ValueError as exc:
        raise InvalidInput(
            "{priority} is not a priority.", fields={"priority": ", ".join(TicketPriority)}, priority=priority
        ) from exc


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
    automated: bool = False,
    template_id: int | None = None,
    store_id: int | None = None,
    external_id: str | None = None,
) -> TicketMessage:
    message = TicketMessage(
        ticket_id=ticket.id,
        direction=MessageDirection(direction),
        author_id=author_id,
        automated=automated,
        body=body,
        channel=channel[:32],
        delivery_status=delivery_status[:16],
        template_id=template_id,
        store_id=store_id,
        external_id=external_id,
        created_at=now,
    )
    session.add(message)
    session.flush()
    return message


def lock_customer(session: Session, customer_id: int) -> Customer:
    """Lock the customer row: two workers cannot both find "no active ticket" and open two."""
    row = session.exec(select(Customer).where(Customer.id == customer_id).with_for_update()).first()
    if row is None:
        raise InvalidInput("Customer {id} does not exist.", fields={"customer_id": "unknown"}, id=customer_id)
    return row


def link_missing(ticket: Ticket, **ids: int | None) -> None:
    for column, value in ids.items():
        if getattr(ticket, column) is None and value is not None:
            setattr(ticket, column, value)


def _touch(session: Session, ticket: Ticket, now: datetime) -> Ticket:
    ticket.updated_at = now
    session.add(ticket)
    session.flush()
    return ticket


def webhook_available(session: Session) -> bool:
    """True when an active outbound subscription takes `message.outbound`."""
    from app.integrations.models import Subscription

    rows = session.exec(select(Subscription.event_types).where(Subscription.is_active.is_(True)))
    return any(OUTBOUND_EVENT in (types or []) for types in rows)


def _reopen(session: Session, ticket: Ticket, *, now: datetime) -> None:
    ticket.status = TicketStatus.open
    ticket.reopened_count += 1
    ticket.solved_at = None
    ticket.snoozed_until = None
    sla.restart_resolution(session, ticket, now=now)


def _solve(session: Session, ticket: Ticket, *, now: datetime, agent_id: int | None = None) -> None:
    sla.settle(session, ticket, now=now, agent_id=agent_id)  # a paused clock is credited, misses recorded
    ticket.status = TicketStatus.solved
    ticket.solved_at = now
    ticket.snoozed_until = None
    ticket.next_response_due_at = None
    sla.sync(session, ticket, now=now)
    _touch(session, ticket, now)
    emit(session, "ticket.solved", now=now, ticket=ticket)


def _parse_then(then_status: TicketStatus | str | None) -> TicketStatus | None:
    if then_status in (None, ""):
        return None
    try:
        status = TicketStatus(then_status)
    except ValueError:
        status = None
    if status not in THEN_STATUSES:
        raise InvalidInput(
            "After a reply a ticket can stay open, wait for the buyer (pending) or be solved.",
            fields={"then_status": "open | pending | solved"},
        )
    return status


def _outbound_payload(session: Session, ticket: Ticket, message: TicketMessage, agent: Agent | None) -> dict:
    from app.customers.models import Customer
    from app.orders.models import Order

    customer = session.get(Customer, ticket.customer_id) if ticket.customer_id else None
    order = session.get(Order, ticket.order_id) if ticket.order_id else None
    return {
        # The receiver deduplicates on this: one message is delivered once, however often retried.
        "idempotency_key": f"ticket-message-{message.id}",
        "ticket_id": ticket.id,
        "message_id": message.id,
        "kind": ticket.kind.value if hasattr(ticket.kind, "value") else ticket.kind,
        "store_id": ticket.store_id,
        "customer_id": ticket.customer_id,
        "customer_external_id": customer.external_id if customer else None,
        "order_id": ticket.order_id,
        "order_external_id": order.external_id if order else None,
        "agent": agent.display_name if agent else None,
        "text": message.body,
    }


def reply(
    session: Session,
    ticket: Ticket,
    *,
    agent: Agent | None,
    body: str,
    now: datetime,
    channel: str = "manual",
    template_id: int | None = None,
    locale: str | None = None,
    then_status: TicketStatus | str | None = None,
    automated: bool = False,
) -> TicketMessage:
    """A message to the buyer. "manual": the agent pasted it into the marketplace chat (recorded as
    sent); "webhook": queued on the outbound channel. A reply to a solved ticket reopens it; a reply
    on an unassigned ticket assigns it to the replying agent (it is their conversation now)."""
    from app.phrasing.render import find_missing
    from app.phrasing.stats import record_usage

    text = clean_body(body)
    missing = find_missing(text)
    if missing:
        raise InvalidInput(
            "Fill in the missing variables before sending: {names}.",
            fields={"body": ", ".join(missing)},
            names=", ".join(missing),
        )
    if channel not in CHANNELS:
        raise InvalidInput(
            "Send by hand (manual) or through the webhook.", fields={"channel": "manual | webhook"}
        )
    then = _parse_then(then_status)
    if channel == "webhook" and not webhook_available(session):
        raise InvalidInput(
            "No outbound channel takes messages yet: send it by hand and record it as sent (manual).",
            fields={"channel": "manual"},
        )
    template = None
    if template_id is not None:
        from app.phrasing.models import PhrasingTemplate

        template = session.get(PhrasingTemplate, template_id)
        if template is None:
            raise InvalidInput("That phrasing template does not exist.", fields={"template_id": "unknown"})
    if ticket.status in (TicketStatus.solved, TicketStatus.closed):
        _reopen(session, ticket, now=now)
    message = add_message(
        session,
        ticket,
        direction=MessageDirection.outbound,
        body=text,
        now=now,
        author_id=agent.id if agent else None,
        channel=channel,
        delivery_status="sent" if channel == "manual" else "queued",
        automated=automated,
        template_id=template_id,
    )
    if channel == "webhook":
        from app.integrations import outbound

        queued = outbound.enqueue(
            session,
            event_type=OUTBOUND_EVENT,
            payload=_outbound_payload(session, ticket, message, agent),
            now=now,
        )
        if queued is None:  # the subscription went away between the check and now
            raise InvalidInput(
                "No outbound channel takes messages yet: send it by hand and record it as sent (manual).",
                fields={"channel": "manual"},
            )
    ticket.last_outbound_at = now
    if not automated:
        sla.answered(session, ticket, now=now, agent_id=agent.id if agent is not None else None)
    if agent is not None and ticket.assignee_id is None:
        ticket.assignee_id = agent.id
        ticket.assigned_at = now
    if template is not None and agent is not None:
        record_usage(
            session,
            template_id=template.id,
            agent=agent,
            ticket=ticket,
            action="sent",
            locale=locale or agent.locale,
            now=now,
        )
    if then == TicketStatus.solved:
        _solve(session, ticket, now=now, agent_id=agent.id if agent is not None else None)
        return message
    if then is not None:
        ticket.status = then
        ticket.snoozed_until = None
        sla.sync(session, ticket, now=now)  # pending may pause the clocks, open resumes them
    _touch(session, ticket, now)
    return message


def add_note(
    session: Session, ticket: Ticket, *, agent: Agent | None, body: str, now: datetime
) -> TicketMessage:
    """An internal note: never sent, changes no clock."""
    text = clean_body(body)
    message = add_message(
        session,
        ticket,
        direction=MessageDirection.note,
        body=text,
        now=now,
        author_id=agent.id if agent else None,
    )
    _touch(session, ticket, now)
    return message


def snooze(
    session: Session, ticket: Ticket, *, agent: Agent | None, until: datetime | None, now: datetime
) -> Ticket:
    """Out of the queues until `until`; the wake_snoozed job (or a buyer message) brings it back."""
    if until is None or until.tzinfo is None:
        raise InvalidInput("Choose when the ticket should come back.", fields={"until": "required"})
    if until <= now:
        raise InvalidInput("Snooze until a time in the future.", fields={"until": "must be in the future"})
    if until > now + MAX_SNOOZE:
        raise InvalidInput(
            "Snooze for at most {days} days.",
            fields={"until": f"≤ {MAX_SNOOZE.days} days"},
            days=MAX_SNOOZE.days,
        )
    if ticket.status not in ACTIVE_STATUSES:
        raise Conflict("A solved ticket cannot be snoozed; reopen it first.")
    ticket.status = TicketStatus.snoozed
    ticket.snoozed_until = until
    sla.sync(session, ticket, now=now)  # the policy may pause the clocks
    return _touch(session, ticket, now)


def solve(session: Session, ticket: Ticket, *, agent: Agent | None, now: datetime) -> Ticket:
    """Done: emits "ticket.solved" (follow-ups after a solved ticket hang off it). Idempotent."""
    if ticket.status in (TicketStatus.solved, TicketStatus.closed):
        return ticket
    _solve(session, ticket, now=now, agent_id=agent.id if agent is not None else None)
    return ticket


def reopen(session: Session, ticket: Ticket, *, agent: Agent | None, now: datetime) -> Ticket:
    if ticket.status in ACTIVE_STATUSES:
        return ticket
    _reopen(session, ticket, now=now)
    return _touch(session, ticket, now)


def assign(session: Session, ticket: Ticket, *, assignee_id: int | None, actor: Any, now: datetime) -> Ticket:
    """Give the ticket to an active agent, or back to the queue (None)."""
    if assignee_id is not None:
        assignee = session.get(Agent, assignee_id)
        if assignee is None or not assignee.is_active:
            raise InvalidInput(
                "Choose an active agent to assign the ticket to.",
                fields={"assignee_id": "unknown or inactive agent"},
            )
    if ticket.assignee_id == assignee_id:
        return ticket
    ticket.assignee_id = assignee_id
    ticket.assigned_at = now if assignee_id is not None else None
    return _touch(session, ticket, now)


def set_priority(
    session: Session, ticket: Ticket, *, priority: TicketPriority | str, actor: Any, now: datetime
) -> Ticket:
    new = parse_priority(priority)
    if TicketPriority(ticket.priority) == new:
        return ticket
    before = sla.targets_for(session, ticket)
    ticket.priority = new
    ticket.priority_rank = new.rank
    sla.priority_changed(session, ticket, before=before, now=now)
    return _touch(session, ticket, now)


def clean_tags(tags: list[str] | str | None) -> list[str]:
    """Trimmed, empty ones dropped, duplicates once; at most 10 of at most 32 characters."""
    if isinstance(tags, str):
        tags = tags.replace("，", ",").split(",")
    cleaned: list[str] = []
    for tag in tags or []:
        tag = str(tag).strip()
        if tag and tag not in cleaned:
            cleaned.append(tag)
    too_long = [t for t in cleaned if len(t) > MAX_TAG_LENGTH]
    if too_long:
        raise InvalidInput(
            "A tag is at most {max} characters: {tags}.",
            fields={"tags": f"≤ {MAX_TAG_LENGTH} characters"},
            max=MAX_TAG_LENGTH,
            tags=", ".join(too_long),
        )
    if len(cleaned) > MAX_TAGS:
        raise InvalidInput(
            "A ticket has at most {max} tags.", fields={"tags": f"≤ {MAX_TAGS} tags"}, max=MAX_TAGS
        )
    return cleaned


def set_tags(session: Session, ticket: Ticket, *, tags: list[str] | str, actor: Any, now: datetime) -> Ticket:
    cleaned = clean_tags(tags)
    if cleaned == list(ticket.tags or []):
        return ticket
    ticket.tags = cleaned
    return _touch(session, ticket, now)
