"""Targets: attainment math (higher and lower is better, no data, caps), setting targets with bad
input refused, actual figures per agent and team, self-assessment and the supervisor's assessment."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from app.accounts.models import Role
from app.errors import Conflict, Forbidden, InvalidInput
from app.metrics import targets
from app.metrics.models import Target, TargetDirection
from tests.factories import T0, count, make_agent, make_team
from tests.metrics.quality_helpers import make_solved_ticket, make_survey

D = Decimal


@pytest.mark.parametrize(
    ("actual", "target", "higher", "expected"),
    [
        (D("90"), D("100"), True, D("0.9")),
        (D("150"), D("100"), True, D("1.5")),
        (D("100"), D("100"), True, D("1")),
        (D("500"), D("100"), True, D("2")),  # capped at 200 %
        (D("0"), D("100"), True, D("0")),
        (D("3"), D("0"), True, D("2")),  # any figure beats a zero target
        (D("0"), D("0"), True, D("1")),
        (D("120"), D("60"), False, D("0.5")),  # lower is better: target ÷ actual
        (D("60"), D("60"), False, D("1")),
        (D("45"), D("60"), False, D("1.3333")),
        (D("20"), D("60"), False, D("2")),  # capped
        (D("0"), D("60"), False, D("2")),  # nothing at all: as good as it gets
        (D("0"), D("0"), False, D("1")),
        (D("2"), D("0"), False, D("0")),  # a zero target (no bad reviews) missed
        (None, D("60"), False, None),  # no data: "—", not 0 %
        (None, D("80"), True, None),
    ],
)
def test_attainment(actual, target, higher, expected):
    result = targets.attainment(actual, target, higher)
    assert result == expected if expected is None else result == expected.quantize(D("0.0001"))


def test_met_follows_the_direction_and_is_unknown_without_data():
    assert targets.is_met(D("90"), D("85"), True) is True
    assert targets.is_met(D("90"), D("85"), False) is False
    assert targets.is_met(D("85"), D("85"), False) is True
    assert targets.is_met(None, D("85"), True) is None


@pytest.mark.parametrize(
    "text", ["2026-13", "2026-00", "2026/11", "26-11", "", "２０２６-11", "2026-1", "1999-12", "x"]
)
def test_a_malformed_month_is_refused(text):
    with pytest.raises(InvalidInput) as err:
        targets.parse_month(text)
    assert "month" in err.value.fields


def test_months_parse_and_shift():
    assert targets.parse_month("2026-11") == (2026, 11)
    assert targets.shift_month(2026, 12, 1) == (2027, 1)
    assert targets.shift_month(2026, 1, -1) == (2025, 12)
    # 2026-11-30 16:30 UTC is already December in Shanghai.
    assert targets.current_month(datetime(2026, 11, 30, 16, 30, tzinfo=UTC)) == (2026, 12)


def test_a_target_is_set_once_per_subject_month_and_kpi(db):
    boss = make_agent(db, role=Role.supervisor)
    agent = make_agent(db)
    first = targets.set_target(
        db, subject=f"agent:{agent.id}", year=2026, month=11, kpi="csat_avg", value="4.5", actor=boss, now=T0
    )
    assert (first.value, first.direction, first.agent_id, first.team_id) == (
        D("4.5"),
        TargetDirection.higher,
        agent.id,
        None,
    )
    again = targets.set_target(
        db, subject=f"agent:{agent.id}", year=2026, month=11, kpi="csat_avg", value="4.8", actor=boss, now=T0
    )
    assert again.id == first.id and again.value == D("4.8")
    assert count(db, Target) == 1
    lower = targets.set_target(
        db,
        subject=f"agent:{agent.id}",
        year=2026,
        month=11,
        kpi="resolution_time",
        value="1800",
        actor=boss,
        now=T0,
    )
    assert lower.direction == TargetDirection.lower  # the KPI's own direction by default
    team = make_team(db)
    for_team = targets.set_target(
        db,
        subject=f"team:{team.id}",
        year=2026,
        month=11,
        kpi="reply_rate",
        value="95%",
        direction="higher",
        actor=boss,
        now=T0,
    )
    assert (for_team.team_id, for_team.agent_id, for_team.value) == (team.id, None, D("95"))


@pytest.mark.parametrize(
    ("field", "overrides"),
    [
        ("subject", {"subject": "agent:999999"}),
        ("subject", {"subject": "team:999999"}),
        ("subject", {"subject": "store:1"}),
        ("subject", {"subject": ""}),
        ("kpi", {"kpi": "happiness"}),
        ("value", {"value": "abc"}),
        ("value", {"value": "-1"}),
        ("value", {"value": "NaN"}),
        ("value", {"value": "Infinity"}),
        ("value", {"value": "101"}),  # a percentage over 100
        ("value", {"value": "1.23456"}),
        ("value", {"value": "８５"}),
        ("direction", {"direction": "sideways"}),
    ],
)
def test_bad_target_input_is_refused(db, field, overrides):
    boss = make_agent(db, role=Role.supervisor)
    agent = make_agent(db)
    values = {
        "subject": f"agent:{agent.id}",
        "year": 2026,
        "month": 11,
        "kpi": "reply_rate",
        "value": "90",
        "actor": boss,
        "now": T0,
    } | overrides
    with pytest.raises(InvalidInput) as err:
        targets.set_target(db, **values)
    assert field in err.value.fields
    assert count(db, Target) == 0


def test_lines_carry_the_months_actual_figures_per_agent_and_team(db):
    boss = make_agent(db, role=Role.supervisor)
    team = make_team(db)
    mei = make_agent(db, team=team.id)
    li = make_agent(db, team=team.id)
    november = datetime(2026, 11, 10, 4, 0, tzinfo=UTC)
    for who, ratings in ((mei, (5, 4)), (li, (2,))):
        for rating in ratings:
            ticket = make_solved_ticket(db, agent=who, solved_at=november)  # solved in 1 h
            make_survey(db, ticket, sent_at=november, rating=rating)
    make_solved_ticket(
        db, agent=mei, solved_at=datetime(2026, 10, 31, 15, 59, tzinfo=UTC)
    )  # Oct 31 23:59 local
    mine = dict(subject=f"agent:{mei.id}", year=2026, month=11, actor=boss, now=T0)
    targets.set_target(db, kpi="csat_avg", value="4", **mine)
    targets.set_target(db, kpi="resolution_time", value="1800", **mine)
    targets.set_target(db, kpi="tickets_solved", value="4", **mine)
    targets.set_target(db, kpi="qa_score", value="90", **mine)
    targets.set_target(
        db, subject=f"team:{team.id}", year=2026, month=11, kpi="csat_avg", value="4", actor=boss, now=T0
    )
    own = targets.lines(
        db, targets.targets_for(db, year=2026, month=11, agent_id=mei.id), year=2026, month=11
    )
    by_kpi = {line.target.kpi: line for line in own}
    assert (by_kpi["csat_avg"].actual, by_kpi["csat_avg"].attainment, by_kpi["csat_avg"].met) == (
        D("4.5"),
        D("1.125"),
        True,
    )
    assert by_kpi["csat_avg"].percent == 113
    resolution = by_kpi["resolution_time"]
    assert (resolution.actual, resolution.attainment, resolution.met) == (D("3600"), D("0.5"), False)
    assert (by_kpi["tickets_solved"].actual, by_kpi["tickets_solved"].attainment) == (D("2"), D("0.5"))
    qa = by_kpi["qa_score"]
    assert (qa.actual, qa.attainment, qa.met, qa.percent) == (None, None, None, 0)
    team_line = targets.lines(
        db, targets.targets_for(db, year=2026, month=11, team_id=team.id), year=2026, month=11
    )
    assert team_line[0].actual == D("3.67")  # (5 + 4 + 2) ÷ 3 over the team's agents


def test_the_month_overview_lists_agents_and_teams_with_their_targets(db):
    boss = make_agent(db, role=Role.supervisor)
    team = make_team(db)
    mei = make_agent(db, display_name="小美")
    writer = make_agent(db, display_name="小李")
    targets.set_target(
        db, subject=f"agent:{mei.id}", year=2026, month=11, kpi="reply_rate", value="90", actor=boss, now=T0
    )
    targets.set_target(
        db, subject=f"team:{team.id}", year=2026, month=11, kpi="reply_rate", value="90", actor=boss, now=T0
    )
    targets.write_self_assessment(db, writer, year=2026, month=11, text="本月不错", rating="4", now=T0)
    overview = targets.month_overview(db, year=2026, month=11)
    assert [(r.name, len(r.lines)) for r in overview["agents"]] == [("小李", 0), ("小美", 1)]
    assert overview["agents"][0].assessment.self_rating == 4
    assert [(r.name, len(r.lines)) for r in overview["teams"]] == [(team.name, 1)]
    assert targets.month_overview(db, year=2026, month=10) == {"agents": [], "teams": []}


def test_self_assessment_then_the_supervisors_closes_it(db):
    boss = make_agent(db, role=Role.supervisor)
    agent = make_agent(db)
    row = targets.write_self_assessment(db, agent, year=2026, month=11, text=" 响应快了 ", rating="", now=T0)
    assert (row.self_text, row.self_rating, row.self_at) == ("响应快了", None, T0)
    row = targets.write_self_assessment(
        db, agent, year=2026, month=11, text="响应快了，差评也少了", rating="4", now=T0
    )
    assert row.self_rating == 4
    row = targets.write_supervisor_assessment(
        db, agent, year=2026, month=11, text="同意，继续保持", rating="5", actor=boss, now=T0
    )
    assert (row.supervisor_id, row.supervisor_rating, row.self_text) == (boss.id, 5, "响应快了，差评也少了")
    with pytest.raises(Conflict):
        targets.write_self_assessment(db, agent, year=2026, month=11, text="改一下", rating="", now=T0)


def test_a_supervisor_may_assess_a_month_nobody_wrote_up(db):
    boss = make_agent(db, role=Role.supervisor)
    agent = make_agent(db)
    row = targets.write_supervisor_assessment(
        db, agent, year=2026, month=10, text="好", rating="", actor=boss, now=T0
    )
    assert row.self_at is None and row.supervisor_at == T0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"text": "   "}, "text"),
        ({"text": "好" * 4001}, "text"),
        ({"rating": "6"}, "rating"),
        ({"rating": "0"}, "rating"),
        ({"rating": "x"}, "rating"),
        ({"year": 2026, "month": 12}, "month"),  # the future
    ],
)
def test_bad_assessments_are_refused(db, kwargs, field):
    agent = make_agent(db)
    values = {
        "year": 2026,
        "month": 11,
        "text": "还行",
        "rating": "3",
        "now": T0 + timedelta(days=1),
    } | kwargs
    with pytest.raises(InvalidInput) as err:
        targets.write_self_assessment(db, agent, **values)
    assert field in err.value.fields


def test_nobody_writes_the_supervisors_assessment_of_their_own_month(db):
    boss = make_agent(db, role=Role.supervisor)
    with pytest.raises(Forbidden):
        targets.write_supervisor_assessment(
            db, boss, year=2026, month=11, text="我很好", rating="5", actor=boss, now=T0
        )


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [
        (None, "percent", "—"),
        (D("85"), "percent", "85.0%"),
        (D("45"), "seconds", "45 s"),
        (D("150"), "seconds", "2 min 30 s"),
        (D("3600"), "seconds", "1 h"),
        (D("5430"), "seconds", "1 h 30 min"),
        (D("1234.5"), "money", "¥1,234.50"),
        (D("7"), "count", "7"),
        (D("4.50"), "score", "4.5"),
        (D("90.00"), "score", "90"),
    ],
)
def test_values_show_in_their_unit(value, unit, shown):
    assert targets.format_value(value, unit) == shown
