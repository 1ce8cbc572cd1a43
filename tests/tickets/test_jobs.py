"""The desk's dispatch jobs: waking snoozed tickets and auto-assignment, each in its own transaction."""

from datetime import timedelta

from app import dispatch
from app.tickets import jobs, service
from app.tickets.models import TicketStatus
from tests.factories import T0, make_agent, make_team
from tests.tickets.helpers import make_ticket

NOW = T0 + timedelta(hours=1)


def test_both_jobs_are_registered_with_the_dispatcher():
    assert {"app.tickets.jobs:wake_snoozed", "app.tickets.jobs:auto_assign"} <= set(dispatch.JOBS)


def test_a_snoozed_ticket_wakes_when_its_time_comes_and_sorts_by_it(db):
    ticket = make_ticket(db, priority="low")  # due in 24 h
    wake_at = T0 + timedelta(minutes=30)
    service.snooze(db, ticket, agent=None, until=wake_at, now=T0)
    assert jobs.wake_due(db, now=wake_at - timedelta(seconds=1)) == 0
    assert ticket.status == TicketStatus.snoozed
    assert jobs.wake_due(db, now=NOW) == 1
    assert ticket.status == TicketStatus.open and ticket.snoozed_until is None
    assert ticket.due_at == wake_at and ticket.updated_at == NOW
    assert jobs.wake_due(db, now=NOW) == 0


def test_waking_keeps_an_earlier_deadline(db):
    ticket = make_ticket(db, priority="urgent")  # first response due at T0 + 15 min
    service.snooze(db, ticket, agent=None, until=T0 + timedelta(minutes=40), now=T0)
    jobs.wake_due(db, now=NOW)
    assert ticket.due_at == T0 + timedelta(minutes=15)


def test_the_dispatch_entry_points_wake_and_assign(db):
    """The entry points open their own unit of work (here bound to the test's connection, so the
    test still rolls back)."""
    team = make_team(db)
    team.assignment_mode = "round_robin"
    agent = make_agent(db, team=team.id)
    agent.last_seen_at = NOW
    ticket = make_ticket(db, team=team.name)
    service.snooze(db, ticket, agent=None, until=T0 + timedelta(minutes=5), now=T0)
    db.commit()
    assert jobs.wake_snoozed(NOW, engine=db.connection()) == 1
    assert jobs.auto_assign(NOW, engine=db.connection()) == 1
    db.refresh(ticket)
    assert ticket.status == TicketStatus.open and ticket.assignee_id == agent.id
