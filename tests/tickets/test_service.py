from datetime import timedelta

import pytest

from app.errors import InvalidInput
from app.tickets import service
from app.tickets.models import MessageDirection, Ticket, TicketMessage, TicketPriority, TicketStatus
from tests.factories import T0, count, make_customer, make_team


def _task(db, customer, **overrides):
    values = {
        "kind": "payment_reminder",
        "customer_id": customer.id,
        "subject": "催付 · 买家",
        "body": "亲，看到您拍下了订单还没有付款～",
        "priority": "normal",
        "now": T0,
    } | overrides
    return service.open_task(db, **values)


def test_open_task_creates_an_open_ticket_with_a_note(db):
    customer = make_customer(db)
    team = make_team(db, name="售前-t")
    ticket = _task(db, customer, team=team.name)
    assert ticket.status == TicketStatus.open
    assert ticket.team_id == team.id
    messages = service.messages_of(db, ticket.id)
    assert [m.direction for m in messages] == [MessageDirection.note]
    assert "付款" in messages[0].body


def test_second_task_on_the_same_topic_becomes_a_note_and_raises_priority(db):
    customer = make_customer(db)
    first = _task(db, customer)
    second = _task(db, customer, body="second", priority="urgent", now=T0 + timedelta(hours=1))
    assert second.id == first.id
    assert second.priority == TicketPriority.urgent
    assert count(db, Ticket, customer_id=customer.id) == 1
    assert count(db, TicketMessage, ticket_id=first.id) == 2


def test_lower_priority_note_does_not_lower_the_ticket(db):
    customer = make_customer(db)
    _task(db, customer, priority="high")
    ticket = _task(db, customer, priority="low")
    assert ticket.priority == TicketPriority.high


def test_another_topic_opens_another_ticket(db):
    customer = make_customer(db)
    a = _task(db, customer)
    b = _task(db, customer, kind="bad_review")
    assert a.id != b.id


def test_a_solved_ticket_is_not_reused(db):
    customer = make_customer(db)
    a = _task(db, customer)
    a.status = TicketStatus.solved
    db.add(a)
    db.flush()
    b = _task(db, customer)
    assert b.id != a.id


def test_a_snoozed_ticket_wakes_up_for_new_work(db):
    customer = make_customer(db)
    a = _task(db, customer)
    a.status, a.snoozed_until = TicketStatus.snoozed, T0 + timedelta(days=2)
    db.add(a)
    db.flush()
    b = _task(db, customer)
    assert b.id == a.id and b.status == TicketStatus.open and b.snoozed_until is None


@pytest.mark.parametrize(
    ("field", "value"), [("kind", "gossip"), ("priority", "whenever"), ("subject", "  ")]
)
def test_bad_task_input_is_rejected_before_writing(db, field, value):
    customer = make_customer(db)
    with pytest.raises(InvalidInput) as err:
        _task(db, customer, **{field: value})
    assert field in err.value.fields
    assert count(db, Ticket, customer_id=customer.id) == 0


def test_inbound_replies_are_counted_in_a_window(db):
    customer = make_customer(db)
    ticket = _task(db, customer)
    service.add_message(db, ticket, direction="inbound", body="好的", now=T0 + timedelta(days=1))
    service.add_message(db, ticket, direction="inbound", body="later", now=T0 + timedelta(days=40))
    assert (
        service.inbound_count_since(db, customer_id=customer.id, since=T0, until=T0 + timedelta(days=30)) == 1
    )
