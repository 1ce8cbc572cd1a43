"""Scheduling: a lifecycle event becomes follow-up rows (due times, quiet hours, once-only keys).

The subscribers here are named in app.events.SUBSCRIBERS and run inside the emitter's transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from app.aftersales.lifecycle import CaseState
from app.aftersales.models import AftersalesCase
from app.followups import quiet
from app.followups.models import Action, Followup, FollowupKind, FollowupRule, FollowupStatus, Trigger
from app.followups.rules import rules_for, settings_for
from app.integrations.models import Store
from app.orders.lifecycle import Stage
from app.orders.models import Order, Shipment
from app.presale.models import Inquiry, InquiryStatus
from app.reviews.models import Review

STAGE_TRIGGERS: dict[Stage, Trigger] = {
    Stage.paid: Trigger.order_paid,
    Stage.shipped: Trigger.order_shipped,
    Stage.delivered: Trigger.order_delivered,
    Stage.confirmed: Trigger.order_confirmed,
}
# Escalation of after-sales deadlines: warn at the rule's lead time, again 2 h before, and when due.
ESCALATION_STEPS = (timedelta(hours=2), timedelta(0))


def insert_followups(session: Session, rows: list[dict[str, Any]]) -> int:
    """Insert follow-up rows; a row whose dedupe key exists already is left alone. Returns inserted."""
    if not rows:
        return 0
    table = Followup.__table__
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    statement = insert.on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(table.c.id)
    # RETURNING counts what was inserted on every engine (executemany rowcounts are not reliable).
    return len(session.execute(statement, rows).all())


def due_for_auto(session: Session, store: Store, due: datetime) -> datetime:
    settings = settings_for(session, store)
    return quiet.next_allowed(due, tz=store.timezone, start=settings.quiet_start, end=settings.quiet_end)


def row_for(
    rule: FollowupRule,
    *,
    store_id: int,
    customer_id: int,
    due_at: datetime,
    key: str,
    now: datetime,
    order_id: int | None = None,
    inquiry_id: int | None = None,
    case_id: int | None = None,
    review_id: int | None = None,
    context: dict[str, Any] | None = None,
    priority: str | None = None,
) -> dict[str, Any]:
    return {
        "dedupe_key": key[:128],
        "kind": FollowupKind(rule.kind).value,
        "trigger": Trigger(rule.trigger).value,
        "rule_id": rule.id,
        "plan_id": None,
        "store_id": store_id,
        "customer_id": customer_id,
        "order_id": order_id,
        "inquiry_id": inquiry_id,
        "case_id": case_id,
        "review_id": review_id,
        "category": rule.category,
        "action": Action(rule.action).value,
        "priority": priority or rule.priority,
        "due_at": due_at,
        "status": FollowupStatus.pending.value,
        "reason": "",
        "message": "",
        "context": context or {},
        "attempts": 0,
        "last_error": "",
        "created_at": now,
    }


def _key(rule: FollowupRule, subject: str, event_key: str | None) -> str:
    return f"r{rule.id}:{subject}" if rule.once or not event_key else f"r{rule.id}:{subject}:{event_key}"


def _due(session: Session, rule: FollowupRule, store: Store, anchor: datetime) -> datetime:
    if rule.delay_minutes is None:  # the store's setting (shipping exceptions)
        due = anchor + timedelta(days=store.shipping_exception_days)
    else:
        due = anchor + timedelta(minutes=rule.delay_minutes)
    return due_for_auto(session, store, due) if rule.action == Action.auto else due


def _rows(
    session: Session,
    rules: list[FollowupRule],
    *,
    store_id: int,
    customer_id: int,
    subject: str,
    anchor: datetime,
    now: datetime,
    event_key: str | None = None,
    **links: int | None,
) -> list[dict[str, Any]]:
    """One pending follow-up per rule, due its delay after `anchor`, keyed on `subject`."""
    store = session.get(Store, store_id)
    return [
        row_for(
            rule,
            store_id=store_id,
            customer_id=customer_id,
            due_at=_due(session, rule, store, anchor),
            key=_key(rule, subject, event_key),
            now=now,
            **links,
        )
        for rule in rules
    ]


def _schedule_order(
    session: Session,
    trigger: Trigger,
    order: Order,
    anchor: datetime,
    now: datetime,
    event_key: str | None = None,
) -> int:
    rows = _rows(
        session,
        rules_for(session, trigger, now=now),
        store_id=order.store_id,
        customer_id=order.customer_id,
        subject=f"o{order.id}",
        anchor=anchor,
        now=now,
        event_key=event_key,
        order_id=order.id,
    )
    return insert_followups(session, rows)


# --- subscribers (app.events) ------------------------------------------------------------------


def on_order_created(session: Session, *, now: datetime, order: Order, **_: Any) -> None:
    _schedule_order(session, Trigger.order_created, order, order.placed_at, now)


def on_order_stage_changed(
    session: Session, *, now: datetime, order: Order, to_stage: Stage | str, **_: Any
) -> None:
    trigger = STAGE_TRIGGERS.get(Stage(to_stage))
    if trigger is None:
        return
    stamp = {
        Trigger.order_paid: order.paid_at,
        Trigger.order_shipped: order.shipped_at,
        Trigger.order_delivered: order.delivered_at,
        Trigger.order_confirmed: order.confirmed_at,
    }[trigger]
    _schedule_order(session, trigger, order, stamp or now, now)


def on_shipment_exception(
    session: Session, *, now: datetime, order: Order, shipment: Shipment | None = None, **_: Any
) -> None:
    status = getattr(shipment, "carrier_status", "") or "exception"
    event_key = f"s{getattr(shipment, 'id', 0)}:{status}:{now:%Y%m%d%H%M}"
    _schedule_order(session, Trigger.shipment_exception, order, now, now, event_key=event_key)


def on_review_posted(session: Session, *, now: datetime, review: Review, **_: Any) -> None:
    rules = [
        rule
        for rule in rules_for(session, Trigger.review_posted, now=now)
        if not (rule.kind == FollowupKind.review_thanks and review.rating < 4)
        and not (rule.kind == FollowupKind.bad_review and review.rating > 2)
    ]
    rows = _rows(
        session,
        rules,
        store_id=review.store_id,
        customer_id=review.customer_id,
        subject=f"v{review.id}",
        anchor=now,
        now=now,
        order_id=review.order_id,
        review_id=review.id,
    )
    insert_followups(session, rows)


def on_inquiry_closed(session: Session, *, now: datetime, inquiry: Inquiry, **_: Any) -> None:
    if inquiry.status != InquiryStatus.lost:
        return
    rows = _rows(
        session,
        rules_for(session, Trigger.inquiry_lost, now=now),
        store_id=inquiry.store_id,
        customer_id=inquiry.customer_id,
        subject=f"i{inquiry.id}",
        anchor=inquiry.closed_at or now,
        now=now,
        inquiry_id=inquiry.id,
    )
    insert_followups(session, rows)


def deadline_rows(
    session: Session, rule: FollowupRule, case: AftersalesCase, *, now: datetime, step: int | None = None
) -> list[dict[str, Any]]:
    """One escalation step of a deadline rule: the first due (or the latest already passed, at
    once) when `step` is None, else that step. Each step has its own once-only key."""
    field = "respond_by_at" if "respond_by" in rule.conditions else "refund_by_at"
    deadline = getattr(case, field)
    if deadline is None or (field == "respond_by_at" and case.state != CaseState.requested):
        return []
    lead = timedelta(minutes=rule.delay_minutes or 0)
    steps = sorted({deadline - lead, *(deadline - s for s in ESCALATION_STEPS)})
    if step is None:
        passed = [i for i, at in enumerate(steps) if at <= now]
        step = passed[-1] if passed else 0
        due = max(steps[step], now)
    elif step < len(steps):
        due = steps[step]
    else:
        return []
    return [
        row_for(
            rule,
            store_id=case.store_id,
            customer_id=case.customer_id,
            order_id=case.order_id,
            case_id=case.id,
            due_at=due,
            key=f"r{rule.id}:c{case.id}:{field}:{deadline:%Y%m%d%H%M}:{step}",
            now=now,
            context={"deadline_field": field, "deadline": deadline.isoformat(), "step": step},
        )
    ]


def on_case_changed(
    session: Session,
    *,
    now: datetime,
    case: AftersalesCase,
    from_state: Any = None,
    to_state: Any = None,
    **_: Any,
) -> None:
    opened = from_state is None
    closed = to_state is not None and CaseState(to_state) == CaseState.closed
    triggers = [Trigger.case_opened] if opened else []
    triggers += [Trigger.case_closed] if closed else [Trigger.case_updated]
    rows: list[dict[str, Any]] = []
    for trigger in triggers:
        for rule in rules_for(session, trigger, now=now):
            if rule.kind == FollowupKind.aftersales_deadline:
                rows += deadline_rows(session, rule, case, now=now)
            elif rule.kind == FollowupKind.care:
                rows += _rows(
                    session,
                    [rule],
                    store_id=case.store_id,
                    customer_id=case.customer_id,
                    subject=f"c{case.id}",
                    anchor=now,
                    now=now,
                    event_key=trigger.value,
                    order_id=case.order_id,
                    case_id=case.id,
                )
    # A case opened with both deadlines set: the refund-by rule watches it from the start.
    if opened:
        for rule in rules_for(session, Trigger.case_updated, now=now):
            if rule.kind == FollowupKind.aftersales_deadline and case.refund_by_at is not None:
                rows += deadline_rows(session, rule, case, now=now)
    insert_followups(session, rows)


def on_ticket_solved(session: Session, *, now: datetime, ticket: Any, **_: Any) -> None:
    if getattr(ticket, "customer_id", None) is None:
        return
    from app.customers.models import Customer

    customer = session.get(Customer, ticket.customer_id)
    solved_at = getattr(ticket, "solved_at", None) or now
    rows = _rows(
        session,
        rules_for(session, Trigger.ticket_solved, now=now),
        store_id=customer.store_id,
        customer_id=customer.id,
        subject=f"t{ticket.id}",
        anchor=now,
        now=now,
        # Rules that are not once-only fire once per solve (a reopened ticket solved again).
        event_key=f"{solved_at:%Y%m%d%H%M%S}",
        order_id=getattr(ticket, "order_id", None),
    )
    for row in rows:  # the follow-up is about this ticket (the survey rates it)
        row["ticket_id"] = ticket.id
    insert_followups(session, rows)


# --- backfill (demo seed, benchmark, a newly enabled rule) ---------------------------------------

ORDER_STAMPS: dict[Trigger, str] = {
    Trigger.order_created: "placed_at",
    Trigger.order_paid: "paid_at",
    Trigger.order_shipped: "shipped_at",
    Trigger.order_delivered: "delivered_at",
    Trigger.order_confirmed: "confirmed_at",
}


def backfill_orders(session: Session, *, order_ids: list[int], now: datetime, chunk: int = 2_000) -> int:
    """Schedule the order rules' follow-ups for existing orders, from the times their stages were
    reached (once-only keys: running it again adds nothing). Returns how many were created."""
    from app.followups.rules import settings_for as store_settings

    rules = {t: rules_for(session, t, now=now) for t in ORDER_STAMPS}
    stores = {s.id: s for s in session.exec(select(Store))}
    quiet_of = {sid: store_settings(session, s) for sid, s in stores.items()}
    table = Order.__table__
    columns = [
        table.c.id,
        table.c.store_id,
        table.c.customer_id,
        *(table.c[c] for c in ORDER_STAMPS.values()),
    ]
    created = 0
    for start in range(0, len(order_ids), chunk):
        ids = order_ids[start : start + chunk]
        rows: list[dict[str, Any]] = []
        for record in session.execute(sa_select(*columns).where(table.c.id.in_(ids))).mappings():
            store = stores[record["store_id"]]
            for trigger, stamp in ORDER_STAMPS.items():
                anchor = record[stamp]
                if anchor is None:
                    continue
                for rule in rules[trigger]:
                    if rule.delay_minutes is None:
                        due = anchor + timedelta(days=store.shipping_exception_days)
                    else:
                        due = anchor + timedelta(minutes=rule.delay_minutes)
                    if rule.action == Action.auto:
                        s = quiet_of[store.id]
                        due = quiet.next_allowed(due, tz=store.timezone, start=s.quiet_start, end=s.quiet_end)
                    rows.append(
                        row_for(
                            rule,
                            store_id=record["store_id"],
                            customer_id=record["customer_id"],
                            order_id=record["id"],
                            due_at=due,
                            key=f"r{rule.id}:o{record['id']}",
                            now=now,
                        )
                    )
        for i in range(0, len(rows), 1_000):
            created += insert_followups(session, rows[i : i + 1_000])
    return created
