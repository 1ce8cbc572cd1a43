"""Conditions re-checked when a follow-up falls due. Each returns None (go ahead) or the reason to skip.

Reasons are English msgids ("already paid") shown translated on the customer's timeline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select

from app.aftersales.lifecycle import OPEN_STATES, CaseState
from app.aftersales.models import AftersalesCase
from app.customers.models import Customer
from app.followups.models import Followup, FollowupKind, FollowupStatus
from app.followups.rules import StoreFollowupSettings
from app.i18n import N_
from app.integrations.models import Store
from app.orders.lifecycle import SEQUENCE, Stage
from app.orders.models import Order
from app.presale.models import Inquiry, InquiryStatus
from app.reviews.models import CsatSurvey, Review
from app.tickets.models import MessageDirection, Ticket, TicketMessage, TicketStatus


@dataclass
class Facts:
    session: Session
    followup: Followup
    customer: Customer
    store: Store
    settings: StoreFollowupSettings
    now: datetime
    order: Order | None = None
    inquiry: Inquiry | None = None
    case: AftersalesCase | None = None
    review: Review | None = None


def _reached(order: Order, stage: Stage) -> bool:
    current = Stage(order.stage)
    return current in SEQUENCE and SEQUENCE.index(current) >= SEQUENCE.index(stage)


def _terminal(order: Order) -> str | None:
    if order.stage == Stage.cancelled:
        return N_("order cancelled")
    if order.stage == Stage.refunded:
        return N_("order refunded")
    return None


def order_unpaid(f: Facts) -> str | None:
    if f.order is None:
        return N_("order not found")
    if f.order.paid_at is not None or _reached(f.order, Stage.paid):
        return N_("already paid")
    return _terminal(f.order)


def order_active(f: Facts) -> str | None:
    return N_("order not found") if f.order is None else _terminal(f.order)


def order_not_confirmed(f: Facts) -> str | None:
    if f.order is None:
        return N_("order not found")
    if f.order.confirmed_at is not None or _reached(f.order, Stage.confirmed):
        return N_("already confirmed")
    return _terminal(f.order)


def order_not_delivered(f: Facts) -> str | None:
    if f.order is None:
        return N_("order not found")
    if f.order.delivered_at is not None or _reached(f.order, Stage.delivered):
        return N_("already delivered")
    return _terminal(f.order)


def order_not_reviewed(f: Facts) -> str | None:
    if f.order is None:
        return N_("order not found")
    if f.order.reviewed_at is not None or f.order.stage == Stage.reviewed:
        return N_("already reviewed")
    has_review = f.session.exec(select(Review.id).where(Review.order_id == f.order.id).limit(1)).first()
    if has_review is not None:
        return N_("already reviewed")
    if f.order.review_requested_at is not None or f.order.stage == Stage.review_requested:
        return N_("review already requested")
    return _terminal(f.order)


def in_review_window(f: Facts) -> str | None:
    if f.order is None or f.order.confirmed_at is None:
        return N_("not confirmed yet")
    if f.now > f.order.confirmed_at + timedelta(days=f.store.review_window_days):
        return N_("outside review window")
    return None


def not_opted_out(f: Facts) -> str | None:
    return N_("opted out") if f.customer.opted_out_at is not None else None


def marketing_consent(f: Facts) -> str | None:
    return None if f.customer.marketing_consent else N_("no marketing consent")


def within_cap(f: Facts) -> str | None:
    since = f.now - timedelta(days=f.settings.revisit_cap_days)
    query = (
        select(Followup.id)
        .where(Followup.customer_id == f.customer.id, Followup.kind == FollowupKind.revisit)
        .where(Followup.status == FollowupStatus.done, Followup.handled_at > since)
        .where(Followup.id != f.followup.id)
        .limit(1)
    )
    return N_("cap reached") if f.session.exec(query).first() is not None else None


def inquiry_still_lost(f: Facts) -> str | None:
    if f.inquiry is None:
        return N_("inquiry not found")
    return None if f.inquiry.status == InquiryStatus.lost else N_("inquiry no longer lost")


def no_order_since(f: Facts) -> str | None:
    if f.inquiry is None:
        return None
    since = f.inquiry.closed_at or f.inquiry.opened_at
    query = select(Order.id).where(Order.customer_id == f.customer.id, Order.placed_at >= since).limit(1)
    return N_("customer ordered since") if f.session.exec(query).first() is not None else None


def deadline_pending(f: Facts) -> str | None:
    """The case still waits on the deadline this follow-up watches, and it has not moved."""
    case = f.case
    if case is None:
        return N_("case not found")
    if CaseState(case.state) not in OPEN_STATES:
        return N_("case closed")
    field = f.followup.context.get("deadline_field", "respond_by_at")
    if field == "respond_by_at" and case.state != CaseState.requested:
        return N_("already answered")
    if field == "refund_by_at" and case.refunded_amount > 0 and case.state == CaseState.refunded:
        return N_("already refunded")
    current = getattr(case, field)
    if current is None or current.isoformat() != f.followup.context.get("deadline"):
        return N_("deadline changed")
    return None


def respond_by(f: Facts) -> str | None:  # marks which deadline a rule watches; checked above
    return None


refund_by = respond_by


# --- the satisfaction survey after a solved ticket (the follow-up carries the ticket's id) -------


def ticket_still_solved(f: Facts) -> str | None:
    ticket = f.session.get(Ticket, f.followup.ticket_id) if f.followup.ticket_id else None
    if ticket is None:
        return N_("ticket not found")
    if ticket.status not in (TicketStatus.solved, TicketStatus.closed):
        return N_("ticket reopened")
    return None


def survey_not_sent(f: Facts) -> str | None:
    query = select(CsatSurvey.id).where(CsatSurvey.ticket_id == f.followup.ticket_id).limit(1)
    return N_("survey already sent") if f.session.exec(query).first() is not None else None


def agent_replied(f: Facts) -> str | None:
    """Only a conversation with a person in it is rated: an automatic-only ticket gets no survey."""
    query = (
        select(TicketMessage.id)
        .where(TicketMessage.ticket_id == f.followup.ticket_id)
        .where(TicketMessage.direction == MessageDirection.outbound, TicketMessage.automated.is_(False))
        .where(TicketMessage.author_id.is_not(None))
        .limit(1)
    )
    return None if f.session.exec(query).first() is not None else N_("no agent reply to rate")

CHECKS: dict[str, Callable[[Facts], str | None]] = {
    "order_unpaid": order_unpaid,
    "order_active": order_active,
    "order_not_confirmed": order_not_confirmed,
    "order_not_delivered": order_not_delivered,
    "order_not_reviewed": order_not_reviewed,
    "in_review_window": in_review_window,
    "not_opted_out": not_opted_out,
    "marketing_consent": marketing_consent,
    "within_cap": within_cap,
    "inquiry_still_lost": inquiry_still_lost,
    "no_order_since": no_order_since,
    "deadline_pending": deadline_pending,
    "respond_by": respond_by,
    "refund_by": refund_by,
    "ticket_still_solved": ticket_still_solved,
    "survey_not_sent": survey_not_sent,
    "agent_replied": agent_replied,
}
# Always honoured, whatever a rule lists: an erased customer gets nothing; revisits are marketing.
ALWAYS: dict[FollowupKind | None, tuple[str, ...]] = {
    FollowupKind.revisit: ("marketing_consent", "not_opted_out", "within_cap"),
}


def first_failure(f: Facts, names: list[str] | tuple[str, ...]) -> str | None:
    if f.customer.erased_at is not None:
        return N_("customer erased")
    kind = FollowupKind(f.followup.kind)
    seen: set[str] = set()
    for name in (*ALWAYS.get(kind, ()), *names):
        if name in seen:
            continue
        seen.add(name)
        reason = CHECKS[name](f)
        if reason:
            return reason
    return None


def unknown_conditions(names: list[str]) -> list[str]:
    return [n for n in names if n not in CHECKS]
