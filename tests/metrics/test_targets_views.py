"""Target pages: supervisors only on /reports/targets, every agent on their own /reports/me/targets,
CSRF on every form, bad months and unknown agents as clear 4xx."""

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from app.accounts.models import Role
from app.db import utc_now
from app.metrics import targets
from app.metrics.models import SelfAssessment, Target
from tests.factories import count, login, make_agent, make_team

THIS_MONTH = targets.month_text(*targets.current_month(datetime.now(UTC)))


@pytest.fixture
def boss(db):
    return make_agent(db, role=Role.supervisor, display_name="王主管")


@pytest.fixture
def agent(db):
    return make_agent(db, display_name="小美")


def _target(db, boss, agent, kpi="reply_rate", value="90"):
    year, month = targets.parse_month(THIS_MONTH)
    return targets.set_target(
        db,
        subject=f"agent:{agent.id}",
        year=year,
        month=month,
        kpi=kpi,
        value=value,
        actor=boss,
        now=utc_now(),
    )


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get("/reports/targets", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert client.get("/reports/me/targets", follow_redirects=False).status_code == 303


def test_agents_cannot_use_the_supervisor_pages(client, db, boss, agent):
    target = _target(db, boss, agent)
    csrf = login(client, agent)
    assert client.get("/reports/targets").status_code == 403
    assert client.get(f"/reports/targets/agents/{agent.id}").status_code == 403
    posts = {
        "/reports/targets": {
            "month": THIS_MONTH,
            "subject": f"agent:{agent.id}",
            "kpi": "reply_rate",
            "value": "100",
        },
        f"/reports/targets/{target.id}/delete": {},
        f"/reports/targets/agents/{agent.id}/assessment": {"month": THIS_MONTH, "text": "我给自己打满分"},
    }
    for path, data in posts.items():
        assert client.post(path, data=data | {"csrf_token": csrf}).status_code == 403, path
    db.refresh(target)
    assert target.value == 90 and count(db, SelfAssessment) == 0


def test_a_supervisor_sets_a_target_and_sees_it_against_the_figures(client, db, boss, agent):
    csrf = login(client, boss)
    page = client.get("/reports/targets")
    assert page.status_code == 200 and 'id="target-form"' in page.text and "小美" in page.text
    response = client.post(
        "/reports/targets",
        data={
            "month": THIS_MONTH,
            "subject": f"agent:{agent.id}",
            "kpi": "reply_rate",
            "value": "95",
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert (
        response.status_code == 303 and response.headers["location"] == f"/reports/targets?month={THIS_MONTH}"
    )
    target = db.exec(select(Target)).one()
    assert (target.agent_id, target.kpi, target.value) == (agent.id, "reply_rate", 95)
    shown = client.get(f"/reports/targets?month={THIS_MONTH}")
    assert f'id="target-{target.id}"' in shown.text and "95.0%" in shown.text
    assert client.get(f"/reports/targets/agents/{agent.id}?month={THIS_MONTH}").status_code == 200


def test_a_team_target_is_set_and_shown_to_its_agents(client, db, boss):
    team = make_team(db)
    member = make_agent(db, team=team.id)
    csrf = login(client, boss)
    client.post(
        "/reports/targets",
        data={
            "month": THIS_MONTH,
            "subject": f"team:{team.id}",
            "kpi": "csat_avg",
            "value": "4.6",
            "csrf_token": csrf,
        },
    )
    client.cookies.clear()
    login(client, member)
    mine = client.get("/reports/me/targets")
    assert mine.status_code == 200 and "4.6" in mine.text
    # The workbench's box shows the agent's own targets only: the team's month is not computed.
    box = client.get("/reports/me/targets", headers={"HX-Request": "true"})
    assert box.status_code == 200 and 'id="my-targets"' in box.text and "4.6" not in box.text


@pytest.mark.parametrize(
    ("data", "status"),
    [
        ({"month": "2026-13"}, 422),
        ({"month": ""}, 422),
        ({"subject": "agent:999999"}, 422),
        ({"subject": "team:abc"}, 422),
        ({"kpi": "nope"}, 422),
        ({"value": "-5"}, 422),
        ({"value": "abc"}, 422),
    ],
)
def test_bad_target_input_is_a_clear_4xx(client, db, boss, agent, data, status):
    csrf = login(client, boss)
    form = {"month": THIS_MONTH, "subject": f"agent:{agent.id}", "kpi": "reply_rate", "value": "90"} | data
    response = client.post("/reports/targets", data=form | {"csrf_token": csrf})
    assert response.status_code == status and 'class="error-box"' in response.text
    assert count(db, Target) == 0


def test_bad_months_and_unknown_agents_on_pages(client, db, boss):
    login(client, boss)
    assert client.get("/reports/targets?month=2026-1").status_code == 422
    assert client.get("/reports/me/targets?month=november").status_code == 422
    assert client.get("/reports/targets/agents/999999").status_code == 404
    assert client.get("/reports/targets/agents/abc").status_code == 422


def test_a_target_is_removed(client, db, boss, agent):
    target = _target(db, boss, agent)
    csrf = login(client, boss)
    response = client.post(
        f"/reports/targets/{target.id}/delete", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert response.status_code == 303 and count(db, Target) == 0
    assert client.post("/reports/targets/999999/delete", data={"csrf_token": csrf}).status_code == 404


def test_every_form_needs_the_csrf_token(client, db, boss, agent):
    target = _target(db, boss, agent)
    login(client, boss)
    for path, data in (
        (
            "/reports/targets",
            {"month": THIS_MONTH, "subject": f"agent:{agent.id}", "kpi": "csat_avg", "value": "4"},
        ),
        (f"/reports/targets/{target.id}/delete", {}),
        (f"/reports/targets/agents/{agent.id}/assessment", {"month": THIS_MONTH, "text": "好"}),
        ("/reports/me/targets/assessment", {"month": THIS_MONTH, "text": "好"}),
    ):
        assert client.post(path, data=data).status_code == 403, path
        assert client.post(path, data=data | {"csrf_token": "forged"}).status_code == 403, path
    assert count(db, Target) == 1 and count(db, SelfAssessment) == 0


def test_an_agent_sees_their_targets_writes_a_self_assessment_and_reads_the_supervisors(
    client, db, boss, agent
):
    _target(db, boss, agent, kpi="csat_avg", value="4.5")
    csrf = login(client, agent)
    page = client.get("/reports/me/targets")
    assert (
        page.status_code == 200
        and 'id="my-targets"' in page.text
        and 'id="self-assessment-form"' in page.text
    )
    partial = client.get("/reports/me/targets", headers={"HX-Request": "true"})
    assert partial.text.lstrip().startswith('<section id="my-targets"') and "<html" not in partial.text
    response = client.post(
        "/reports/me/targets/assessment",
        data={"month": THIS_MONTH, "text": "这个月差评少了", "rating": "4", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert "这个月差评少了" in client.get("/reports/me/targets").text
    bad = client.post(
        "/reports/me/targets/assessment", data={"month": THIS_MONTH, "text": "", "csrf_token": csrf}
    )
    assert bad.status_code == 422
    client.cookies.clear()
    boss_csrf = login(client, boss)
    client.post(
        f"/reports/targets/agents/{agent.id}/assessment",
        data={"month": THIS_MONTH, "text": "同意，继续保持", "rating": "5", "csrf_token": boss_csrf},
    )
    assert "同意，继续保持" in client.get(f"/reports/targets/agents/{agent.id}").text
    client.cookies.clear()
    csrf = login(client, agent)
    closed = client.get("/reports/me/targets")
    assert "同意，继续保持" in closed.text and 'id="self-assessment-form"' not in closed.text
    late = client.post(
        "/reports/me/targets/assessment", data={"month": THIS_MONTH, "text": "再改改", "csrf_token": csrf}
    )
    assert late.status_code == 409


def test_an_agent_only_ever_sees_their_own_targets(client, db, boss, agent):
    other = make_agent(db, display_name="小李")
    _target(db, boss, other, kpi="csat_avg", value="4.9")
    login(client, agent)
    page = client.get("/reports/me/targets")
    assert "4.9" not in page.text and 'id="target-' not in page.text
