"""Handling a due follow-up: re-check its conditions, act (task or automatic message), record the outcome.

The worker (jobs.py) calls `handle` inside the transaction that also marks the row done, so an
action and its record commit together or not at all.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from app.aftersales.models import AftersalesCase
from app.audit.service import SYSTEM
from app.catalog.models import Product
from app.customers.models import Customer
from app.followups import quiet
from app.followups.conditions import Facts, first_failure
from app.followups.models import (
    Action,
    Followup,
    FollowupKind,
    FollowupRule,
    FollowupStatus,
    Outcome,
    RevisitPlan,
)
from app.followups.rules import KIND_LABELS, StoreFollowupSettings, settings_for
from app.i18n import N_
from app.integrations.models import Store
from app.orders.lifecycle import Stage
from app.orders.models import Order, OrderItem, Shipment
from app.phrasing.categories import require_category as _category
from app.phrasing.render import render_for_category
from app.presale.models import Inquiry
from app.reviews.models import Review
from app.tickets import service as tickets
from app.tickets.models import TicketKind, TicketPriority

TICKET_KIND: dict[FollowupKind, TicketKind] = {
    FollowupKind.payment_reminder: TicketKind.payment_reminder,
    FollowupKind.reassurance: TicketKind.reassurance,
    FollowupKind.shipping_notice: TicketKind.shipping,
    FollowupKind.confirm_nudge: TicketKind.confirm_nudge,
    FollowupKind.review_request: TicketKind.review_request,
    FollowupKind.review_thanks: TicketKind.review_thanks,
    FollowupKind.bad_review: TicketKind.bad_review,
    FollowupKind.lost_lead: TicketKind.lost_lead,
    FollowupKind.shipping_exception: TicketKind.shipping,
    FollowupKind.aftersales_deadline: TicketKind.aftersales,
    FollowupKind.care: TicketKind.other,
    FollowupKind.revisit: TicketKind.revisit,
}
# The agent queue (team) a task lands in.
TEAM: dict[FollowupKind, str] = {
    FollowupKind.payment_reminder: "售前",
    FollowupKind.lost_lead: "售前",
    FollowupKind.shipping_exception: "物流跟踪",
    FollowupKind.revisit: "回访",
}
DEFAULT_TEAM = "售后"
OUTBOUND_EVENT = "message.outbound"


@dataclass
class Batch:
    """Per-batch caches, so a thousand follow-ups do not re-read the same rule or store."""

    settings: dict[int, StoreFollowupSettings] = field(default_factory=dict)
    rules: dict[int, FollowupRule | None] = field(default_factory=dict)
    plans: dict[int, RevisitPlan | None] = field(default_factory=dict)
    outbound: Any = None
    outbound_checked: bool = False
    # Rows loaded ahead for the batch: held here so the identity map keeps them.
    keep: list[Any] = field(default_factory=list)

    def settings_for(self, session: Session, store: Store) -> StoreFollowupSettings:
        if store.id not in self.settings:
            self.settings[store.id] = settings_for(session, store)
        return self.settings[store.id]

    def rule(self, session: Session, rule_id: int) -> FollowupRule | None:
        if rule_id not in self.rules:
            self.rules[rule_id] = session.get(FollowupRule, rule_id)
        return self.rules[rule_id]

    def plan(self, session: Session, plan_id: int) -> RevisitPlan | None:
        if plan_id not in self.plans:
            self.plans[plan_id] = session.get(RevisitPlan, plan_id)
        return self.plans[plan_id]

    def outbound_module(self) -> Any:
        # The integrations issue's outbox; until it exists, automatic messages are recorded as queued.
        if not self.outbound_checked:
            self.outbound_checked = True
            if importlib.util.find_spec("app.integrations.outbound") is not None:
                self.outbound = importlib.import_module("app.integrations.outbound")
        return self.outbound


def _facts(session: Session, followup: Followup, batch: Batch, now: datetime) -> Facts:
    customer = session.get(Customer, followup.customer_id)
    store = session.get(Store, followup.store_id)
    return Facts(
        session=session,
        followup=followup,
        customer=customer,
        store=store,
        settings=batch.settings_for(session, store),
        now=now,
        order=session.get(Order, followup.order_id) if followup.order_id else None,
        inquiry=session.get(Inquiry, followup.inquiry_id) if followup.inquiry_id else None,
        case=session.get(AftersalesCase, followup.case_id) if followup.case_id else None,
        review=session.get(Review, followup.review_id) if followup.review_id else None,
    )


def _conditions(session: Session, followup: Followup, batch: Batch) -> tuple[list[str], str | None]:
    """The rule's (or plan's) conditions, or why the follow-up no longer applies at all."""
    if followup.rule_id is not None:
        rule = batch.rule(session, followup.rule_id)
        if rule is None or not rule.enabled:
            return [], N_("rule switched off")
        return list(rule.conditions), None
    if followup.plan_id is not None:
        plan = batch.plan(session, followup.plan_id)
        if plan is None or not plan.enabled:
            return [], N_("plan switched off")
        return [], None
    if followup.kind == FollowupKind.revisit:
        return [], N_("plan switched off")
    return [], N_("rule switched off")


def deadline_priority(deadline: datetime, now: datetime) -> TicketPriority:
    """Priority rises as an after-sales deadline approaches and passes."""
    left = deadline - now
    if left <= timedelta(hours=2):
        return TicketPriority.urgent
    if left <= timedelta(hours=12):
        return TicketPriority.high
    return TicketPriority.normal


def _variables(session: Session, f: Facts) -> dict[str, Any]:
    values: dict[str, Any] = {
        "customer_name": f.customer.nickname or f.customer.name,
        "store_name": f.store.name,
        "holiday": f.followup.context.get("holiday", ""),
    }
    if f.order is not None:
        values["order_number"] = f.order.number
    if f.order is not None and "{carrier}" in category_text(f.followup.category):
        shipment = session.exec(
            select(Shipment).where(Shipment.order_id == f.order.id).order_by(Shipment.id.desc())
        ).first()
        if shipment is not None:
            values["carrier"] = shipment.carrier
            values["tracking_number"] = shipment.tracking_number
    if f.followup.category == "revisit_care":
        tips = session.exec(
            select(Product.care_tips)
            .join(OrderItem, OrderItem.product_id == Product.id)
            .join(Order, Order.id == OrderItem.order_id)
            .where(Order.customer_id == f.customer.id, Product.care_tips != "")
            .order_by(Order.placed_at.desc())
        ).first()
        values["care_tips"] = tips or ""
    return values


def category_text(key: str) -> str:
    return _category(key).default_text


def _subject(followup: Followup, f: Facts) -> str:
    label = KIND_LABELS[FollowupKind(followup.kind)]
    who = f.customer.nickname or f"#{f.customer.id}"
    target = f" · {f.order.number}" if f.order is not None else ""
    return f"{label} · {who}{target}"


def _skip(followup: Followup, reason: str, now: datetime) -> None:
    followup.status = FollowupStatus.skipped
    followup.outcome = Outcome.skipped
    followup.reason = reason[:255]
    followup.handled_at = now
    followup.claim_token = None
    followup.claimed_until = None


def handle(session: Session, followup: Followup, *, now: datetime, batch: Batch | None = None) -> Followup:
    """Re-check, act once, record. A follow-up already handled is left alone."""
    batch = batch or Batch()
    if followup.status != FollowupStatus.pending:
        return followup
    names, off = _conditions(session, followup, batch)
    if off:
        _skip(followup, off, now)
        session.add(followup)
        return followup
    facts = _facts(session, followup, batch, now)
    reason = first_failure(facts, names)
    if reason:
        _skip(followup, reason, now)
        session.add(followup)
        return followup
    if followup.action == Action.auto:
        allowed = quiet.next_allowed(
            now, tz=facts.store.timezone, start=facts.settings.quiet_start, end=facts.settings.quiet_end
        )
        if allowed > now:  # quiet hours: wait for the next allowed minute, still pending
            followup.due_at = allowed
            followup.claim_token = None
            followup.claimed_until = None
            session.add(followup)
            return followup
    if followup.kind == FollowupKind.csat_survey:
        return _invite_to_survey(session, followup, facts, batch, now)
    variables = _variables(session, facts)
    text = render_for_category(session, followup.category, variables, store_id=followup.store_id)
    followup.message = text
    if followup.action == Action.task:
        _open_task(session, followup, facts, text, now)
    else:
        followup.outcome = _send(session, followup, facts, text, batch, now)
    followup.status = FollowupStatus.done
    followup.handled_at = now
    followup.claim_token = None
    followup.claimed_until = None
    session.add(followup)
    _after(session, followup, facts, now)
    return followup


def _open_task(session: Session, followup: Followup, f: Facts, text: str, now: datetime) -> None:
    priority = (
        TicketPriority(followup.priority)
        if followup.priority in TicketPriority.__members__
        else TicketPriority.normal
    )
    due_at = None
    if followup.kind == FollowupKind.aftersales_deadline:
        deadline = datetime.fromisoformat(followup.context["deadline"])
        escalated = deadline_priority(deadline, now)
        priority = max(priority, escalated, key=lambda p: p.rank)
        due_at = deadline
        followup.priority = priority.value
    ticket = tickets.open_task(
        session,
        kind=TICKET_KIND[FollowupKind(followup.kind)],
        customer_id=followup.customer_id,
        subject=_subject(followup, f),
        body=text,
        priority=priority,
        now=now,
        order_id=followup.order_id,
        inquiry_id=followup.inquiry_id,
        case_id=followup.case_id,
        review_id=followup.review_id,
        team=TEAM.get(FollowupKind(followup.kind), DEFAULT_TEAM),
        due_at=due_at,
    )
    followup.ticket_id = ticket.id
    followup.outcome = Outcome.task_created


def _send(session: Session, followup: Followup, f: Facts, text: str, batch: Batch, now: datetime) -> Outcome:
    outbound = batch.outbound_module()
    if outbound is None:
        return Outcome.queued
    payload = {
        # The receiver deduplicates on this: one follow-up is one message, however often retried.
        "idempotency_key": f"followup-{followup.id}",
        "followup_id": followup.id,
        "kind": FollowupKind(followup.kind).value,
        "category": followup.category,
        "store_id": followup.store_id,
        "customer_id": followup.customer_id,
        "customer_external_id": f.customer.external_id,
        "order_id": followup.order_id,
        "order_external_id": f.order.external_id if f.order is not None else None,
        "text": text,
    }
    # None: no channel subscribes to message.outbound yet; the message stays queued on the follow-up.
    message = outbound.enqueue(session, event_type=OUTBOUND_EVENT, payload=payload, now=now)
    return Outcome.sent if message is not None else Outcome.queued


def _invite_to_survey(
    session: Session, followup: Followup, f: Facts, batch: Batch, now: datetime
) -> Followup:
    """The CSAT survey: create it, send the invitation with its signed link, note it on the ticket."""
    from app.reviews import surveys
    from app.tickets.models import Ticket

    ticket = session.get(Ticket, followup.ticket_id)
    survey, text = surveys.invite(
        session, ticket=ticket, store=f.store, customer=f.customer, days=f.settings.csat_expiry_days, now=now
    )
    followup.message = text
    followup.outcome = _send(session, followup, f, text, batch, now)
    surveys.note_invitation(session, ticket, survey, sent=followup.outcome == Outcome.sent, now=now)
    followup.status = FollowupStatus.done
    followup.handled_at = now
    followup.claim_token = None
    followup.claimed_until = None
    session.add(followup)
    return followup


def _after(session: Session, followup: Followup, f: Facts, now: datetime) -> None:
    """What a handled follow-up moves on: the order's stage, the next escalation step."""
    if followup.kind == FollowupKind.review_request and f.order is not None:
        from app.orders import service as orders

        if f.order.stage == Stage.confirmed:
            orders.advance(
                session,
                f.order,
                to=Stage.review_requested,
                actor=SYSTEM,
                now=now,
                reason="review requested by follow-up",
            )
    elif followup.kind == FollowupKind.aftersales_deadline and f.case is not None and followup.rule_id:
        from app.followups.schedule import deadline_rows, insert_followups

        rule = session.get(FollowupRule, followup.rule_id)
        step = int(followup.context.get("step", 0)) + 1
        insert_followups(session, deadline_rows(session, rule, f.case, now=now, step=step))
