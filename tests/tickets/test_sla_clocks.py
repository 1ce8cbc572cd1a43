"""SLA clocks on real tickets: deadlines in business hours (holidays, 调休), pausing and resuming,
breaches recorded once, near-breach tickets rising in the queue and in "next ticket", and the SLA
attainment KPI over paused clocks."""

from __future__ import annotations

from datetime import date, timedelta

from app import dispatch
from app.metrics import kpis
from app.metrics.period import Period
from app.tickets import assignment, jobs, queues, service, sla
from app.tickets.models import TicketStatus
from app.tickets.sla_models import SlaMetric
from tests.factories import make_agent, make_customer, make_team
from tests.tickets.helpers import buyer_says, make_ticket
from tests.tickets.sla_helpers import breaches, make_policy, sh

T0 = sh(11, 11, 10)  # Wednesday 11 November 2026, 10:00 in Shanghai
M = timedelta(minutes=1)


def business_policy(db, **values):
    return make_policy(
        db,
        **{"first_response_minutes": 60, "next_response_minutes": 30, "resolution_minutes": 600} | values,
    )


def calendar_policy(db, **values):
    return make_policy(db, **{"clock": "calendar"} | values)


# --- deadlines in business hours -------------------------------------------------------------------


def test_a_task_after_hours_before_a_make_up_saturday(db):
    business_policy(db)
    ticket = make_ticket(db, now=sh(10, 9, 17, 30))  # Friday 9 October, 17:30
    # Half an hour on Friday, the rest on Saturday 10 October (a 调休 working day).
    assert ticket.first_response_due_at == sh(10, 10, 9, 30)
    # 600 min: 30 Friday + 540 Saturday + 30 on Monday 12 October (Sunday is off).
    assert ticket.resolution_due_at == sh(10, 12, 9, 30)
    assert ticket.due_at == ticket.first_response_due_at


def test_a_buyer_writing_on_national_day_waits_for_the_8th(db):
    business_policy(db)
    customer = make_customer(db)
    message = buyer_says(db, customer, now=sh(10, 1, 10))
    ticket = service.require_ticket(db, message.ticket_id)
    assert ticket.first_response_due_at == sh(10, 8, 10)
    assert ticket.next_response_due_at == sh(10, 8, 9, 30)
    assert ticket.due_at == sh(10, 8, 9, 30)


def test_an_evening_message_is_due_the_next_morning(db):
    business_policy(db)
    message = buyer_says(db, make_customer(db), now=sh(11, 10, 20))
    ticket = service.require_ticket(db, message.ticket_id)
    assert ticket.next_response_due_at == sh(11, 11, 9, 30)


# --- pausing -----------------------------------------------------------------------------------------


def test_pending_pauses_and_a_buyer_message_resumes_in_business_time(db):
    business_policy(db)
    agent = make_agent(db)
    customer = make_customer(db)
    ticket = make_ticket(db, customer=customer, now=sh(11, 9, 10))  # Monday 10:00
    assert ticket.resolution_due_at == sh(11, 10, 11)  # 480 min on Monday + 120 on Tuesday
    service.reply(
        db, ticket, agent=agent, body="亲，已为您备注", now=sh(11, 9, 10, 20), then_status="pending"
    )
    assert ticket.status == TicketStatus.pending and ticket.sla_paused_at == sh(11, 9, 10, 20)
    assert ticket.sla_next_at is None and not ticket.sla_risk
    # Nothing is missed while the clock stands still, however long.
    assert sla.sweep(db, now=sh(11, 11, 14), limit=100) == 0 and breaches(db) == []

    buyer_says(db, customer, "好的，收到了吗？", now=sh(11, 11, 15))  # Wednesday 15:00
    assert ticket.status == TicketStatus.open and ticket.sla_paused_at is None
    # 580 business minutes were left (Mon 10:20–18:00, Tue 9:00–11:00): Wed 15:00–18:00, Thu to 15:40.
    assert ticket.resolution_due_at == sh(11, 12, 15, 40)
    assert ticket.next_response_due_at == sh(11, 11, 15, 30)
    assert ticket.due_at == sh(11, 11, 15, 30)


def test_a_snoozed_ticket_woken_by_the_job_gets_its_calendar_time_back(db):
    calendar_policy(db, first_response_minutes=60, resolution_minutes=240, pause_when_pending=False)
    ticket = make_ticket(db, now=T0)
    service.snooze(db, ticket, agent=None, until=T0 + 130 * M, now=T0 + 10 * M)
    assert ticket.sla_paused_at == T0 + 10 * M
    assert jobs.wake_due(db, now=T0 + 130 * M) == 1
    assert ticket.sla_paused_at is None
    assert ticket.first_response_due_at == T0 + 180 * M  # 60 min + the 2 h it slept
    assert ticket.resolution_due_at == T0 + 360 * M
    assert ticket.due_at == T0 + 130 * M  # the wake-up time still sorts it, as before


def test_a_policy_that_does_not_pause_keeps_the_clock_running(db):
    calendar_policy(db, first_response_minutes=60, resolution_minutes=240, pause_when_pending=False)
    customer = make_customer(db)
    ticket = make_ticket(db, customer=customer, now=T0)
    service.reply(db, ticket, agent=make_agent(db), body="稍等", now=T0 + 5 * M, then_status="pending")
    assert ticket.sla_paused_at is None
    buyer_says(db, customer, now=T0 + 300 * M)
    assert ticket.resolution_due_at == T0 + 240 * M
    assert [b.metric for b in breaches(db, ticket.id)] == [SlaMetric.resolution]


def test_a_tasks_own_deadline_never_moves(db):
    calendar_policy(db, first_response_minutes=60, resolution_minutes=240)
    customer = make_customer(db)
    ticket = make_ticket(db, customer=customer, now=T0, due_at=T0 + 180 * M)
    assert ticket.resolution_due_at == ticket.task_due_at == T0 + 180 * M
    service.reply(db, ticket, agent=make_agent(db), body="已登记", now=T0 + 10 * M, then_status="pending")
    buyer_says(db, customer, now=T0 + 300 * M)
    assert ticket.resolution_due_at == T0 + 180 * M  # the platform's clock did not stop
    assert [(b.metric, b.due_at) for b in breaches(db, ticket.id)] == [(SlaMetric.resolution, T0 + 180 * M)]


def test_solving_a_paused_ticket_credits_the_pause_and_the_kpi_counts_it_met(db):
    patient, strict = make_team(db), make_team(db)
    calendar_policy(db, team_id=patient.id, first_response_minutes=60, resolution_minutes=120)
    calendar_policy(
        db, team_id=strict.id, first_response_minutes=60, resolution_minutes=120, pause_when_pending=False
    )
    agent = make_agent(db)
    results = {}
    for team in (patient, strict):
        ticket = make_ticket(db, now=T0, team=team.name)
        service.reply(db, ticket, agent=agent, body="请您确认地址", now=T0 + 30 * M, then_status="pending")
        service.solve(db, ticket, agent=agent, now=T0 + 300 * M)  # the buyer never answered
        results[team.name] = ticket
    paused = results[patient.name]
    assert paused.resolution_due_at == T0 + 390 * M  # 90 min were left when it paused at T0+30
    assert breaches(db, paused.id) == []
    missed = breaches(db, results[strict.name].id)
    assert [(b.metric, b.agent_id) for b in missed] == [(SlaMetric.resolution, agent.id)]
    attainment = kpis.compute(
        db, period=Period(date(2026, 11, 1), date(2026, 11, 30), "Asia/Shanghai"), keys=["sla_attainment"]
    )["sla_attainment"]
    assert (attainment.numerator, attainment.denominator) == (1, 2)


# --- breaches ------------------------------------------------------------------------------------


def test_the_job_records_a_breach_once_and_a_late_reply_does_not_repeat_it(db):
    calendar_policy(db, first_response_minutes=60)
    agent = make_agent(db)
    ticket = make_ticket(db, now=T0)
    assert ticket.sla_next_at == T0 + 48 * M  # the last 20 % of the target begins
    assert sla.sweep(db, now=T0 + 30 * M, limit=100) == 0
    assert sla.sweep(db, now=T0 + 50 * M, limit=100) == 1
    assert ticket.sla_risk and ticket.queue_rank == 5 and ticket.sla_next_at == T0 + 60 * M
    assert breaches(db) == []
    assert sla.sweep(db, now=T0 + 61 * M, limit=100) == 1
    assert sla.sweep(db, now=T0 + 70 * M, limit=100) == 0  # nothing left to watch
    ticket.assignee_id = agent.id
    service.reply(db, ticket, agent=agent, body="抱歉久等了", now=T0 + 80 * M)
    found = breaches(db)
    assert [(b.ticket_id, b.metric, b.due_at, b.breached_at) for b in found] == [
        (ticket.id, SlaMetric.first_response, T0 + 60 * M, T0 + 61 * M)
    ]
    assert not ticket.sla_risk and ticket.queue_rank == 2


def test_a_late_reply_records_the_breach_with_the_replying_agent(db):
    team = make_team(db)
    calendar_policy(db, first_response_minutes=60)
    agent = make_agent(db, team=team.name)
    ticket = make_ticket(db, now=T0, team=team.name)
    service.reply(db, ticket, agent=agent, body="您好", now=T0 + 90 * M)
    [breach] = breaches(db)
    assert (breach.metric, breach.due_at, breach.breached_at) == (
        SlaMetric.first_response,
        T0 + 60 * M,
        T0 + 90 * M,
    )
    assert breach.agent_id == agent.id and breach.team_id == team.id


def test_the_dispatch_job_runs_in_its_own_unit_of_work(db):
    assert "app.tickets.jobs:sla_sweep" in dispatch.JOBS
    calendar_policy(db, first_response_minutes=60)
    ticket = make_ticket(db, now=T0)
    db.commit()
    assert jobs.sla_sweep(T0 + 2 * 60 * M, engine=db.connection()) == 1
    assert jobs.sla_sweep(T0 + 3 * 60 * M, engine=db.connection()) == 0
    assert [b.ticket_id for b in breaches(db)] == [ticket.id]


# --- near a breach: higher in the queue and in "next ticket" -------------------------------------------


def test_a_ticket_near_its_breach_rises_above_its_priority_and_the_next(db):
    calendar_policy(db, first_response_minutes=100)
    calendar_policy(db, priority="high", first_response_minutes=600)
    calendar_policy(db, priority="urgent", first_response_minutes=600)
    agent = make_agent(db)
    near = make_ticket(db, now=T0, priority="normal")  # due T0+100, rises from T0+80
    high = make_ticket(db, now=T0, priority="high")
    urgent = make_ticket(db, now=T0, priority="urgent")
    later = make_ticket(db, now=T0 + 30 * M, priority="normal")  # due T0+130, rises from T0+110

    def order(now):
        rows = queues.queue_rows(db, agent=agent, queue_key="payment", now=now).items
        return [r.id for r in rows]

    assert order(T0 + 40 * M) == [urgent.id, high.id, near.id, later.id]
    assert sla.sweep(db, now=T0 + 85 * M, limit=100) == 1
    assert (near.sla_risk, near.queue_rank, high.queue_rank, urgent.queue_rank) == (True, 5, 4, 6)
    rows = queues.queue_rows(db, agent=agent, queue_key="payment", now=T0 + 85 * M).items
    assert [r.id for r in rows] == [urgent.id, near.id, high.id, later.id]
    assert rows[1].sla_risk and [m for m, _ in rows[1].deadlines] == ["first_response"]
    # A second page starts after the risen ticket, by its rank.
    page = queues.queue_rows(db, agent=agent, queue_key="payment", now=T0 + 85 * M, limit=2)
    rest = queues.queue_rows(db, agent=agent, queue_key="payment", now=T0 + 85 * M, cursor=page.next_cursor)
    assert [r.id for r in page.items + rest.items] == [urgent.id, near.id, high.id, later.id]

    claimed = [assignment.claim_next(db, agent=agent, now=T0 + 86 * M) for _ in range(4)]
    assert claimed == [urgent.id, near.id, high.id, later.id]
