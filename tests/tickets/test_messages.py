"""Buyer messages: one conversation per customer, deduplicated, reopening a recently solved ticket."""

from datetime import timedelta

import pytest
from sqlmodel import select

from app.errors import InvalidInput
from app.tickets import service
from app.tickets.models import MessageDirection, Ticket, TicketKind, TicketMessage, TicketStatus
from tests.factories import T0, count, make_agent, make_customer, make_product, make_store
from tests.orders.helpers import make_order
from tests.presale.helpers import make_inquiry
from tests.tickets.helpers import buyer_says, make_ticket


def test_a_first_message_opens_a_buyer_message_ticket_with_its_clocks(db):
    customer = make_customer(db)
    message = buyer_says(
        db, customer, "在吗？\n想问下这款茶叶是今年的新茶吗", channel="wangwang", external_id="m-1"
    )
    ticket = service.require_ticket(db, message.ticket_id)
    assert ticket.kind == TicketKind.buyer_message and ticket.status == TicketStatus.open
    assert ticket.subject == "在吗？"
    assert ticket.store_id == customer.store_id
    assert ticket.last_inbound_at == T0
    assert ticket.next_response_due_at == T0 + timedelta(hours=4)
    assert ticket.due_at == T0 + timedelta(hours=4)
    assert (message.direction, message.channel, message.external_id) == (
        MessageDirection.inbound,
        "wangwang",
        "m-1",
    )


def test_a_redelivered_message_is_recorded_once(db):
    customer = make_customer(db)
    first = buyer_says(db, customer, "什么时候发货？", external_id="m-1")
    again = buyer_says(db, customer, "什么时候发货？", external_id="m-1", now=T0 + timedelta(minutes=5))
    assert again.id == first.id
    assert count(db, TicketMessage, ticket_id=first.ticket_id) == 1
    assert service.require_ticket(db, first.ticket_id).last_inbound_at == T0


def test_the_same_external_id_in_another_store_is_another_message(db):
    a, b = make_customer(db), make_customer(db)
    assert buyer_says(db, a, external_id="m-1").id != buyer_says(db, b, external_id="m-1").id


def test_later_messages_join_the_active_ticket_and_wake_it(db):
    customer = make_customer(db)
    first = buyer_says(db, customer, "在吗")
    ticket = service.require_ticket(db, first.ticket_id)
    service.snooze(db, ticket, agent=None, until=T0 + timedelta(days=1), now=T0 + timedelta(minutes=1))
    second = buyer_says(db, customer, "急，在线等", now=T0 + timedelta(minutes=30))
    assert second.ticket_id == ticket.id
    assert ticket.status == TicketStatus.open and ticket.snoozed_until is None
    # The clock runs from the first unanswered message, not the latest.
    assert ticket.next_response_due_at == T0 + timedelta(hours=4)
    assert count(db, Ticket, customer_id=customer.id) == 1


def test_a_message_joins_a_task_ticket_of_the_customer(db):
    customer = make_customer(db)
    task = make_ticket(db, customer=customer)
    message = buyer_says(db, customer, "马上付款", now=T0 + timedelta(hours=1))
    assert message.ticket_id == task.id
    assert task.last_inbound_at == T0 + timedelta(hours=1)


def test_a_message_about_an_order_prefers_that_orders_ticket_and_links_it(db):
    store = make_store(db)
    customer = make_customer(db, store=store)
    order = make_order(db, store=store, customer=customer)
    other = make_ticket(db, customer=customer, kind="revisit", now=T0 + timedelta(hours=2))
    about_order = make_ticket(db, customer=customer, kind="shipping", order_id=order.id)
    message = buyer_says(db, customer, "快递到哪了", order_id=order.id, now=T0 + timedelta(hours=3))
    assert message.ticket_id == about_order.id != other.id
    fresh = buyer_says(db, make_customer(db, store=store), "hi")
    assert service.require_ticket(db, fresh.ticket_id).order_id is None


def test_a_new_conversation_links_the_order_and_the_open_inquiry(db):
    store = make_store(db)
    customer = make_customer(db, store=store)
    inquiry = make_inquiry(db, store, customer, [make_product(db, store=store)])
    order = make_order(db, store=store, customer=customer)
    message = buyer_says(db, customer, "能便宜点吗", order_id=order.id)
    ticket = service.require_ticket(db, message.ticket_id)
    assert (ticket.order_id, ticket.inquiry_id) == (order.id, inquiry.id)


def test_an_order_of_another_customer_is_refused(db):
    customer = make_customer(db)
    with pytest.raises(InvalidInput) as err:
        buyer_says(db, customer, "hi", order_id=make_order(db).id)
    assert "order_id" in err.value.fields
    assert count(db, Ticket, customer_id=customer.id) == 0


def test_a_message_within_seven_days_of_solving_reopens_the_ticket(db):
    customer = make_customer(db)
    agent = make_agent(db)
    ticket = service.require_ticket(db, buyer_says(db, customer, "在吗").ticket_id)
    service.solve(db, ticket, agent=agent, now=T0 + timedelta(hours=1))
    later = T0 + timedelta(days=6)
    message = buyer_says(db, customer, "还有个问题", now=later)
    assert message.ticket_id == ticket.id
    assert ticket.status == TicketStatus.open and ticket.reopened_count == 1 and ticket.solved_at is None
    assert ticket.resolution_due_at == later + timedelta(hours=16)


def test_a_message_after_the_reopen_window_opens_a_new_ticket(db):
    customer = make_customer(db)
    ticket = service.require_ticket(db, buyer_says(db, customer, "在吗").ticket_id)
    service.solve(db, ticket, agent=None, now=T0)
    message = buyer_says(db, customer, "又来了", now=T0 + service.REOPEN_WINDOW + timedelta(minutes=1))
    assert message.ticket_id != ticket.id
    assert ticket.status == TicketStatus.solved and ticket.reopened_count == 0


def test_a_closed_ticket_is_never_reopened_by_a_message(db):
    customer = make_customer(db)
    ticket = service.require_ticket(db, buyer_says(db, customer, "在吗").ticket_id)
    service.solve(db, ticket, agent=None, now=T0)
    ticket.status = TicketStatus.closed
    db.add(ticket)
    db.flush()
    assert buyer_says(db, customer, "hi", now=T0 + timedelta(hours=1)).ticket_id != ticket.id


def test_a_message_about_another_order_does_not_reopen_a_solved_ticket(db):
    store = make_store(db)
    customer = make_customer(db, store=store)
    first, second = (
        make_order(db, store=store, customer=customer),
        make_order(db, store=store, customer=customer),
    )
    ticket = make_ticket(db, customer=customer, kind="shipping", order_id=first.id)
    service.solve(db, ticket, agent=None, now=T0)
    message = buyer_says(db, customer, "第二单呢", order_id=second.id, now=T0 + timedelta(hours=1))
    assert message.ticket_id != ticket.id


@pytest.mark.parametrize(
    ("field", "overrides"),
    [
        ("body", {"body": "   "}),
        ("customer_id", {"customer_id": 10**9}),
        ("external_id", {"external_id": "x" * 129}),
    ],
)
def test_bad_messages_are_refused_before_writing(db, field, overrides):
    customer = make_customer(db)
    with pytest.raises(InvalidInput) as err:
        buyer_says(db, customer, **overrides)
    assert field in err.value.fields
    assert count(db, TicketMessage) == 0


def test_a_buyer_message_marks_recent_revisits_replied(db):
    """The phrasing stats hear about every new buyer message (revisit effectiveness)."""
    from app.phrasing.models import PhrasingTemplate, PhrasingUsage

    customer = make_customer(db)
    agent = make_agent(db)
    ticket = make_ticket(db, customer=customer, kind="revisit")
    template = PhrasingTemplate(title="节日问候", category="revisit_holiday", created_at=T0, updated_at=T0)
    db.add(template)
    db.flush()
    service.reply(db, ticket, agent=agent, body="中秋快乐！", now=T0, template_id=template.id)
    buyer_says(db, customer, "谢谢，也祝你们节日快乐", now=T0 + timedelta(hours=5))
    usage = db.exec(select(PhrasingUsage)).one()
    assert usage.outcome == "replied" and usage.outcome_at == T0 + timedelta(hours=5)
