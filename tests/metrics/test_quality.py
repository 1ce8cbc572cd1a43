"""Quality inspection: the rubric with fatal items, sampling solved tickets, scoring, the one appeal,
and the QA score per agent that joins the metrics."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from app.accounts.models import Role
from app.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.metrics import quality
from app.metrics import quality_appeals as appeals
from app.metrics import quality_sampling as sampling
from app.metrics.models import AppealStatus, InspectionStatus, QaInspection, QaItemScore, RubricKind
from app.metrics.period import Period, month_period
from app.tickets.models import TicketKind, TicketStatus
from tests.factories import T0, count, make_agent
from tests.metrics.quality_helpers import make_solved_ticket, make_survey

FULL = {"greeting": "15", "accuracy": "35", "empathy": "25", "policy": "25"}
NOV = datetime(2026, 11, 10, 4, 0, tzinfo=UTC)


@pytest.fixture
def boss(db):
    return make_agent(db, role=Role.supervisor)


def _inspect(db, boss, ticket):
    batch = sampling.sample(
        db,
        filters=sampling.SampleFilters(agent_id=ticket.assignee_id),
        size="1",
        mode="latest",
        name="",
        actor=boss,
        now=T0,
    )
    inspection = db.exec(select(QaInspection).where(QaInspection.batch_id == batch.id)).one()
    assert inspection.ticket_id == ticket.id
    return inspection


# --- the rubric ----------------------------------------------------------------------------------


def test_the_default_rubric_has_points_items_worth_100_and_fatal_items(db):
    items = quality.rubric(db, now=T0)
    points = [i for i in items if i.kind == RubricKind.points]
    fatal = {i.key for i in items if i.kind == RubricKind.fatal}
    assert [i.key for i in points] == ["greeting", "accuracy", "empathy", "policy"]
    assert sum(i.max_points for i in points) == 100
    assert fatal == {"rude_language", "leaked_buyer_data", "review_reward"}
    quality.ensure_rubric(db, now=T0)  # idempotent
    assert len(quality.rubric(db, now=T0)) == len(items)


def test_rubric_items_can_be_added_and_switched_off_but_one_points_item_stays(db):
    item = quality.add_item(db, label="Upsell politely", kind="points", max_points="10", now=T0)
    assert (item.key, item.max_points) == ("upsell_politely", 10)
    twin = quality.add_item(db, label="Upsell politely", kind="fatal", max_points="", now=T0)
    assert (twin.key, twin.max_points) == ("upsell_politely_2", 0)
    for key in ("greeting", "accuracy", "empathy", "policy"):
        target = next(i for i in quality.rubric(db, now=T0) if i.key == key)
        quality.set_item_active(db, target.id, active=False, now=T0)
    with pytest.raises(InvalidInput):
        quality.set_item_active(db, item.id, active=False, now=T0)
    with pytest.raises(NotFound):
        quality.set_item_active(db, 999999, active=False, now=T0)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"label": ""}, "label"),
        ({"label": "x" * 101}, "label"),
        ({"kind": "bonus"}, "kind"),
        ({"max_points": "0"}, "max_points"),
        ({"max_points": "101"}, "max_points"),
        ({"max_points": "ten"}, "max_points"),
    ],
)
def test_bad_rubric_items_are_refused(db, kwargs, field):
    values = {"label": "Tone", "kind": "points", "max_points": "10", "now": T0} | kwargs
    with pytest.raises(InvalidInput) as err:
        quality.add_item(db, **values)
    assert field in err.value.fields


# --- scoring -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("points", "max_points", "fatal", "expected"),
    [(100, 100, False, "100.00"), (73, 100, False, "73.00"), (2, 3, False, "66.67"), (90, 100, True, "0.00")],
)
def test_score_math(points, max_points, fatal, expected):
    assert quality.compute_score(points, max_points, fatal) == Decimal(expected)


def test_an_inspection_is_scored_item_by_item(db, boss):
    ticket = make_solved_ticket(db, solved_at=NOV)
    inspection = _inspect(db, boss, ticket)
    marks = FULL | {"empathy": "10", "accuracy": "30"}
    quality.score(
        db,
        inspection,
        marks=marks,
        comments={"empathy": "语气有点生硬"},
        comment="整体不错",
        actor=boss,
        now=T0,
    )
    assert inspection.status == InspectionStatus.scored
    assert (inspection.points, inspection.max_points, inspection.fatal) == (80, 100, False)
    assert inspection.score == Decimal("80.00") and inspection.comment == "整体不错"
    scores = {s.item_key: s for s in quality.item_scores(db, inspection.id)}
    assert scores["empathy"].comment == "语气有点生硬" and scores["empathy"].points == 10
    assert scores["rude_language"].hit is False
    # A correction replaces the item scores, it does not add to them.
    quality.score(db, inspection, marks=FULL, actor=boss, now=T0)
    assert inspection.score == Decimal("100.00")
    assert count(db, QaItemScore, inspection_id=inspection.id) == 7


def test_a_fatal_item_zeroes_the_score(db, boss):
    inspection = _inspect(db, boss, make_solved_ticket(db, solved_at=NOV))
    quality.score(db, inspection, marks=FULL, fatal_keys=["review_reward"], actor=boss, now=T0)
    assert (inspection.points, inspection.fatal, inspection.score) == (100, True, Decimal("0.00"))


@pytest.mark.parametrize(
    ("marks", "fatal", "field"),
    [
        (FULL | {"greeting": "16"}, [], "points_greeting"),
        (FULL | {"greeting": "-1"}, [], "points_greeting"),
        (FULL | {"greeting": "7.5"}, [], "points_greeting"),
        ({k: v for k, v in FULL.items() if k != "policy"}, [], "points_policy"),
        (FULL, ["greeting"], "fatal"),
        (FULL, ["made_up"], "fatal"),
    ],
)
def test_an_incomplete_or_wrong_score_is_refused_and_nothing_is_written(db, boss, marks, fatal, field):
    inspection = _inspect(db, boss, make_solved_ticket(db, solved_at=NOV))
    with pytest.raises(InvalidInput) as err:
        quality.score(db, inspection, marks=marks, fatal_keys=fatal, actor=boss, now=T0)
    assert field in err.value.fields
    assert inspection.status == InspectionStatus.pending
    assert count(db, QaItemScore, inspection_id=inspection.id) == 0


def test_a_switched_off_item_is_not_scored_and_the_maximum_follows(db, boss):
    greeting = next(i for i in quality.rubric(db, now=T0) if i.key == "greeting")
    quality.set_item_active(db, greeting.id, active=False, now=T0)
    inspection = _inspect(db, boss, make_solved_ticket(db, solved_at=NOV))
    quality.score(
        db, inspection, marks={"accuracy": "35", "empathy": "25", "policy": "0"}, actor=boss, now=T0
    )
    assert (inspection.points, inspection.max_points, inspection.score) == (60, 85, Decimal("70.59"))


# --- sampling ------------------------------------------------------------------------------------


def test_sampling_takes_solved_assigned_uninspected_tickets_matching_the_filters(db, boss):
    mei, li = make_agent(db), make_agent(db)
    kept = make_solved_ticket(db, agent=mei, kind=TicketKind.aftersales, solved_at=NOV)
    make_solved_ticket(db, agent=li, kind=TicketKind.aftersales, solved_at=NOV)  # another agent
    make_solved_ticket(db, agent=mei, kind=TicketKind.shipping, solved_at=NOV)  # another kind
    make_solved_ticket(
        db, agent=mei, kind=TicketKind.aftersales, solved_at=NOV - timedelta(days=30)
    )  # October
    make_solved_ticket(db, agent=mei, kind=TicketKind.aftersales, status=TicketStatus.open)  # not solved
    filters = sampling.parse_filters(
        db, agent_id=str(mei.id), kind="aftersales", start="2026-11-01", end="2026-11-30"
    )
    batch = sampling.sample(db, filters=filters, size="10", mode="random", name="", actor=boss, now=T0)
    rows = sampling.batch_rows(db, batch.id)
    assert [r.inspection.ticket_id for r in rows] == [kept.id]
    assert rows[0].inspection.agent_id == mei.id and rows[0].inspection.ticket_solved_at == NOV
    assert batch.filters == {
        "agent_id": mei.id,
        "kind": "aftersales",
        "start": "2026-11-01",
        "end": "2026-11-30",
    }
    with pytest.raises(InvalidInput):  # already inspected: nothing left to sample
        sampling.sample(db, filters=filters, size="10", mode="random", name="", actor=boss, now=T0)


def test_sampling_by_low_csat(db, boss):
    agent = make_agent(db)
    unhappy = make_solved_ticket(db, agent=agent, solved_at=NOV)
    make_survey(db, unhappy, sent_at=NOV, rating=2)
    happy = make_solved_ticket(db, agent=agent, solved_at=NOV)
    make_survey(db, happy, sent_at=NOV, rating=5)
    make_survey(db, make_solved_ticket(db, agent=agent, solved_at=NOV), sent_at=NOV)  # unanswered
    filters = sampling.parse_filters(db, max_csat="2")
    batch = sampling.sample(db, filters=filters, size="5", mode="latest", name="差评质检", actor=boss, now=T0)
    assert [r.inspection.ticket_id for r in sampling.batch_rows(db, batch.id)] == [unhappy.id]
    assert batch.name == "差评质检"


def test_a_random_sample_takes_the_size_asked_and_latest_takes_the_newest(db, boss):
    agent = make_agent(db)
    tickets = [make_solved_ticket(db, agent=agent, solved_at=NOV + timedelta(hours=i)) for i in range(6)]
    filters = sampling.SampleFilters(agent_id=agent.id)
    random_batch = sampling.sample(db, filters=filters, size="3", mode="random", name="", actor=boss, now=T0)
    picked = {r.inspection.ticket_id for r in sampling.batch_rows(db, random_batch.id)}
    assert len(picked) == 3 and picked <= {t.id for t in tickets}
    latest = sampling.sample(db, filters=filters, size="2", mode="latest", name="", actor=boss, now=T0)
    rest = sorted((t for t in tickets if t.id not in picked), key=lambda t: t.solved_at, reverse=True)
    assert {r.inspection.ticket_id for r in sampling.batch_rows(db, latest.id)} == {t.id for t in rest[:2]}


def test_unassigned_tickets_are_not_sampled(db, boss):
    ticket = make_solved_ticket(db, solved_at=NOV)
    ticket.assignee_id = None
    db.add(ticket)
    with pytest.raises(InvalidInput):
        sampling.sample(
            db, filters=sampling.SampleFilters(), size="5", mode="random", name="", actor=boss, now=T0
        )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"agent_id": "999999"}, "agent_id"),
        ({"agent_id": "abc"}, "agent_id"),
        ({"kind": "gossip"}, "kind"),
        ({"max_csat": "0"}, "max_csat"),
        ({"max_csat": "6"}, "max_csat"),
        ({"start": "2026-11-30", "end": "2026-11-01"}, "end"),
        ({"start": "11/01/2026"}, "start"),
    ],
)
def test_bad_sampling_filters_are_refused(db, kwargs, field):
    with pytest.raises(InvalidInput) as err:
        sampling.parse_filters(db, **kwargs)
    assert field in err.value.fields


@pytest.mark.parametrize(
    ("size", "mode", "field"),
    [("0", "random", "size"), ("201", "random", "size"), ("x", "random", "size"), ("5", "all", "mode")],
)
def test_bad_sample_sizes_and_modes_are_refused(db, boss, size, mode, field):
    make_solved_ticket(db, solved_at=NOV)
    with pytest.raises(InvalidInput) as err:
        sampling.sample(
            db, filters=sampling.SampleFilters(), size=size, mode=mode, name="", actor=boss, now=T0
        )
    assert field in err.value.fields


# --- appeals -------------------------------------------------------------------------------------


def test_an_agent_appeals_once_and_an_upheld_appeal_rescores(db, boss):
    agent = make_agent(db)
    inspection = _inspect(db, boss, make_solved_ticket(db, agent=agent, solved_at=NOV))
    quality.score(db, inspection, marks=FULL, fatal_keys=["rude_language"], actor=boss, now=T0)
    appeal = appeals.appeal(db, inspection, agent=agent, reason="买家先骂人，我只是如实回复", now=T0)
    assert (appeal.status, appeal.score_before) == (AppealStatus.open, Decimal("0"))
    with pytest.raises(Conflict):
        appeals.appeal(db, inspection, agent=agent, reason="再申诉一次", now=T0)
    with pytest.raises(Conflict):  # the score changes only through the appeal now
        quality.score(db, inspection, marks=FULL, actor=boss, now=T0)
    appeals.resolve_appeal(
        db,
        appeal,
        decision="upheld",
        resolution="复核无不当用语",
        marks=FULL | {"empathy": "20"},
        actor=boss,
        now=T0,
    )
    assert (appeal.status, appeal.score_after, appeal.resolved_by_id) == (
        AppealStatus.upheld,
        Decimal("95.00"),
        boss.id,
    )
    assert (inspection.score, inspection.fatal) == (Decimal("95.00"), False)
    with pytest.raises(Conflict):
        appeals.resolve_appeal(db, appeal, decision="rejected", resolution="x", actor=boss, now=T0)
    with pytest.raises(Conflict):  # settled: no second appeal after the decision either
        appeals.appeal(db, inspection, agent=agent, reason="还是不服", now=T0)


def test_a_rejected_appeal_keeps_the_score_and_says_why(db, boss):
    agent = make_agent(db)
    inspection = _inspect(db, boss, make_solved_ticket(db, agent=agent, solved_at=NOV))
    quality.score(db, inspection, marks=FULL | {"greeting": "5"}, actor=boss, now=T0)
    appeal = appeals.appeal(db, inspection, agent=agent, reason="我开头问好了", now=T0)
    with pytest.raises(InvalidInput):
        appeals.resolve_appeal(db, appeal, decision="rejected", resolution="  ", actor=boss, now=T0)
    with pytest.raises(InvalidInput):
        appeals.resolve_appeal(db, appeal, decision="maybe", resolution="x", actor=boss, now=T0)
    appeals.resolve_appeal(db, appeal, decision="rejected", resolution="开头没有称呼买家", actor=boss, now=T0)
    assert (appeal.status, appeal.score_after, inspection.score) == (
        AppealStatus.rejected,
        Decimal("90.00"),
        Decimal("90.00"),
    )


def test_an_appeal_on_an_unscored_ticket_or_by_another_agent_or_without_reason_is_refused(db, boss):
    agent, other = make_agent(db), make_agent(db)
    inspection = _inspect(db, boss, make_solved_ticket(db, agent=agent, solved_at=NOV))
    with pytest.raises(InvalidInput):
        appeals.appeal(db, inspection, agent=agent, reason="还没打分就申诉", now=T0)
    quality.score(db, inspection, marks=FULL, actor=boss, now=T0)
    with pytest.raises(Forbidden):
        appeals.appeal(db, inspection, agent=other, reason="替同事申诉", now=T0)
    with pytest.raises(InvalidInput):
        appeals.appeal(db, inspection, agent=agent, reason="不", now=T0)
    assert quality.appeal_of(db, inspection.id) is None


# --- the QA score for the metrics ---------------------------------------------------------------


def test_qa_scores_average_the_final_scores_of_tickets_solved_in_the_period(db, boss):
    mei, li, idle = make_agent(db), make_agent(db), make_agent(db)
    for who, solved_at, marks, fatal in (
        (mei, NOV, FULL, []),  # 100
        (mei, NOV + timedelta(days=1), FULL | {"greeting": "0"}, []),  # 85
        (mei, NOV, FULL, ["leaked_buyer_data"]),  # 0
        (mei, datetime(2026, 10, 31, 15, 59, tzinfo=UTC), FULL | {"policy": "0"}, []),  # Oct 31 23:59 local
        (li, datetime(2026, 11, 30, 15, 59, tzinfo=UTC), FULL | {"empathy": "12"}, []),  # Nov 30 23:59: 87
        (li, datetime(2026, 11, 30, 16, 0, tzinfo=UTC), FULL | {"empathy": "0"}, []),  # Dec 1 00:00 local
    ):
        inspection = _inspect(db, boss, make_solved_ticket(db, agent=who, solved_at=solved_at))
        quality.score(db, inspection, marks=marks, fatal_keys=fatal, actor=boss, now=T0)
    _inspect(db, boss, make_solved_ticket(db, agent=idle, solved_at=NOV))  # sampled, never scored
    november = month_period(2026, 11, "Asia/Shanghai")
    assert quality.qa_scores(db, period=november) == {mei.id: Decimal("61.67"), li.id: Decimal("87.00")}
    assert quality.qa_scores(db, period=november, agent_ids=[li.id, idle.id]) == {li.id: Decimal("87.00")}
    assert quality.qa_scores(db, period=november, agent_ids=[]) == {}
    day = Period(date(2026, 11, 10), date(2026, 11, 10), "Asia/Shanghai")
    assert quality.qa_scores(db, period=day) == {mei.id: Decimal("50.00")}


def test_an_upheld_appeal_changes_the_qa_score(db, boss):
    agent = make_agent(db)
    inspection = _inspect(db, boss, make_solved_ticket(db, agent=agent, solved_at=NOV))
    quality.score(db, inspection, marks=FULL, fatal_keys=["rude_language"], actor=boss, now=T0)
    november = month_period(2026, 11, "Asia/Shanghai")
    assert quality.qa_scores(db, period=november) == {agent.id: Decimal("0.00")}
    appeal = appeals.appeal(db, inspection, agent=agent, reason="没有不当用语", now=T0)
    appeals.resolve_appeal(db, appeal, decision="upheld", resolution="", marks=FULL, actor=boss, now=T0)
    assert quality.qa_scores(db, period=november) == {agent.id: Decimal("100.00")}


def test_the_metrics_registry_shows_the_qa_score(db, boss):
    from app.metrics import kpis

    agent = make_agent(db)
    inspection = _inspect(db, boss, make_solved_ticket(db, agent=agent, solved_at=NOV))
    quality.score(db, inspection, marks=FULL | {"accuracy": "25"}, actor=boss, now=T0)
    november = month_period(2026, 11, "Asia/Shanghai")
    values = kpis.compute(db, period=november, agent_id=agent.id, keys=["qa_score"])
    assert values["qa_score"].value == Decimal("90.00")
