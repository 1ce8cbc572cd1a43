"""Next-ticket claims (also with concurrent claimers on PostgreSQL), away status, auto-assignment."""

import re
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from app.accounts.models import Agent, AssignmentMode, Role
from app.errors import Forbidden, InvalidInput
from app.tickets import assignment, service
from app.tickets.models import Queue, Ticket
from app.tickets.queues import update_queue
from tests.conftest import create_scratch_database, drop_scratch_database
from tests.factories import T0, make_agent, make_customer, make_store, make_team
from tests.tickets.helpers import make_ticket

NOW = T0 + timedelta(minutes=30)


def _agent(db, team, **overrides):
    agent = make_agent(db, team=team.id, **overrides)
    agent.last_seen_at = NOW - timedelta(minutes=1)
    db.add(agent)
    db.flush()
    return agent


def test_next_takes_the_most_urgent_waiting_ticket_then_the_next(db):
    team = make_team(db)
    agent = _agent(db, team)
    normal = make_ticket(db, kind="payment_reminder")
    urgent = make_ticket(db, kind="bad_review", priority="urgent", now=T0 + timedelta(minutes=10))
    assert assignment.claim_next(db, agent=agent, now=NOW) == urgent.id, "the claimed ticket's id"
    db.refresh(urgent)
    assert urgent.assignee_id == agent.id and urgent.assigned_at == NOW and urgent.updated_at == NOW
    assert assignment.claim_next(db, agent=agent, now=NOW) == normal.id
    assert assignment.claim_next(db, agent=agent, now=NOW) is None, "nothing waits: None, not an error"


def test_next_takes_rank_first_then_the_earliest_due_then_no_due_then_the_oldest(db):
    """The queue's order, across ranks (a ticket near its SLA breach ranks above the next
    priority): one scan of ix_tickets_waiting gives it, however the ranks are spread."""
    team = make_team(db)
    agent = _agent(db, team)
    plan = {  # name: (queue_rank, due in minutes or None)
        "rank4-due-soonest": (4, 5),
        "rank6-due-later": (6, 120),
        "rank6-due-sooner": (6, 60),
        "rank6-no-due": (6, None),
        "rank6-no-due-newer": (6, None),
        "rank7-no-due": (7, None),
    }
    made = {}
    for name, (rank, due) in plan.items():
        ticket = make_ticket(db)
        ticket.queue_rank = rank
        ticket.due_at = None if due is None else NOW + timedelta(minutes=due)
        db.add(ticket)
        made[name] = ticket.id
    db.flush()
    order = [
        "rank7-no-due",
        "rank6-due-sooner",
        "rank6-due-later",
        "rank6-no-due",
        "rank6-no-due-newer",
        "rank4-due-soonest",
    ]
    statements: list[str] = []

    def spy(conn, cursor, statement, *args):
        if re.search(r"\btickets\b", statement):
            statements.append(statement)

    connection = db.connection()
    sa.event.listen(connection, "before_cursor_execute", spy)
    try:
        claimed = [assignment.claim_next(db, agent=agent, now=NOW) for _ in order]
    finally:
        sa.event.remove(connection, "before_cursor_execute", spy)
    assert claimed == [made[name] for name in order]
    # PostgreSQL: one UPDATE each (its candidate chosen inside it); elsewhere a SELECT of the
    # candidates and the UPDATE. Not a probe per rank, nor a reload of the claimed row.
    per_claim = 1 if db.get_bind().dialect.name == "postgresql" else 2
    assert len(statements) == per_claim * len(order), statements
    assert assignment.claim_next(db, agent=agent, now=NOW) is None


def test_next_skips_others_work_snoozed_pending_and_other_teams(db):
    team, other_team = make_team(db), make_team(db)
    agent, colleague = _agent(db, team), _agent(db, team)
    taken = make_ticket(db)
    service.assign(db, taken, assignee_id=colleague.id, actor=colleague, now=T0)
    snoozed = make_ticket(db)
    service.snooze(db, snoozed, agent=agent, until=T0 + timedelta(days=1), now=T0)
    pending = make_ticket(db)
    service.reply(db, pending, agent=None, body="稍后付款吗？", now=T0, then_status="pending", automated=True)
    make_ticket(db, team=other_team.name)
    assert assignment.claim_next(db, agent=agent, now=NOW) is None


def test_next_within_one_queue(db):
    team = make_team(db)
    agent = _agent(db, team)
    make_ticket(db, kind="bad_review", priority="urgent")
    revisit = make_ticket(db, kind="revisit", priority="low")
    assert assignment.claim_next(db, agent=agent, now=NOW, queue_key="revisit") == revisit.id
    assert assignment.claim_next(db, agent=agent, now=NOW, queue_key="revisit") is None


def test_a_queue_changed_since_the_last_claim_is_claimed_from_as_it_is_now(db):
    """A claim's statements are built once per set of queue filters: changed filters (by any
    process: they are read at each claim) make a new one."""
    team = make_team(db)
    agent = _agent(db, team)
    supervisor = make_agent(db, team=team.id, role=Role.supervisor)
    high = make_ticket(db, kind="revisit", priority="high")
    normal = make_ticket(db, kind="revisit", priority="normal")
    later = make_ticket(db, kind="revisit", priority="normal")
    assert assignment.claim_next(db, agent=agent, now=NOW, queue_key="revisit") == high.id
    queue = db.exec(select(Queue).where(Queue.team_id == team.id, Queue.key == "revisit")).one()
    update_queue(
        db, queue, actor=supervisor, now=NOW, filters={"kinds": ["revisit"], "priorities": ["urgent"]}
    )
    assert assignment.claim_next(db, agent=agent, now=NOW, queue_key="revisit") is None
    update_queue(db, queue, actor=supervisor, now=NOW, filters={"kinds": ["revisit"]})
    later_now = NOW + timedelta(minutes=5)
    assert assignment.claim_next(db, agent=agent, now=later_now, queue_key="revisit") == normal.id
    db.refresh(normal)
    assert normal.assignee_id == agent.id and normal.assigned_at == later_now == normal.updated_at
    assert db.get(Ticket, later.id).assignee_id is None


def test_an_away_agent_can_still_take_the_next_ticket_by_hand(db):
    team = make_team(db)
    agent = _agent(db, team)
    assignment.set_away(db, agent, away=True, now=NOW)
    assert agent.is_away and agent.last_seen_at == NOW
    ticket = make_ticket(db)
    assert assignment.claim_next(db, agent=agent, now=NOW) == ticket.id


def test_touch_seen_writes_at_most_every_thirty_seconds(db):
    team = make_team(db)
    agent = _agent(db, team)
    assignment.touch_seen(db, agent, now=NOW)
    assert agent.last_seen_at == NOW
    assignment.touch_seen(db, agent, now=NOW + timedelta(seconds=10))
    db.expire(agent)
    assert agent.last_seen_at == NOW
    assignment.touch_seen(db, agent, now=NOW + timedelta(seconds=31))
    db.expire(agent)
    assert agent.last_seen_at == NOW + timedelta(seconds=31)


def _auto_team(db, mode, cap=0):
    team = make_team(db)
    supervisor = make_agent(db, team=team.id, role=Role.supervisor)
    assignment.update_team_assignment(db, team, mode=mode, max_open=cap, actor=supervisor, now=T0)
    return team


def _assignees(db, team):
    rows = db.exec(select(Ticket.assignee_id).where(Ticket.team_id == team.id).order_by(Ticket.id))
    return list(rows)


def test_round_robin_gives_tickets_to_online_agents_in_turn_and_resumes(db):
    team = _auto_team(db, "round_robin")
    a, b, c = _agent(db, team), _agent(db, team), _agent(db, team)
    for i in range(4):
        make_ticket(db, team=team.name, now=T0 + timedelta(minutes=i))
    assert assignment.auto_assign(db, now=NOW) == 4
    assert _assignees(db, team) == [a.id, b.id, c.id, a.id]
    assert team.last_assigned_agent_id == a.id
    make_ticket(db, team=team.name, now=NOW)
    assignment.auto_assign(db, now=NOW)
    assert _assignees(db, team)[-1] == b.id


def test_fewest_open_balances_by_active_tickets(db):
    team = _auto_team(db, "fewest_open")
    busy, idle = _agent(db, team), _agent(db, team)
    for _ in range(2):
        ticket = make_ticket(db, team=team.name)
        service.assign(db, ticket, assignee_id=busy.id, actor=busy, now=T0)
    for i in range(3):
        make_ticket(db, team=team.name, now=T0 + timedelta(minutes=1 + i))
    assert assignment.auto_assign(db, now=NOW) == 3
    assert _assignees(db, team)[2:] == [idle.id, idle.id, busy.id]


def test_the_cap_holds_and_the_rest_waits(db):
    team = _auto_team(db, "round_robin", cap=1)
    a, b = _agent(db, team), _agent(db, team)
    for i in range(3):
        make_ticket(db, team=team.name, now=T0 + timedelta(minutes=i))
    assert assignment.auto_assign(db, now=NOW) == 2
    assert sorted(x for x in _assignees(db, team) if x) == sorted([a.id, b.id])
    assert _assignees(db, team).count(None) == 1


def test_away_offline_and_supervisors_get_nothing_automatically(db):
    team = _auto_team(db, "round_robin")
    away = _agent(db, team)
    assignment.set_away(db, away, away=True, now=NOW)
    stale = _agent(db, team)
    stale.last_seen_at = NOW - assignment.ONLINE_WINDOW - timedelta(seconds=1)
    db.add(stale)
    make_ticket(db, team=team.name)
    assert assignment.auto_assign(db, now=NOW) == 0
    online = _agent(db, team)
    assert assignment.auto_assign(db, now=NOW) == 1
    assert _assignees(db, team) == [online.id]


def test_manual_teams_and_tickets_of_no_team_are_left_to_next(db):
    team = make_team(db)
    _agent(db, team)
    make_ticket(db, team=team.name)
    make_ticket(db)
    assert assignment.auto_assign(db, now=NOW) == 0


def test_only_the_teams_supervisor_or_an_admin_sets_its_assignment(db):
    team = make_team(db)
    with pytest.raises(Forbidden):
        assignment.update_team_assignment(
            db, team, mode="round_robin", max_open=0, actor=make_agent(db, team=team.id), now=T0
        )
    with pytest.raises(Forbidden):
        assignment.update_team_assignment(
            db, team, mode="round_robin", max_open=0, actor=make_agent(db, role=Role.supervisor), now=T0
        )
    admin = make_agent(db, role=Role.admin)
    assignment.update_team_assignment(db, team, mode="fewest_open", max_open="5", actor=admin, now=T0)
    assert team.assignment_mode == AssignmentMode.fewest_open and team.max_open_per_agent == 5


@pytest.mark.parametrize(("mode", "cap", "field"), [("lottery", 0, "mode"), ("manual", -1, "max_open")])
def test_bad_assignment_settings_are_refused(db, mode, cap, field):
    team = make_team(db)
    admin = make_agent(db, role=Role.admin)
    with pytest.raises(InvalidInput) as err:
        assignment.update_team_assignment(db, team, mode=mode, max_open=cap, actor=admin, now=T0)
    assert field in err.value.fields


@pytest.mark.postgres_only
@pytest.mark.parametrize("autocommit", [False, True], ids=["transaction", "autocommit"])
def test_concurrent_claimers_never_get_the_same_ticket(autocommit):
    """Also as "next ticket" claims, without a transaction (app.db.autocommit_on_postgres)."""
    from app.db import autocommit_on_postgres, create_db_engine
    from app.migrations import upgrade

    url = create_scratch_database("claims")
    tickets, claimers = 400, 8
    try:
        upgrade(url)
        engine = create_db_engine(url, pool_size=claimers + 2)
        with Session(engine) as session:
            team = make_team(session)
            agents = [make_agent(session, team=team.id) for _ in range(claimers)]
            store = make_store(session)
            customers = [make_customer(session, store=store) for _ in range(40)]
            rows = [
                {
                    "kind": "payment_reminder",
                    "status": "open",
                    "priority": "normal",
                    "priority_rank": i % 4,
                    "customer_id": customers[i % 40].id,
                    "store_id": store.id,
                    "subject": f"催付 {i}",
                    "tags": [],
                    "due_at": T0 + timedelta(minutes=i % 97),
                    "created_at": T0,
                    "updated_at": T0,
                }
                for i in range(tickets)
            ]
            session.execute(sa.insert(Ticket), rows)
            session.commit()
            agent_ids = [a.id for a in agents]
        barrier = threading.Barrier(claimers)
        claimed: dict[int, list[int]] = {agent_id: [] for agent_id in agent_ids}
        errors: list[BaseException] = []

        def claimer(agent_id: int) -> None:
            try:
                barrier.wait()
                while True:
                    with Session(engine, expire_on_commit=False) as session:
                        if autocommit:
                            autocommit_on_postgres(session)
                        agent = session.get(Agent, agent_id)
                        ticket_id = assignment.claim_next(session, agent=agent, now=NOW)
                        session.commit()
                    if ticket_id is None:
                        return
                    claimed[agent_id].append(ticket_id)
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        threads = [threading.Thread(target=claimer, args=(agent_id,)) for agent_id in agent_ids]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not errors, errors
        everything = [ticket_id for ids in claimed.values() for ticket_id in ids]
        assert len(everything) == tickets and len(set(everything)) == tickets, "a ticket was claimed twice"
        assert sum(1 for ids in claimed.values() if ids) > 1, "the claimers really ran side by side"
        with Session(engine) as session:
            owners = dict(session.exec(select(Ticket.id, Ticket.assignee_id)).all())
        assert all(owners[ticket_id] == agent_id for agent_id, ids in claimed.items() for ticket_id in ids)
        engine.dispose()
    finally:
        drop_scratch_database(url)
