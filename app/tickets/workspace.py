"""The read models of the agent desk: a queue row as the workbench shows it, and the ticket
workspace (thread, ticket panel, the buyer's whole story) composed from the domains' read
functions in a bounded number of queries, whatever the buyer's history.

It changes nothing; the actions live in tickets.service / assignment / macros.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from app.accounts.models import Agent, Team
from app.aftersales import service as aftersales
from app.aftersales.lifecycle import OPEN_STATES
from app.config import get_settings
from app.customers.masking import customer_view
from app.customers.service import get_customer
from app.errors import InvalidInput
from app.i18n import N_, gettext
from app.integrations import service as stores
from app.orders import service as orders
from app.presale import cards as inquiry_cards
from app.presale.lifecycle import ACTIVE as ACTIVE_INQUIRY
from app.reviews import service as reviews
from app.tickets import macros, service
from app.tickets.models import (
    ACTIVE_STATUSES,
    MessageDirection,
    Ticket,
    TicketKind,
    TicketMessage,
    TicketPriority,
    TicketStatus,
)
from app.web import format_duration

KIND_LABELS = {
    TicketKind.inquiry: N_("Pre-sale question"),
    TicketKind.bargaining: N_("Bargaining"),
    TicketKind.payment_reminder: N_("Payment reminder"),
    TicketKind.reassurance: N_("Post-payment reassurance"),
    TicketKind.shipping: N_("Shipping question"),
    TicketKind.confirm_nudge: N_("Confirm receipt"),
    TicketKind.review_request: N_("Review request"),
    TicketKind.review_thanks: N_("Review thanks"),
    TicketKind.bad_review: N_("Bad review"),
    TicketKind.lost_lead: N_("Lost lead"),
    TicketKind.aftersales: N_("Returns and refunds"),
    TicketKind.revisit: N_("Revisit"),
    TicketKind.buyer_message: N_("Buyer message"),
    TicketKind.other: N_("Other"),
}
STATUS_LABELS = {
    TicketStatus.open: N_("To handle"),
    TicketStatus.pending: N_("Awaiting buyer"),
    TicketStatus.snoozed: N_("Snoozed"),
    TicketStatus.solved: N_("Solved"),
    TicketStatus.closed: N_("Closed"),
}
PRIORITY_LABELS = {
    TicketPriority.low: N_("Low"),
    TicketPriority.normal: N_("Normal"),
    TicketPriority.high: N_("High"),
    TicketPriority.urgent: N_("Urgent"),
}
CHANNEL_LABELS = {
    "manual": N_("Copied by hand (recorded as sent)"),
    "webhook": N_("Send through the store's channel"),
}
SNOOZE_PRESETS = ("1h", "tomorrow_9")
PAST_TICKETS = 10
REVIEWS_SHOWN = 5


def kind_label(kind: Any) -> str:
    return gettext(KIND_LABELS.get(TicketKind(kind), N_("Other")))


def status_label(status: Any) -> str:
    return gettext(STATUS_LABELS[TicketStatus(status)])


def priority_label(priority: Any) -> str:
    return gettext(PRIORITY_LABELS[TicketPriority(priority)])


def channel_label(channel: str) -> str:
    return gettext(CHANNEL_LABELS[channel]) if channel in CHANNEL_LABELS else channel


# --- due times ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    text: str
    overdue: bool


def due_in(due_at: datetime | None, now: datetime) -> Due | None:
    """'2 hours left' or 'overdue by 3 days', in the request's locale; None without a deadline."""
    if due_at is None:
        return None
    delta = due_at - now
    amount = format_duration(delta)
    if delta.total_seconds() < 0:
        return Due(gettext("overdue by {time}").format(time=amount), True)
    return Due(gettext("{time} left").format(time=amount), False)


SLA_METRIC_LABELS = {
    "first_response": N_("First response"),
    "next_response": N_("Next response"),
    "resolution": N_("Resolution"),
}


@dataclass(frozen=True)
class DeadlineView:
    """One open SLA deadline: which, when, and how long is left (or how long it is overdue)."""

    metric: str
    due_at: datetime
    due: Due

    @property
    def label(self) -> str:
        return gettext(SLA_METRIC_LABELS[self.metric])


def deadline_views(deadlines: list[tuple[Any, datetime]], now: datetime) -> list[DeadlineView]:
    views = []
    for metric, due_at in sorted(deadlines, key=lambda item: item[1]):
        due = due_in(due_at, now)
        if due is not None:
            views.append(DeadlineView(str(getattr(metric, "value", metric)), due_at, due))
    return views


@dataclass
class RowView:
    """One queue row (tickets.queues.TicketRow) with its due times spelled out for people."""

    row: Any
    due: Due | None
    deadlines: list[DeadlineView] = field(default_factory=list)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.row, name)

    @property
    def kind_label(self) -> str:
        return kind_label(self.row.kind)

    @property
    def status_label(self) -> str:
        return status_label(self.row.status)

    @property
    def priority_label(self) -> str:
        return priority_label(self.row.priority)


def row_views(rows: list[Any], *, now: datetime) -> list[RowView]:
    return [
        RowView(row=r, due=due_in(r.due_at, now), deadlines=deadline_views(getattr(r, "deadlines", []), now))
        for r in rows
    ]


# --- snoozing ----------------------------------------------------------------------------------


def store_zone(session: Session, ticket: Ticket) -> ZoneInfo:
    """The ticket's store's time zone (Asia/Shanghai unless the store says otherwise)."""
    store = stores.get_store(session, ticket.store_id) if ticket.store_id is not None else None
    return ZoneInfo(store.timezone if store is not None else get_settings().default_timezone)


def snooze_until(*, until: str, preset: str, zone: ZoneInfo, now: datetime) -> datetime:
    """When to wake a snoozed ticket: a quick choice (1 h, tomorrow 9:00 in the store's time zone)
    or a datetime-local value in that zone. Returned in UTC; the service refuses the past."""
    if preset == "1h":
        return now + timedelta(hours=1)
    if preset == "tomorrow_9":
        tomorrow = now.astimezone(zone).date() + timedelta(days=1)
        return datetime.combine(tomorrow, time(9, 0), tzinfo=zone).astimezone(now.tzinfo)
    if preset:
        raise InvalidInput(
            "Choose one of the quick snooze times.", fields={"preset": ", ".join(SNOOZE_PRESETS)}
        )
    text = until.strip()
    if not text:
        raise InvalidInput("Choose when the ticket should come back.", fields={"until": "required"})
    try:
        local = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(
            "{value} is not a date and time.", fields={"until": "YYYY-MM-DDTHH:MM"}, value=text[:40]
        ) from exc
    if local.tzinfo is None:
        local = local.replace(tzinfo=zone)
    return local.astimezone(now.tzinfo)


def local_input_value(value: datetime, zone: ZoneInfo) -> str:
    """A datetime as an <input type="datetime-local"> value in `zone`."""
    return value.astimezone(zone).strftime("%Y-%m-%dT%H:%M")


# --- the ticket panel and the thread -------------------------------------------------------------


@dataclass
class ThreadEntry:
    message: TicketMessage
    author: str

    def __getattr__(self, name: str) -> Any:
        return getattr(self.message, name)

    @property
    def is_note(self) -> bool:
        return self.message.direction == MessageDirection.note

    @property
    def is_inbound(self) -> bool:
        return self.message.direction == MessageDirection.inbound


@dataclass
class TicketPanel:
    """The ticket's facts and what this agent may do to it."""

    ticket: Ticket
    actions: set[str]
    assignee: Agent | None
    team: Team | None
    team_agents: list[Agent]
    macros: list[Any]
    channels: list[str]
    due: Due | None
    zone: ZoneInfo
    snooze_default: str
    snooze_min: str
    # The open SLA deadlines, each with its time left; empty while the SLA clocks are paused.
    deadlines: list[DeadlineView] = field(default_factory=list)

    @property
    def sla_paused(self) -> bool:
        return self.ticket.sla_paused_at is not None and self.is_active

    @property
    def kind_label(self) -> str:
        return kind_label(self.ticket.kind)

    @property
    def status_label(self) -> str:
        return status_label(self.ticket.status)

    @property
    def priority_label(self) -> str:
        return priority_label(self.ticket.priority)

    @property
    def is_active(self) -> bool:
        return self.ticket.status in ACTIVE_STATUSES

    @property
    def priorities(self) -> list[tuple[str, str]]:
        return [(p.value, priority_label(p)) for p in TicketPriority]

    @property
    def channel_choices(self) -> list[tuple[str, str]]:
        return [(c, channel_label(c)) for c in self.channels]


def _agents_by_id(session: Session, ids: set[int]) -> dict[int, Agent]:
    if not ids:
        return {}
    return {a.id: a for a in session.exec(select(Agent).where(Agent.id.in_(ids)))}


def load_thread(session: Session, ticket: Ticket) -> list[ThreadEntry]:
    messages = service.messages_of(session, ticket.id)
    authors = _agents_by_id(session, {m.author_id for m in messages if m.author_id is not None})
    entries = []
    for m in messages:
        if m.author_id in authors:
            name = authors[m.author_id].display_name
        elif m.direction == MessageDirection.inbound:
            name = gettext("Buyer")
        else:
            name = gettext("Automation") if m.automated else gettext("System")
        entries.append(ThreadEntry(message=m, author=name))
    return entries


def team_agents(session: Session, ticket: Ticket, viewer: Agent) -> list[Agent]:
    """Whom the ticket can be handed to: the active agents of its team (or the viewer's)."""
    team_id = ticket.team_id if ticket.team_id is not None else viewer.team_id
    query = select(Agent).where(Agent.is_active == True)  # noqa: E712 - SQL comparison
    if team_id is not None:
        query = query.where(Agent.team_id == team_id)
    return list(session.exec(query.order_by(Agent.display_name, Agent.id)))


def load_panel(session: Session, ticket: Ticket, *, agent: Agent, now: datetime) -> TicketPanel:
    zone = store_zone(session, ticket)
    candidates = team_agents(session, ticket, agent)
    assignee = next((a for a in candidates if a.id == ticket.assignee_id), None)
    if assignee is None and ticket.assignee_id is not None:
        assignee = session.get(Agent, ticket.assignee_id)
    return TicketPanel(
        ticket=ticket,
        actions=service.allowed_actions(ticket, agent),
        assignee=assignee,
        team=session.get(Team, ticket.team_id) if ticket.team_id is not None else None,
        team_agents=candidates,
        macros=macros.list_macros(session, agent=agent),
        channels=service.available_channels(session, ticket),
        due=due_in(ticket.due_at, now),
        zone=zone,
        snooze_default=local_input_value(now + timedelta(hours=1), zone),
        snooze_min=local_input_value(now, zone),
        deadlines=_open_deadlines(ticket, now),
    )


def _open_deadlines(ticket: Ticket, now: datetime) -> list[DeadlineView]:
    from app.tickets.sla import open_deadlines_by_metric

    if ticket.status not in ACTIVE_STATUSES or ticket.sla_paused_at is not None:
        return []
    return deadline_views(open_deadlines_by_metric(ticket), now)


# --- the buyer's story -------------------------------------------------------------------------


@dataclass
class Story:
    """Beside the thread: who the buyer is and everything they have with the shop.

    The buyer's other orders and other inquiries are only counted here: the page shows them in
    closed sections whose cards load when the agent opens one (`other_orders`, `other_inquiries`),
    so a buyer with a long history costs the workspace one row per order, not a card."""

    customer: Any | None = None
    order: Any | None = None  # the ticket's order (or the buyer's latest active one), with its lifecycle
    other_order_count: int = 0
    inquiry: Any | None = None  # the ticket's inquiry (or the buyer's active one), with bargaining
    other_inquiry_count: int = 0
    case: Any | None = None  # the ticket's case (or the buyer's first open one), with its actions
    case_history: list[Any] = field(default_factory=list)
    case_approvals: list[Any] = field(default_factory=list)
    open_cases: list[Any] = field(default_factory=list)
    closed_cases: list[Any] = field(default_factory=list)
    reviews: list[Any] = field(default_factory=list)
    past_tickets: list[RowView] = field(default_factory=list)


def _pick(items: list[Any], wanted_id: int | None, key: Any, fallback: Any = None) -> tuple[Any, list[Any]]:
    chosen = next((i for i in items if key(i) == wanted_id), None) if wanted_id is not None else None
    if chosen is None and fallback is not None:
        chosen = next((i for i in items if fallback(i)), None)
    return chosen, [i for i in items if i is not chosen]


def _orders(session: Session, ticket: Ticket, customer_id: int) -> tuple[Any, list[Any]]:
    """The buyer's orders split into the one the workspace focuses on and the others. Without an
    order of its own, the ticket shows the buyer's latest order still under way."""
    return _pick(
        orders.orders_for_customer(session, customer_id),
        ticket.order_id,
        lambda o: o.id,
        lambda o: bool(orders.OrderCard(order=o).allowed_next),
    )


def _inquiries(session: Session, ticket: Ticket, customer_id: int) -> tuple[Any, list[Any]]:
    """The ticket's inquiry (or the buyer's active one) and the buyer's others."""
    return _pick(
        inquiry_cards.inquiries_for_customer(session, customer_id),
        ticket.inquiry_id,
        lambda i: i.id,
        lambda i: i.status in ACTIVE_INQUIRY,
    )


def load_story(session: Session, ticket: Ticket, *, agent: Agent, now: datetime) -> Story:
    """Five domains' read models, each a fixed number of queries (no query per order, round or
    case); cards only for what the workspace focuses on."""
    if ticket.customer_id is None:
        return Story()
    customer = get_customer(session, ticket.customer_id)
    if customer is None:
        return Story()
    order, more_orders = _orders(session, ticket, customer.id)
    inquiry, more_inquiries = _inquiries(session, ticket, customer.id)
    case, other_cases = _pick(
        aftersales.cases_for_customer(session, customer.id, now=now),
        ticket.case_id,
        lambda c: c.id,
        lambda c: c.state in OPEN_STATES,
    )
    return Story(
        customer=customer_view(customer, agent),
        order=orders.order_cards(session, [order])[0] if order is not None else None,
        other_order_count=len(more_orders),
        inquiry=inquiry_cards.build_cards(session, [inquiry])[0] if inquiry is not None else None,
        other_inquiry_count=len(more_inquiries),
        case=case,
        case_history=aftersales.history_for(session, case.id) if case is not None else [],
        case_approvals=aftersales.approvals_for(session, case.id) if case is not None else [],
        open_cases=[c for c in other_cases if c.state in OPEN_STATES],
        closed_cases=[c for c in other_cases if c.state not in OPEN_STATES],
        reviews=reviews.reviews_for_customer(session, customer.id, limit=REVIEWS_SHOWN),
        past_tickets=[
            RowView(row=t, due=None)
            for t in service.past_tickets(
                session, customer_id=customer.id, exclude_id=ticket.id, limit=PAST_TICKETS
            )
        ],
    )


def other_orders(session: Session, ticket: Ticket) -> list[Any]:
    """The cards of the buyer's orders the workspace does not focus on (its closed section)."""
    if ticket.customer_id is None:
        return []
    return orders.order_cards(session, _orders(session, ticket, ticket.customer_id)[1])


def other_inquiries(session: Session, ticket: Ticket) -> list[Any]:
    """The cards of the buyer's inquiries the workspace does not focus on (its closed section)."""
    if ticket.customer_id is None:
        return []
    return inquiry_cards.build_cards(session, _inquiries(session, ticket, ticket.customer_id)[1])


@dataclass
class Workspace:
    panel: TicketPanel
    thread: list[ThreadEntry]
    story: Story

    @property
    def ticket(self) -> Ticket:
        return self.panel.ticket


def load_workspace(session: Session, ticket_id: int, *, agent: Agent, now: datetime) -> Workspace:
    ticket = service.require_ticket(session, ticket_id)
    return Workspace(
        panel=load_panel(session, ticket, agent=agent, now=now),
        thread=load_thread(session, ticket),
        story=load_story(session, ticket, agent=agent, now=now),
    )
