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


def test_a_new_task_starts_its_sla_clocks_by_priority(db):
    customer = make_customer(db)
    ticket = _task(db, customer, priority="high")
    assert ticket.priority_rank == TicketPriority.high.rank
    assert ticket.store_id == customer.store_id
    assert ticket.first_response_due_at == T0 + timedelta(hours=1)
    assert ticket.resolution_due_at == T0 + timedelta(hours=4)
    assert ticket.due_at == ticket.first_response_due_at


def test_a_tasks_own_deadline_is_its_resolution_deadline_when_earlier(db):
    customer = make_customer(db)
    deadline = T0 + timedelta(hours=2)
    ticket = _task(db, customer, kind="aftersales", priority="low", due_at=deadline)
    assert ticket.resolution_due_at == deadline
    assert ticket.due_at == deadline
    later = _task(
        db, customer, kind="aftersales", due_at=T0 + timedelta(days=3), now=T0 + timedelta(minutes=5)
    )
    assert later.id == ticket.id and later.due_at == deadline, "a later deadline never loosens the ticket"


def test_raising_priority_through_a_task_tightens_the_clocks(db):
    customer = make_customer(db)
    ticket = _task(db, customer, priority="low")
    assert ticket.due_at == T0 + timedelta(hours=24)
    _task(db, customer, priority="urgent", now=T0 + timedelta(minutes=1))
    assert ticket.priority_rank == 3
    assert ticket.first_response_due_at == T0 + timedelta(minutes=15)
    assert ticket.due_at == T0 + timedelta(minutes=15)


def test_a_pending_ticket_is_back_to_open_when_a_task_lands_on_it(db):
    customer = make_customer(db)
    a = _task(db, customer)
    a.status = TicketStatus.pending
    db.add(a)
    db.flush()
    assert _task(db, customer).status == TicketStatus.open


def test_open_ticket_checks_its_links_against_the_customer(db):
    from tests.orders.helpers import make_order

    customer = make_customer(db)
    stranger_order = make_order(db)
    with pytest.raises(InvalidInput) as err:
        service.open_ticket(
            db,
            customer_id=customer.id,
            kind="aftersales",
            subject="x",
            body="y",
            now=T0,
            order_id=stranger_order.id,
        )
    assert "order_id" in err.value.fields
    with pytest.raises(InvalidInput) as err:
        service.open_ticket(
            db, customer_id=customer.id, kind="other", subject="x", body="y", now=T0, team="nobody"
        )
    assert "team" in err.value.fields
    with pytest.raises(InvalidInput) as err:
        service.open_ticket(db, customer_id=customer.id, kind="other", subject="x", body="  ", now=T0)
    assert "body" in err.value.fields
    assert count(db, Ticket, customer_id=customer.id) == 0


def test_open_ticket_says_whether_it_joined_an_active_one(db):
    customer = make_customer(db)
    first, created = service.open_ticket(
        db, customer_id=customer.id, kind="other", subject="换货", body="a", now=T0
    )
    again, created_again = service.open_ticket(
        db, customer_id=customer.id, kind="other", subject="换货", body="b", now=T0
    )
    assert created and not created_again and again.id == first.id


def test_past_tickets_are_the_customers_others_newest_first(db):
    customer = make_customer(db)
    old = _task(db, customer, kind="revisit", now=T0 - timedelta(days=30))
    mid = _task(db, customer, kind="bad_review", now=T0 - timedelta(days=3))
    current = _task(db, customer)
    _task(db, make_customer(db))
    assert [t.id for t in service.past_tickets(db, customer_id=customer.id, exclude_id=current.id)] == [
        mid.id,
        old.id,
    ]
    assert len(service.past_tickets(db, customer_id=customer.id, limit=1)) == 1
