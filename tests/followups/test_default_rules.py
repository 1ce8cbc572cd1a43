"""Time travel through every default rule: it fires, it skips when its condition no longer holds,
automatic messages wait out quiet hours, opted-out buyers get no marketing-like touches."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from app.audit.service import STOREFRONT
from app.customers.models import Customer
from app.events import emit
from app.followups.models import FollowupKind, FollowupStatus, Outcome
from app.orders import service as orders
from app.orders import shipping
from app.orders.lifecycle import Stage
from app.reviews.models import Grade, Review
from app.tickets.models import Ticket, TicketKind, TicketMessage, TicketPriority
from tests.factories import T0, count, make_customer, make_store, make_team
from tests.followups.helpers import followups, one, run_at
from tests.orders.helpers import make_order

MIN = timedelta(minutes=1)
DAY = timedelta(days=1)


def _advance(db, order, to, at):
    return orders.advance(db, order, to=to, actor=STOREFRONT, now=at)


# --- 催付 payment reminder -----------------------------------------------------------------------


def test_payment_reminder_becomes_a_task_after_30_minutes(db):
    order = make_order(db)
    reminder = one(db, FollowupKind.payment_reminder, order_id=order.id)
    assert reminder.due_at == T0 + 30 * MIN
    assert run_at(db, T0 + 29 * MIN) == 0
    run_at(db, T0 + 30 * MIN)
    db.refresh(reminder)
    assert (reminder.status, reminder.outcome) == (FollowupStatus.done, Outcome.task_created)
    ticket = db.get(Ticket, reminder.ticket_id)
    assert ticket.kind == TicketKind.payment_reminder and ticket.order_id == order.id
    note = db.exec(select(TicketMessage).where(TicketMessage.ticket_id == ticket.id)).one()
    assert order.number in note.body


def test_payment_reminder_skips_an_order_paid_meanwhile(db):
    order = make_order(db)
    _advance(db, order, Stage.paid, T0 + 10 * MIN)
    run_at(db, T0 + 31 * MIN)
    reminder = one(db, FollowupKind.payment_reminder, order_id=order.id)
    assert (reminder.status, reminder.reason) == (FollowupStatus.skipped, "already paid")
    assert count(db, Ticket, order_id=order.id) == 0


def test_payment_reminder_runs_once_even_if_the_event_repeats(db):
    from app.followups.schedule import on_order_created

    order = make_order(db)
    on_order_created(db, now=T0 + MIN, order=order)
    assert len(followups(db, kind=FollowupKind.payment_reminder, order_id=order.id)) == 1
    run_at(db, T0 + 31 * MIN)
    assert run_at(db, T0 + 40 * MIN) == 0
    assert count(db, TicketMessage) == 1


# --- 付款后安抚 reassurance ----------------------------------------------------------------------


def test_reassurance_is_sent_at_once_when_paid(db):
    order = make_order(db, stage=Stage.paid)
    run_at(db, T0)
    note = one(db, FollowupKind.reassurance, order_id=order.id)
    assert note.status == FollowupStatus.done
    # No channel subscribes to message.outbound here: the message is recorded as queued.
    assert note.outcome == Outcome.queued
    assert order.number in note.message


def test_reassurance_goes_to_the_outbox_with_an_idempotency_key(db):
    from app.integrations import outbound
    from app.integrations.models import OutboxMessage

    outbound.create_subscription(
        db, url="https://shop.example.cn/hooks", event_types=["message.outbound"], now=T0
    )
    order = make_order(db, stage=Stage.paid)
    run_at(db, T0)
    note = one(db, FollowupKind.reassurance, order_id=order.id)
    assert note.outcome == Outcome.sent
    message = db.exec(select(OutboxMessage).where(OutboxMessage.event_type == "message.outbound")).one()
    assert message.payload["idempotency_key"] == f"followup-{note.id}"
    assert message.payload["order_id"] == order.id


def test_reassurance_paid_at_night_waits_for_the_end_of_quiet_hours(db):
    order = make_order(db)
    night = datetime(2026, 11, 11, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai
    _advance(db, order, Stage.paid, night)
    note = one(db, FollowupKind.reassurance, order_id=order.id)
    morning = datetime(2026, 11, 12, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
    assert note.due_at == morning
    run_at(db, night + MIN)
    db.refresh(note)
    assert note.status == FollowupStatus.pending
    run_at(db, morning)
    db.refresh(note)
    assert note.status == FollowupStatus.done


def test_auto_message_due_in_quiet_hours_is_postponed_not_sent(db):
    order = make_order(db, stage=Stage.paid)
    note = one(db, FollowupKind.reassurance, order_id=order.id)
    late = datetime(2026, 11, 11, 14, 30, tzinfo=UTC)  # the worker was down until 22:30 local
    run_at(db, late)
    db.refresh(note)
    assert note.status == FollowupStatus.pending
    assert note.due_at == datetime(2026, 11, 12, 0, 0, tzinfo=UTC)


def test_reassurance_skips_a_cancelled_order(db):
    order = make_order(db, stage=Stage.paid)
    _advance(db, order, Stage.cancelled, T0)
    run_at(db, T0 + MIN)
    assert one(db, FollowupKind.reassurance, order_id=order.id).reason == "order cancelled"


# --- 发货通知 shipping notice -------------------------------------------------------------------


def test_shipping_notice_carries_carrier_and_tracking_number(db):
    order = make_order(db, stage=Stage.paid)
    shipping.add_shipment(
        db, order, carrier="顺丰速运", tracking_number="SF1234567890", actor=STOREFRONT, now=T0
    )
    run_at(db, T0)
    notice = one(db, FollowupKind.shipping_notice, order_id=order.id)
    assert notice.status == FollowupStatus.done
    assert "顺丰速运" in notice.message and "SF1234567890" in notice.message


# --- 确认收货提醒 confirm nudge ------------------------------------------------------------------


def test_confirm_nudge_after_one_day_delivered(db):
    order = make_order(db, stage=Stage.delivered)
    assert run_at(db, T0 + DAY - MIN) >= 0
    nudge = one(db, FollowupKind.confirm_nudge, order_id=order.id)
    assert nudge.status == FollowupStatus.pending
    run_at(db, T0 + DAY)
    db.refresh(nudge)
    assert nudge.outcome == Outcome.task_created
    assert db.get(Ticket, nudge.ticket_id).kind == TicketKind.confirm_nudge


def test_confirm_nudge_skips_when_already_confirmed(db):
    order = make_order(db, stage=Stage.delivered)
    _advance(db, order, Stage.confirmed, T0 + 2 * 60 * MIN)
    run_at(db, T0 + DAY)
    assert one(db, FollowupKind.confirm_nudge, order_id=order.id).reason == "already confirmed"


# --- 邀评 review request ------------------------------------------------------------------------


def test_review_request_after_a_day_moves_the_order_to_review_requested(db):
    order = make_order(db, stage=Stage.confirmed)
    run_at(db, T0 + DAY)
    request = one(db, FollowupKind.review_request, order_id=order.id)
    assert request.status == FollowupStatus.done
    db.refresh(order)
    assert order.stage == Stage.review_requested
    for word in ("返现", "红包", "好评返", "优惠券"):
        assert word not in request.message


def test_review_request_outside_the_review_window_is_skipped(db):
    order = make_order(db, stage=Stage.confirmed)
    run_at(db, T0 + 16 * DAY)  # the worker comes back after the 15-day window closed
    request = one(db, FollowupKind.review_request, order_id=order.id)
    assert request.reason == "outside review window"
    db.refresh(order)
    assert order.stage == Stage.confirmed


def test_review_request_skips_an_opted_out_customer(db):
    store = make_store(db)
    customer = make_customer(db, store=store, opted_out_at=T0)
    order = make_order(db, store=store, customer=customer, stage=Stage.confirmed)
    run_at(db, T0 + DAY)
    assert one(db, FollowupKind.review_request, order_id=order.id).reason == "opted out"


def test_review_request_skips_an_order_reviewed_meanwhile(db):
    order = make_order(db, stage=Stage.confirmed)
    _advance(db, order, Stage.reviewed, T0 + 3600 * timedelta(seconds=1))
    run_at(db, T0 + DAY)
    assert one(db, FollowupKind.review_request, order_id=order.id).reason == "already reviewed"


# --- 好评感谢 / 差评处理 -------------------------------------------------------------------------


def _review(db, order, rating):
    review = Review(
        store_id=order.store_id,
        order_id=order.id,
        customer_id=order.customer_id,
        rating=rating,
        grade=Grade.good if rating >= 4 else Grade.bad if rating <= 2 else Grade.neutral,
        text="……",
        posted_at=T0,
        created_at=T0,
        updated_at=T0,
    )
    db.add(review)
    db.flush()
    emit(db, "review.posted", now=T0, review=review)
    return review


def test_good_review_is_thanked_automatically(db):
    order = make_order(db, stage=Stage.confirmed)
    review = _review(db, order, 5)
    run_at(db, T0)
    thanks = one(db, FollowupKind.review_thanks, review_id=review.id)
    assert (thanks.status, thanks.outcome) == (FollowupStatus.done, Outcome.queued)
    assert followups(db, kind=FollowupKind.bad_review) == []


def test_bad_review_opens_a_high_priority_ticket_at_once(db):
    order = make_order(db, stage=Stage.confirmed)
    review = _review(db, order, 1)
    run_at(db, T0)
    handling = one(db, FollowupKind.bad_review, review_id=review.id)
    ticket = db.get(Ticket, handling.ticket_id)
    assert ticket.kind == TicketKind.bad_review
    assert ticket.priority == TicketPriority.high
    assert ticket.review_id == review.id


def test_middling_review_schedules_nothing(db):
    order = make_order(db, stage=Stage.confirmed)
    review = _review(db, order, 3)
    assert followups(db, review_id=review.id) == []


# --- 未成交跟进 lost lead ------------------------------------------------------------------------


def _lost_inquiry(db, customer, closed_at=T0):
    from app.presale.models import Inquiry, InquiryStatus, LostReason

    inquiry = Inquiry(
        store_id=customer.store_id,
        customer_id=customer.id,
        status=InquiryStatus.lost,
        lost_reason=LostReason.price,
        question="能便宜点吗？",
        opened_at=closed_at - DAY,
        closed_at=closed_at,
        created_at=closed_at,
        updated_at=closed_at,
    )
    db.add(inquiry)
    db.flush()
    emit(db, "inquiry.closed", now=closed_at, inquiry=inquiry)
    return inquiry


def test_lost_lead_gets_one_follow_up_task_after_two_days(db):
    customer = make_customer(db)
    inquiry = _lost_inquiry(db, customer)
    run_at(db, T0 + 2 * DAY - MIN)
    lead = one(db, FollowupKind.lost_lead, inquiry_id=inquiry.id)
    assert lead.status == FollowupStatus.pending
    run_at(db, T0 + 2 * DAY)
    db.refresh(lead)
    assert db.get(Ticket, lead.ticket_id).kind == TicketKind.lost_lead


def test_lost_lead_skips_a_customer_who_ordered_since(db):
    store = make_store(db)
    customer = make_customer(db, store=store)
    inquiry = _lost_inquiry(db, customer, closed_at=T0 - DAY)
    make_order(db, store=store, customer=customer)
    run_at(db, T0 + 2 * DAY)
    assert one(db, FollowupKind.lost_lead, inquiry_id=inquiry.id).reason == "customer ordered since"


def test_lost_lead_skips_an_opted_out_customer(db):
    customer = make_customer(db, opted_out_at=T0)
    inquiry = _lost_inquiry(db, customer)
    run_at(db, T0 + 2 * DAY)
    assert one(db, FollowupKind.lost_lead, inquiry_id=inquiry.id).reason == "opted out"


# --- 物流异常 shipping exceptions ---------------------------------------------------------------


def test_parcel_not_delivered_after_the_store_setting_becomes_a_logistics_task(db):
    team = make_team(db, name="物流跟踪")
    store = make_store(db)
    store.shipping_exception_days = 3
    db.add(store)
    order = make_order(db, store=store, stage=Stage.shipped)
    run_at(db, T0 + 3 * DAY - MIN)
    overdue = one(db, FollowupKind.shipping_exception, order_id=order.id)
    assert overdue.status == FollowupStatus.pending
    run_at(db, T0 + 3 * DAY)
    db.refresh(overdue)
    ticket = db.get(Ticket, overdue.ticket_id)
    assert (ticket.kind, ticket.team_id) == (TicketKind.shipping, team.id)


def test_delivered_parcel_skips_the_shipping_exception(db):
    order = make_order(db, stage=Stage.shipped)
    _advance(db, order, Stage.delivered, T0 + 2 * DAY)
    run_at(db, T0 + 5 * DAY)
    assert one(db, FollowupKind.shipping_exception, order_id=order.id).reason == "already delivered"


def test_carrier_exception_opens_a_proactive_task_at_once(db):
    order = make_order(db, stage=Stage.paid)
    parcel = shipping.add_shipment(
        db, order, carrier="中通", tracking_number="ZT998", actor=STOREFRONT, now=T0
    )
    shipping.update_carrier_status(
        db, order, parcel, status="attempted_delivery", actor=STOREFRONT, now=T0 + DAY
    )
    run_at(db, T0 + DAY)
    rows = [
        f for f in followups(db, kind=FollowupKind.shipping_exception) if f.trigger == "shipment_exception"
    ]
    assert len(rows) == 1 and rows[0].outcome == Outcome.task_created
    assert db.get(Ticket, rows[0].ticket_id).priority == TicketPriority.high


# --- after-sales deadlines ---------------------------------------------------------------------


def _case(db, order, respond_by):
    from app.aftersales.lifecycle import CaseKind, CaseReason, CaseState
    from app.aftersales.models import AftersalesCase

    case = AftersalesCase(
        order_id=order.id,
        customer_id=order.customer_id,
        store_id=order.store_id,
        kind=CaseKind.return_refund,
        reason=CaseReason.quality,
        state=CaseState.requested,
        requested_at=T0,
        respond_by_at=respond_by,
        created_at=T0,
        updated_at=T0,
    )
    db.add(case)
    db.flush()
    emit(db, "case.changed", now=T0, case=case, from_state=None, to_state=CaseState.requested)
    return case


def test_case_deadline_task_escalates_as_the_deadline_nears(db):
    order = make_order(db, stage=Stage.delivered)
    case = _case(db, order, T0 + 48 * timedelta(hours=1))
    run_at(db, T0 + 36 * timedelta(hours=1))  # 12 h before the deadline
    first = one(db, FollowupKind.aftersales_deadline, case_id=case.id, status=FollowupStatus.done)
    ticket = db.get(Ticket, first.ticket_id)
    assert ticket.kind == TicketKind.aftersales and ticket.priority == TicketPriority.high
    run_at(db, T0 + 46 * timedelta(hours=1))  # 2 h before
    db.refresh(ticket)
    assert ticket.priority == TicketPriority.urgent
    run_at(db, T0 + 48 * timedelta(hours=1))
    assert (
        len(followups(db, kind=FollowupKind.aftersales_deadline, case_id=case.id, status=FollowupStatus.done))
        == 3
    )
    assert count(db, Ticket, case_id=case.id) == 1


def test_answered_case_skips_the_deadline_warning(db):
    from app.aftersales.lifecycle import CaseState

    order = make_order(db, stage=Stage.delivered)
    case = _case(db, order, T0 + 48 * timedelta(hours=1))
    case.state = CaseState.approved
    db.add(case)
    run_at(db, T0 + 36 * timedelta(hours=1))
    assert one(db, FollowupKind.aftersales_deadline, case_id=case.id).reason == "already answered"


def test_switched_off_rule_skips_its_pending_follow_ups(db):
    from app.followups import rules

    order = make_order(db)
    reminder = one(db, FollowupKind.payment_reminder, order_id=order.id)
    rule = rules.require_rule(db, reminder.rule_id)
    rules.update_rule(
        db, rule, delay_minutes=30, enabled=False, action="task", category="payment_reminder", now=T0
    )
    run_at(db, T0 + 31 * MIN)
    db.refresh(reminder)
    assert reminder.reason == "rule switched off"


@pytest.mark.parametrize("rating", [4, 5])
def test_erased_customer_gets_nothing(db, rating):
    order = make_order(db, stage=Stage.confirmed)
    customer = db.get(Customer, order.customer_id)
    customer.erased_at = T0
    db.add(customer)
    review = _review(db, order, rating)
    run_at(db, T0)
    assert one(db, FollowupKind.review_thanks, review_id=review.id).reason == "customer erased"


# --- the rules, read once per transaction ----------------------------------------------------------


def test_an_order_event_chain_reads_the_rules_once_and_an_edit_counts_at_once(db):
    from sqlalchemy import event

    from app.followups.models import FollowupRule

    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args):
        statements.append(statement)

    connection = db.connection()
    event.listen(connection, "before_cursor_execute", seen)
    try:
        first = make_order(db, stage=Stage.paid)  # created, then paid: two triggers
        reads = [s for s in statements if "FROM followup_rules" in s]
        assert len(reads) <= 2, reads  # the first-use probe and one read, not two per trigger
        assert one(db, FollowupKind.payment_reminder, order_id=first.id)
        assert one(db, FollowupKind.reassurance, order_id=first.id)

        # Disabled in the same transaction (not even flushed yet): the next order sees it.
        rule = db.exec(select(FollowupRule).where(FollowupRule.kind == FollowupKind.reassurance)).one()
        rule.enabled = False
        second = make_order(db, stage=Stage.paid)
        assert followups(db, kind=FollowupKind.reassurance, order_id=second.id) == []
        assert one(db, FollowupKind.payment_reminder, order_id=second.id)
    finally:
        event.remove(connection, "before_cursor_execute", seen)
