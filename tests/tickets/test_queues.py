"""Queues: the defaults, what each shows an agent, counts in one query, rows in urgency order."""

from datetime import timedelta

import pytest
from sqlalchemy import event

from app.accounts.models import Role
from app.errors import Forbidden, InvalidInput, NotFound
from app.tickets import queues, service
from app.tickets.models import Queue, TicketStatus
from tests.factories import T0, count, make_agent, make_customer, make_team
from tests.tickets.helpers import buyer_says, make_ticket


def _agent(db, team=None, **overrides):
    team = team or make_team(db)
    return make_agent(db, team=team.id, **overrides)


def test_an_agent_gets_the_twelve_default_queues_once(db):
    agent = _agent(db)
    keys = [q.key for q in queues.queues_for(db, agent, now=T0)]
    assert keys == [
        "presale",
        "bargaining",
        "payment",
        "reassurance",
        "shipping",
        "confirm",
        "review_request",
        "bad_review",
        "aftersales",
        "lost_lead",
        "revisit",
        "mine",
    ]
    queues.queues_for(db, agent, now=T0)
    assert count(db, Queue, team_id=agent.team_id) == 12


def test_counts_per_queue_in_one_query(db, engine):
    agent = _agent(db)
    other = _agent(db)
    make_ticket(db, kind="payment_reminder")
    make_ticket(db, kind="payment_reminder", priority="high")
    mine = make_ticket(db, kind="bad_review")
    service.assign(db, mine, assignee_id=agent.id, actor=agent, now=T0)
    theirs = make_ticket(db, kind="bad_review")
    service.assign(db, theirs, assignee_id=other.id, actor=other, now=T0)
    buyer_says(db, make_customer(db))
    snoozed = make_ticket(db, kind="shipping")
    service.snooze(db, snoozed, agent=agent, until=T0 + timedelta(days=1), now=T0)
    service.assign(db, snoozed, assignee_id=agent.id, actor=agent, now=T0)
    queues.queues_for(db, agent, now=T0)  # defaults exist before counting
    statements: list[str] = []

    def spy(conn, cursor, statement, *args):
        if "FROM tickets" in statement:
            statements.append(statement)

    connection = db.connection()
    event.listen(connection, "before_cursor_execute", spy)
    try:
        counts = queues.queue_counts(db, agent=agent, now=T0)
    finally:
        event.remove(connection, "before_cursor_execute", spy)
    assert len(statements) == 1
    assert counts["payment"] == 2
    assert counts["bad_review"] == 1, "somebody else's ticket stays off my queue"
    assert counts["presale"] == 1
    assert counts["shipping"] == 0, "a snoozed ticket is out of the team queues"
    assert counts["mine"] == 2, "my queue holds all my active tickets, snoozed too"
    assert counts["revisit"] == 0


def test_rows_are_ordered_by_priority_then_due_time_then_id(db):
    agent = _agent(db)
    low = make_ticket(db, kind="payment_reminder", priority="low")
    normal_late = make_ticket(db, kind="payment_reminder", now=T0 + timedelta(hours=1))
    normal_early = make_ticket(db, kind="payment_reminder")
    urgent = make_ticket(db, kind="payment_reminder", priority="urgent", now=T0 + timedelta(hours=2))
    no_due = make_ticket(db, kind="payment_reminder")
    no_due.first_response_due_at = no_due.resolution_due_at = no_due.due_at = None
    db.add(no_due)
    db.flush()
    rows = queues.queue_rows(db, agent=agent, queue_key="payment", now=T0).items
    assert [r.id for r in rows] == [urgent.id, normal_early.id, normal_late.id, no_due.id, low.id]
    first = rows[0]
    assert first.priority == "urgent" and first.kind == "payment_reminder" and first.status == "open"
    assert first.customer_name.startswith("买家") and first.assignee_name == ""
    assert first.due_at == T0 + timedelta(hours=2, minutes=15)


def test_rows_page_with_a_cursor_through_every_ticket_once(db):
    agent = _agent(db)
    made = []
    for i in range(7):
        ticket = make_ticket(
            db, kind="revisit", priority=("low", "normal", "high")[i % 3], now=T0 + timedelta(minutes=i)
        )
        made.append(ticket.id)
    blank = make_ticket(db, kind="revisit")
    blank.first_response_due_at = blank.resolution_due_at = blank.due_at = None
    db.add(blank)
    db.flush()
    seen, cursor = [], None
    while True:
        page = queues.queue_rows(db, agent=agent, queue_key="revisit", now=T0, cursor=cursor, limit=3)
        seen += [r.id for r in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    everything = queues.queue_rows(db, agent=agent, queue_key="revisit", now=T0, limit=50).items
    assert seen == [r.id for r in everything] and sorted(seen) == sorted([*made, blank.id])


def test_a_queue_of_two_kinds_reads_in_the_same_order_as_one_sort_of_everything(db):
    """Team queues are read as one index range per (status, kind, rank, due or not) and merged:
    the pages must be exactly those of sorting the whole queue (mine and unassigned, both kinds)."""
    agent = _agent(db)
    made = []
    for i in range(23):
        ticket = make_ticket(
            db,
            kind=("review_request", "review_thanks")[i % 2],
            priority=("low", "normal", "high", "urgent")[i % 4],
            now=T0 + timedelta(minutes=(i * 7) % 5),  # equal due times: the id breaks the tie
        )
        if i % 5 == 0:
            ticket.first_response_due_at = ticket.resolution_due_at = ticket.due_at = None
        if i % 6 == 0:
            service.assign(db, ticket, assignee_id=agent.id, actor=agent, now=T0)
        if i % 7 == 0:  # at risk of an SLA breach: ranked above its own priority
            ticket.queue_rank += 3
        db.add(ticket)
        made.append(ticket)
    theirs = make_ticket(db, kind="review_request", priority="urgent")
    service.assign(db, theirs, assignee_id=_agent(db, team=None).id, actor=agent, now=T0)
    db.flush()
    expected = sorted(made, key=lambda t: (-t.queue_rank, t.due_at is None, t.due_at or T0, t.id))
    seen, cursor = [], None
    while True:
        page = queues.queue_rows(db, agent=agent, queue_key="review_request", now=T0, cursor=cursor, limit=4)
        seen += [r.id for r in page.items]
        if (cursor := page.next_cursor) is None:
            break
    assert seen == [t.id for t in expected]
    whole = queues.queue_rows(db, agent=agent, queue_key="review_request", now=T0, limit=50).items
    assert [r.id for r in whole] == seen


def test_counts_stop_at_the_cap(db, monkeypatch):
    from app.tickets import workbench

    agent = _agent(db)
    for _ in range(5):
        make_ticket(db, kind="payment_reminder")
    make_ticket(db, kind="bad_review")
    monkeypatch.setattr(queues, "COUNT_CAP", 3)
    counts = queues.queue_counts(db, agent=agent, now=T0)
    assert counts["payment"] == 3 and counts["bad_review"] == 1 and counts["shipping"] == 0
    listing = workbench.queue_list(db, agent=agent, now=T0)
    shown = {e.key: e.shown for e in listing.entries}
    assert shown["payment"] == "2+" and shown["bad_review"] == "1" and shown["shipping"] == "0"


def test_a_full_queue_shows_the_99_plus_badge():
    from app.tickets.workbench import QueueEntry

    def badge(count: int) -> str:
        return QueueEntry("payment", "催付", count, False).shown

    assert (badge(0), badge(99), badge(100)) == ("0", "99", "99+")


def test_bad_cursor_limit_or_queue_is_a_clear_error(db):
    agent = _agent(db)
    with pytest.raises(InvalidInput) as err:
        queues.queue_rows(db, agent=agent, queue_key="payment", now=T0, cursor="not-a-cursor")
    assert "cursor" in err.value.fields
    with pytest.raises(InvalidInput):
        queues.queue_rows(db, agent=agent, queue_key="payment", now=T0, limit=0)
    with pytest.raises(NotFound):
        queues.queue_rows(db, agent=agent, queue_key="nope", now=T0)


def test_a_team_queue_holds_its_teams_tickets_and_those_of_no_team(db):
    presale, aftersales = make_team(db), make_team(db)
    agent = _agent(db, team=presale)
    ours = make_ticket(db, kind="payment_reminder", team=presale.name)
    nobodys = make_ticket(db, kind="payment_reminder")
    make_ticket(db, kind="payment_reminder", team=aftersales.name)
    rows = queues.queue_rows(db, agent=agent, queue_key="payment", now=T0).items
    assert {r.id for r in rows} == {ours.id, nobodys.id}


def test_the_mine_queue_shows_pending_and_snoozed_work_of_mine(db):
    agent = _agent(db)
    ticket = make_ticket(db)
    service.reply(db, ticket, agent=agent, body="好的", now=T0, then_status="pending")
    assert [r.id for r in queues.queue_rows(db, agent=agent, queue_key="mine", now=T0).items] == [ticket.id]
    assert queues.queue_rows(db, agent=agent, queue_key="payment", now=T0).items == []
    assert ticket.status == TicketStatus.pending


def test_a_tag_filter_matches_tickets_carrying_the_tag(db):
    supervisor = _agent(db, role=Role.supervisor)
    queue = queues.create_queue(
        db, actor=supervisor, team_id=supervisor.team_id, name="VIP 催付", filters={"tags": ["VIP"]}, now=T0
    )
    tagged = make_ticket(db)
    service.set_tags(db, tagged, tags=["VIP", "老客"], actor=supervisor, now=T0)
    make_ticket(db)
    rows = queues.queue_rows(db, agent=supervisor, queue_key=queue.key, now=T0).items
    assert [r.id for r in rows] == [tagged.id]
    assert queues.queue_counts(db, agent=supervisor, now=T0)[queue.key] == 1


def test_supervisors_manage_their_teams_queues(db):
    team = make_team(db)
    supervisor = _agent(db, team=team, role=Role.supervisor)
    queue = queues.create_queue(
        db,
        actor=supervisor,
        team_id=team.id,
        name="加急差评",
        filters={"kinds": ["bad_review"], "priorities": ["urgent", "high"], "assignee": "unassigned"},
        now=T0,
    )
    assert queue.filters == {
        "kinds": ["bad_review"],
        "priorities": ["high", "urgent"],
        "statuses": ["open"],
        "assignee": "unassigned",
    }
    assert queue.key in {q.key for q in queues.queues_for(db, supervisor, now=T0)}
    queues.update_queue(db, queue, actor=supervisor, now=T0, name="差评（加急）")
    assert queue.name == "差评（加急）"
    queues.delete_queue(db, queue, actor=supervisor, now=T0)
    assert queue.key not in {q.key for q in queues.queues_for(db, supervisor, now=T0)}


def test_agents_and_other_teams_supervisors_cannot_change_queues(db):
    team = make_team(db)
    agent = _agent(db, team=team)
    outsider = _agent(db, role=Role.supervisor)
    for actor in (agent, outsider):
        with pytest.raises(Forbidden):
            queues.create_queue(db, actor=actor, team_id=team.id, name="x", filters={}, now=T0)


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"kinds": ["gossip"]}, "kinds"),
        ({"statuses": ["deleted"]}, "statuses"),
        ({"priorities": ["asap"]}, "priorities"),
        ({"assignee": "everyone"}, "assignee"),
        ({"tags": ["x" * 33]}, "tags"),
        ({"color": "red"}, "filters"),
    ],
)
def test_bad_queue_filters_are_refused(db, filters, field):
    supervisor = _agent(db, role=Role.supervisor)
    with pytest.raises(InvalidInput) as err:
        queues.create_queue(
            db, actor=supervisor, team_id=supervisor.team_id, name="x", filters=filters, now=T0
        )
    assert field in err.value.fields


def test_default_queues_are_not_deleted_and_mine_keeps_its_filter(db):
    supervisor = _agent(db, role=Role.supervisor)
    by_key = {q.key: q for q in queues.queues_for(db, supervisor, now=T0)}
    with pytest.raises(InvalidInput):
        queues.delete_queue(db, by_key["payment"], actor=supervisor, now=T0)
    with pytest.raises(InvalidInput):
        queues.update_queue(db, by_key["mine"], actor=supervisor, now=T0, filters={"kinds": ["other"]})


def test_an_agent_without_a_team_sees_every_teams_tickets_in_shared_queues(db):
    loner = make_agent(db)
    team = make_team(db)
    theirs = make_ticket(db, kind="payment_reminder", team=team.name)
    nobodys = make_ticket(db, kind="payment_reminder")
    assert {q.team_id for q in queues.queues_for(db, loner, now=T0)} == {None}
    rows = queues.queue_rows(db, agent=loner, queue_key="payment", now=T0).items
    assert {r.id for r in rows} == {theirs.id, nobodys.id}
    assert queues.queue_counts(db, agent=loner, now=T0)["payment"] == 2


def test_counts_and_rows_follow_new_tickets_and_a_changed_queue(db):
    """The counts' and first page's statements are built once per agent and queue set
    (queues._statements): new tickets show at once, and a changed queue by its new filters."""
    supervisor = _agent(db, role=Role.supervisor)
    queue = queues.create_queue(
        db, actor=supervisor, team_id=supervisor.team_id, name="VIP 催付", filters={"tags": ["VIP"]}, now=T0
    )
    assert queues.queue_counts(db, agent=supervisor, now=T0)[queue.key] == 0
    tagged = make_ticket(db)
    service.set_tags(db, tagged, tags=["VIP"], actor=supervisor, now=T0)
    assert queues.queue_counts(db, agent=supervisor, now=T0)[queue.key] == 1
    queues.update_queue(db, queue, actor=supervisor, filters={"tags": ["老客"]}, now=T0)
    assert queues.queue_counts(db, agent=supervisor, now=T0)[queue.key] == 0
    assert queues.queue_rows(db, agent=supervisor, queue_key=queue.key, now=T0).items == []
    service.set_tags(db, tagged, tags=["老客"], actor=supervisor, now=T0)
    assert queues.queue_counts(db, agent=supervisor, now=T0)[queue.key] == 1
    rows = queues.queue_rows(db, agent=supervisor, queue_key=queue.key, now=T0).items
    assert [r.id for r in rows] == [tagged.id]
