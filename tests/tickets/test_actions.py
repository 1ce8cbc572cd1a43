"""Agent actions on a ticket: reply, note, snooze, solve, reopen, assign, priority, tags."""

from datetime import timedelta

import pytest
from sqlmodel import select

from app.accounts.service import update_agent
from app.errors import Conflict, InvalidInput
from app.integrations import outbound
from app.integrations.models import OutboxMessage
from app.phrasing.models import PhrasingTemplate, PhrasingUsage
from app.tickets import service
from app.tickets.models import MessageDirection, TicketMessage, TicketPriority, TicketStatus
from tests.factories import T0, count, make_agent, make_customer
from tests.tickets.helpers import buyer_says, make_ticket

LATER = T0 + timedelta(minutes=20)


def _subscribe(db, types=("message.outbound",)):
    return outbound.create_subscription(
        db, url="https://shop.example.cn/hooks", event_types=list(types), now=T0
    )


def _template(db, category="payment_reminder"):
    template = PhrasingTemplate(title="催付", category=category, created_at=T0, updated_at=T0)
    db.add(template)
    db.flush()
    return template


def test_a_manual_reply_is_recorded_sent_and_answers_the_buyer(db):
    customer, agent = make_customer(db), make_agent(db)
    ticket = service.require_ticket(db, buyer_says(db, customer).ticket_id)
    message = service.reply(db, ticket, agent=agent, body="  亲，今天下午发货～ ", now=LATER)
    assert (message.direction, message.channel, message.delivery_status) == (
        MessageDirection.outbound,
        "manual",
        "sent",
    )
    assert message.body == "亲，今天下午发货～" and message.author_id == agent.id
    assert ticket.first_response_at == LATER and ticket.last_outbound_at == LATER
    assert ticket.next_response_due_at is None
    assert ticket.due_at == ticket.resolution_due_at, "only the resolution clock is left"
    assert ticket.assignee_id == agent.id and ticket.updated_at == LATER
    assert ticket.status == TicketStatus.open


def test_the_first_response_is_kept_and_the_next_response_clock_restarts_with_the_buyer(db):
    customer, agent = make_customer(db), make_agent(db)
    ticket = service.require_ticket(db, buyer_says(db, customer).ticket_id)
    service.reply(db, ticket, agent=agent, body="在的", now=LATER)
    buyer_says(db, customer, "那快递呢", now=LATER + timedelta(hours=1))
    assert ticket.next_response_due_at == LATER + timedelta(hours=5)
    service.reply(db, ticket, agent=agent, body="顺丰", now=LATER + timedelta(hours=2))
    assert ticket.first_response_at == LATER and ticket.next_response_due_at is None


def test_an_automated_reply_is_no_response(db):
    ticket = make_ticket(db)
    service.reply(db, ticket, agent=None, body="自动消息", now=LATER, automated=True)
    assert ticket.first_response_at is None and ticket.assignee_id is None


@pytest.mark.parametrize("body", ["", "   \n  ", None])
def test_an_empty_reply_is_refused(db, body):
    ticket = make_ticket(db)
    with pytest.raises(InvalidInput) as err:
        service.reply(db, ticket, agent=make_agent(db), body=body, now=LATER)
    assert "body" in err.value.fields
    assert count(db, TicketMessage, direction="outbound") == 0


def test_an_over_long_reply_is_refused(db):
    with pytest.raises(InvalidInput) as err:
        service.reply(db, make_ticket(db), agent=make_agent(db), body="好" * 10_001, now=LATER)
    assert "body" in err.value.fields


def test_a_reply_still_holding_missing_variables_is_refused_naming_them(db):
    from app.phrasing.render import marker

    ticket = make_ticket(db)
    body = f"亲，您的快递单号是 {marker('tracking_number')}，承运商 {marker('carrier')}"
    with pytest.raises(InvalidInput) as err:
        service.reply(db, ticket, agent=make_agent(db), body=body, now=LATER)
    assert "tracking_number" in err.value.english() and "carrier" in err.value.english()
    assert count(db, TicketMessage, direction="outbound") == 0


def test_a_reply_to_a_solved_ticket_reopens_it(db):
    agent = make_agent(db)
    ticket = make_ticket(db)
    service.solve(db, ticket, agent=agent, now=T0)
    service.reply(db, ticket, agent=agent, body="补充一句：赠品已放进包裹", now=LATER)
    assert ticket.status == TicketStatus.open and ticket.reopened_count == 1 and ticket.solved_at is None


def test_reply_and_pend_or_reply_and_solve(db):
    agent = make_agent(db)
    pending = make_ticket(db)
    service.reply(db, pending, agent=agent, body="您看下方便的时候付款哦", now=LATER, then_status="pending")
    assert pending.status == TicketStatus.pending
    solved = make_ticket(db)
    service.reply(db, solved, agent=agent, body="已为您处理好", now=LATER, then_status="solved")
    assert solved.status == TicketStatus.solved and solved.solved_at == LATER
    with pytest.raises(InvalidInput) as err:
        service.reply(db, make_ticket(db), agent=agent, body="x", now=LATER, then_status="snoozed")
    assert "then_status" in err.value.fields


def test_a_webhook_reply_is_queued_on_the_outbox_with_an_idempotency_key(db):
    _subscribe(db)
    agent = make_agent(db)
    ticket = make_ticket(db)
    assert service.available_channels(db, ticket) == ["webhook", "manual"]
    message = service.reply(db, ticket, agent=agent, body="亲，已发货", now=LATER, channel="webhook")
    assert (message.channel, message.delivery_status) == ("webhook", "queued")
    outbox = db.exec(select(OutboxMessage).where(OutboxMessage.event_type == "message.outbound")).one()
    assert outbox.payload["idempotency_key"] == f"ticket-message-{message.id}"
    assert outbox.payload["text"] == "亲，已发货" and outbox.payload["ticket_id"] == ticket.id


def test_a_webhook_reply_without_a_subscription_asks_to_send_by_hand(db):
    _subscribe(db, types=("ticket.solved",))
    ticket = make_ticket(db)
    assert service.available_channels(db, ticket) == ["manual"]
    with pytest.raises(InvalidInput) as err:
        service.reply(db, ticket, agent=make_agent(db), body="亲", now=LATER, channel="webhook")
    assert err.value.fields == {"channel": "manual"}
    assert count(db, TicketMessage, direction="outbound") == 0
    with pytest.raises(InvalidInput):
        service.reply(db, ticket, agent=make_agent(db), body="亲", now=LATER, channel="pigeon")


def test_a_reply_from_a_template_records_its_use(db):
    agent = make_agent(db)
    ticket = make_ticket(db)
    template = _template(db)
    message = service.reply(
        db, ticket, agent=agent, body="亲，记得付款哦", now=LATER, template_id=template.id
    )
    assert message.template_id == template.id
    usage = db.exec(select(PhrasingUsage)).one()
    assert (usage.template_id, usage.agent_id, usage.ticket_id, usage.action) == (
        template.id,
        agent.id,
        ticket.id,
        "sent",
    )
    with pytest.raises(InvalidInput) as err:
        service.reply(db, ticket, agent=agent, body="x", now=LATER, template_id=10**9)
    assert "template_id" in err.value.fields


def test_a_note_is_internal_and_changes_no_clock(db):
    agent = make_agent(db)
    ticket = make_ticket(db)
    due = ticket.due_at
    note = service.add_note(db, ticket, agent=agent, body="买家说晚上才方便", now=LATER)
    assert note.direction == MessageDirection.note and note.author_id == agent.id
    assert ticket.first_response_at is None and ticket.due_at == due and ticket.updated_at == LATER
    with pytest.raises(InvalidInput):
        service.add_note(db, ticket, agent=agent, body=" ", now=LATER)


def test_snooze_until_a_future_time(db):
    ticket = make_ticket(db)
    until = T0 + timedelta(days=1)
    service.snooze(db, ticket, agent=None, until=until, now=LATER)
    assert (
        ticket.status == TicketStatus.snoozed and ticket.snoozed_until == until and ticket.updated_at == LATER
    )


@pytest.mark.parametrize("offset", [timedelta(0), timedelta(minutes=-5), timedelta(days=91)])
def test_snooze_into_the_past_or_too_far_is_refused(db, offset):
    ticket = make_ticket(db)
    with pytest.raises(InvalidInput) as err:
        service.snooze(db, ticket, agent=None, until=LATER + offset, now=LATER)
    assert "until" in err.value.fields
    assert ticket.status == TicketStatus.open


def test_a_solved_ticket_cannot_be_snoozed(db):
    ticket = make_ticket(db)
    service.solve(db, ticket, agent=None, now=T0)
    with pytest.raises(Conflict):
        service.snooze(db, ticket, agent=None, until=T0 + timedelta(days=1), now=LATER)


SOLVED: list[int] = []


def record_solved(session, *, now, ticket, **_):
    SOLVED.append(ticket.id)


def test_solve_emits_ticket_solved_once(db, monkeypatch):
    from app import events

    monkeypatch.setitem(events.SUBSCRIBERS, "ticket.solved", ["tests.tickets.test_actions:record_solved"])
    SOLVED.clear()
    ticket = make_ticket(db)
    service.solve(db, ticket, agent=None, now=LATER)
    service.solve(db, ticket, agent=None, now=LATER + timedelta(minutes=1))
    assert ticket.status == TicketStatus.solved and ticket.solved_at == LATER
    assert [ticket.id] == SOLVED


def test_reopen_a_solved_ticket(db):
    ticket = make_ticket(db)
    service.solve(db, ticket, agent=None, now=T0)
    service.reopen(db, ticket, agent=None, now=LATER)
    assert ticket.status == TicketStatus.open and ticket.reopened_count == 1
    service.reopen(db, ticket, agent=None, now=LATER)
    assert ticket.reopened_count == 1, "reopening an open ticket changes nothing"


def test_assign_to_an_active_agent_or_back_to_the_queue(db):
    agent, other = make_agent(db), make_agent(db)
    ticket = make_ticket(db)
    service.assign(db, ticket, assignee_id=other.id, actor=agent, now=LATER)
    assert ticket.assignee_id == other.id and ticket.assigned_at == LATER
    service.assign(db, ticket, assignee_id=None, actor=agent, now=LATER)
    assert ticket.assignee_id is None and ticket.assigned_at is None
    update_agent(db, other, is_active=False)
    for bad in (other.id, 10**9):
        with pytest.raises(InvalidInput) as err:
            service.assign(db, ticket, assignee_id=bad, actor=agent, now=LATER)
        assert "assignee_id" in err.value.fields


def test_set_priority_keeps_the_rank_and_clocks_in_step(db):
    ticket = make_ticket(db)
    service.set_priority(db, ticket, priority="urgent", actor=None, now=LATER)
    assert ticket.priority == TicketPriority.urgent and ticket.priority_rank == 3
    assert ticket.due_at == T0 + timedelta(minutes=15)
    service.set_priority(db, ticket, priority=TicketPriority.low, actor=None, now=LATER)
    assert ticket.priority_rank == 0 and ticket.first_response_due_at == T0 + timedelta(hours=24)
    assert ticket.resolution_due_at == T0 + timedelta(hours=1), "a resolution deadline only tightens"
    with pytest.raises(InvalidInput) as err:
        service.set_priority(db, ticket, priority="asap", actor=None, now=LATER)
    assert "priority" in err.value.fields


def test_tags_are_trimmed_deduplicated_and_bounded(db):
    ticket = make_ticket(db)
    service.set_tags(db, ticket, tags=[" 催发货 ", "VIP", "催发货", ""], actor=None, now=LATER)
    assert ticket.tags == ["催发货", "VIP"] and ticket.updated_at == LATER
    with pytest.raises(InvalidInput) as err:
        service.set_tags(db, ticket, tags=[f"t{i}" for i in range(11)], actor=None, now=LATER)
    assert "tags" in err.value.fields
    with pytest.raises(InvalidInput):
        service.set_tags(db, ticket, tags=["长" * 33], actor=None, now=LATER)
    assert ticket.tags == ["催发货", "VIP"]


def test_allowed_actions_follow_the_status(db):
    agent = make_agent(db)
    ticket = make_ticket(db)
    assert {"reply", "note", "snooze", "solve", "claim"} <= service.allowed_actions(ticket, agent)
    service.assign(db, ticket, assignee_id=agent.id, actor=agent, now=LATER)
    assert "claim" not in service.allowed_actions(ticket, agent)
    service.solve(db, ticket, agent=agent, now=LATER)
    assert service.allowed_actions(ticket, agent) >= {"reply", "reopen", "note"}
    assert not {"snooze", "solve"} & service.allowed_actions(ticket, agent)
