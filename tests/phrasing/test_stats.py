from datetime import timedelta

import pytest

from app.audit.service import STOREFRONT
from app.errors import InvalidInput, NotFound
from app.orders import service as orders
from app.orders.lifecycle import Stage
from app.phrasing import stats
from app.phrasing.models import PhrasingUsage
from app.presale import service as presale
from app.reviews.service import post_review
from app.tickets.service import receive_message
from tests.factories import T0, make_agent, make_customer, make_product, make_store
from tests.orders.helpers import make_order
from tests.phrasing.helpers import make_template, make_ticket
from tests.presale.helpers import make_inquiry

DAY = timedelta(days=1)


def _use(db, template, ticket, *, agent=None, action="sent", at=T0) -> PhrasingUsage:
    return stats.record_usage(
        db, template_id=template.id, agent=agent, ticket=ticket, action=action, locale="zh-CN", now=at
    )


def test_a_use_records_who_where_and_what_for(db):
    agent = make_agent(db)
    order = make_order(db)
    ticket = make_ticket(db, order=order)
    template = make_template(db, category="payment_reminder")
    usage = _use(db, template, ticket, agent=agent, action="copied")
    assert (usage.category, usage.locale, usage.action) == ("payment_reminder", "zh_CN", "copied")
    assert (usage.agent_id, usage.ticket_id, usage.customer_id, usage.order_id) == (
        agent.id,
        ticket.id,
        order.customer_id,
        order.id,
    )
    assert usage.outcome is None


def test_bad_uses_are_refused(db):
    ticket = make_ticket(db)
    with pytest.raises(InvalidInput):
        _use(db, make_template(db), ticket, action="pasted")
    with pytest.raises(NotFound):
        stats.record_usage(
            db, template_id=987654, agent=None, ticket=ticket, action="sent", locale="zh_CN", now=T0
        )


def test_payment_after_a_payment_reminder_counts_for_it(db):
    order, other = make_order(db), make_order(db)
    reminder = make_template(db, category="payment_reminder")
    thanks = make_template(db, category="payment_reassurance", variants={"zh_CN": "谢谢"})
    used = _use(db, reminder, make_ticket(db, order=order))
    unrelated = _use(db, thanks, make_ticket(db, kind="reassurance", order=order))
    elsewhere = _use(db, reminder, make_ticket(db, order=other))
    orders.advance(db, order, to=Stage.paid, actor=STOREFRONT, now=T0 + DAY)
    assert (used.outcome, used.outcome_at) == ("paid", T0 + DAY)
    assert unrelated.outcome is None and elsewhere.outcome is None


def test_a_review_within_30_days_of_a_review_request_counts_for_it(db):
    store = make_store(db)
    customer = make_customer(db, store)
    order = make_order(db, store=store, customer=customer, stage=Stage.confirmed)
    request = make_template(db, category="review_request", variants={"zh_CN": "欢迎真实评价"})
    recent = _use(db, request, make_ticket(db, kind="review_request", order=order), at=T0 + 2 * DAY)
    stale = _use(db, request, make_ticket(db, kind="review_request", customer=customer), at=T0 - 40 * DAY)
    post_review(db, store=store, customer=customer, order=order, rating=5, text="好喝", now=T0 + 10 * DAY)
    assert recent.outcome == "reviewed" and stale.outcome is None


def test_a_won_inquiry_counts_for_the_bargaining_templates_used_on_it(db):
    store = make_store(db)
    product, customer, other = make_product(db, store), make_customer(db, store), make_customer(db, store)
    won, lost = make_inquiry(db, store, customer, [product]), make_inquiry(db, store, other, [product])
    bargaining = make_template(db, category="bargaining", variants={"zh_CN": "实在价"})
    on_won = _use(db, bargaining, make_ticket(db, kind="bargaining", customer=customer, inquiry_id=won.id))
    on_lost = _use(db, bargaining, make_ticket(db, kind="bargaining", customer=other, inquiry_id=lost.id))
    presale.mark_lost(db, lost, reason="price", actor=STOREFRONT, now=T0 + DAY)
    presale.mark_won(db, won, order=make_order(db, store=store, customer=customer), now=T0 + DAY)
    assert on_won.outcome == "won" and on_lost.outcome is None


def test_a_buyer_message_within_7_days_of_a_revisit_is_a_reply(db):
    customer = make_customer(db)
    holiday = make_template(db, category="revisit_holiday", variants={"zh_CN": "{{ holiday }}快乐"})
    recent = _use(db, holiday, make_ticket(db, kind="revisit", customer=customer), at=T0)
    receive_message(
        db,
        store_id=customer.store_id,
        customer_id=customer.id,
        body="谢谢，也祝你们节日快乐",
        now=T0 + 2 * DAY,
    )
    assert recent.outcome == "replied"
    later = _use(db, holiday, make_ticket(db, kind="revisit", customer=customer), at=T0 + 3 * DAY)
    stats.on_buyer_message(db, now=T0 + 11 * DAY, customer_id=customer.id)
    assert later.outcome is None  # eight days on: not a reply to it


def test_usage_summary_counts_uses_people_and_effect(db):
    a, b = make_agent(db), make_agent(db)
    order = make_order(db)
    reminder = make_template(db, category="payment_reminder")
    unused = make_template(db, category="payment_reminder")
    care = make_template(db, category="delivery_care", variants={"zh_CN": "收到还满意吗"})
    ticket = make_ticket(db, order=order)
    _use(db, reminder, ticket, agent=a)
    _use(db, reminder, ticket, agent=a, action="copied")
    _use(db, reminder, make_ticket(db), agent=b)
    _use(db, care, ticket, agent=b)
    _use(db, reminder, ticket, agent=b, at=T0 - 60 * DAY)  # outside the window
    orders.advance(db, order, to=Stage.paid, actor=STOREFRONT, now=T0 + DAY)
    rows = {r.template_id: r for r in stats.usage_summary(db, since=T0 - DAY, until=T0 + 2 * DAY)}
    row = rows[reminder.id]
    assert (row.uses, row.sent, row.copied) == (3, 2, 1)
    assert row.by_agent == {a.id: 2, b.id: 1}
    assert row.outcomes == {"paid": 2} and row.measured_by == "paid"
    assert row.rate == pytest.approx(2 / 3)
    assert rows[unused.id].uses == 0 and rows[unused.id].rate is None
    assert rows[care.id].uses == 1 and rows[care.id].rate is None  # 签收关怀 has no measured outcome
    assert stats.usage_counts(db, [reminder.id, care.id]) == {reminder.id: 4, care.id: 1}
