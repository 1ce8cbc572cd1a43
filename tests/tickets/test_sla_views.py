"""SLA pages: supervisors edit policies on /settings/sla (plain form and htmx, 4xx inline for bad
input, nothing written), list and export breaches on /reports/sla, read them from the API; agents
see time left per deadline in the workspace and the queue."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.accounts.models import Role
from app.tickets import service
from app.tickets.sla_models import SlaPolicy
from tests.factories import T0, bearer, count, login, make_agent, make_api_key, make_team
from tests.tickets.helpers import make_ticket
from tests.tickets.sla_helpers import make_policy

HX = {"HX-Request": "true"}
GOOD = {
    "name": "售后 · 紧急",
    "kind": "aftersales",
    "priority": "urgent",
    "first_response_minutes": "30",
    "next_response_minutes": "20",
    "resolution_minutes": "480",
    "clock": "business",
    "day_start": "09:00",
    "day_end": "21:00",
    "pause_when_pending": "1",
    "risk_percent": "25",
}
NOVEMBER = "start=2026-11-01&end=2026-11-30"


@pytest.fixture
def team(db):
    return make_team(db, name="售后-SLA")


@pytest.fixture
def supervisor(db, team):
    return make_agent(db, role=Role.supervisor, team=team.name)


def test_agents_cannot_open_the_sla_pages(client, db, team):
    login(client, make_agent(db, team=team.name))
    assert client.get("/settings/sla").status_code == 403
    assert client.get("/reports/sla").status_code == 403


def test_the_settings_hub_links_sla_policies(client, db, supervisor):
    login(client, supervisor)
    assert 'href="/settings/sla"' in client.get("/settings").text


def test_a_supervisor_adds_a_team_policy_with_a_plain_form(client, db, team, supervisor):
    token = login(client, supervisor)
    page = client.get("/settings/sla")
    assert page.status_code == 200 and 'action="/settings/sla/policies"' in page.text
    data = GOOD | {"team_id": str(team.id), "csrf_token": token}
    response = client.post("/settings/sla/policies", data=data, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/settings/sla?team={team.id}"
    policy = db.exec(SlaPolicy.__table__.select()).one()
    assert (policy.team_id, policy.kind, policy.priority) == (team.id, "aftersales", "urgent")
    assert (policy.first_response_minutes, policy.resolution_minutes, policy.risk_percent) == (30, 480, 25)
    assert policy.pause_when_pending and not policy.pause_when_snoozed
    assert f'id="sla-policy-{policy.id}"' in client.get("/settings/sla").text


def test_htmx_add_redirects_and_htmx_errors_come_back_inline(client, db, team, supervisor):
    token = login(client, supervisor)
    ok = client.post("/settings/sla/policies", data=GOOD | {"csrf_token": token}, headers=HX)
    assert ok.status_code == 204 and ok.headers["HX-Redirect"] == "/settings/sla"
    bad = client.post(
        "/settings/sla/policies",
        data=GOOD | {"priority": "high", "first_response_minutes": "-10", "csrf_token": token},
        headers=HX,
    )
    assert bad.status_code == 422
    assert bad.text.lstrip().startswith(
        '<form method="post" action="/settings/sla/policies" id="sla-policy-new"'
    )
    assert "error-box" in bad.text and 'value="-10"' in bad.text and 'aria-invalid="true"' in bad.text
    assert count(db, SlaPolicy) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"first_response_minutes": "-1"}, "first_response_minutes"),
        ({"day_start": "18:00", "day_end": "09:00"}, "day_end"),
        ({"team_id": "999999"}, "team_id"),
        ({"kind": "haggling"}, "kind"),
        ({"clock": "sundial"}, "clock"),
    ],
)
def test_bad_policy_input_is_a_422_on_the_page_and_nothing_is_written(client, db, supervisor, change, field):
    token = login(client, supervisor)
    response = client.post("/settings/sla/policies", data=GOOD | change | {"csrf_token": token})
    assert response.status_code == 422
    assert 'id="sla-policy-new-error"' in response.text and f"<code>{field}</code>" in response.text
    assert count(db, SlaPolicy) == 0


def test_editing_and_removing_a_policy(client, db, team, supervisor):
    policy = make_policy(db, team_id=team.id, first_response_minutes=60)
    token = login(client, supervisor)
    url = f"/settings/sla/policies/{policy.id}"
    bad = client.post(url, data=GOOD | {"team_id": str(team.id), "day_end": "08:00", "csrf_token": token})
    assert bad.status_code == 422 and f'id="sla-policy-{policy.id}-error"' in bad.text
    db.refresh(policy)
    assert policy.first_response_minutes == 60 and policy.kind is None
    good = client.post(
        url, data=GOOD | {"team_id": str(team.id), "csrf_token": token}, follow_redirects=False
    )
    assert good.status_code == 303
    db.refresh(policy)
    assert policy.first_response_minutes == 30 and policy.kind == "aftersales"
    assert client.post(url, data=GOOD).status_code == 403  # no CSRF token
    gone = client.post(f"{url}/delete", data={"csrf_token": token}, follow_redirects=False)
    assert gone.status_code == 303 and count(db, SlaPolicy) == 0


def test_a_supervisor_cannot_change_another_teams_policy(client, db, supervisor):
    other = make_team(db)
    policy = make_policy(db, team_id=other.id, first_response_minutes=60)
    token = login(client, supervisor)
    data = GOOD | {"team_id": str(other.id), "csrf_token": token}
    assert client.post(f"/settings/sla/policies/{policy.id}", data=data).status_code == 403
    assert (
        client.post(f"/settings/sla/policies/{policy.id}/delete", data={"csrf_token": token}).status_code
        == 403
    )
    assert client.post("/settings/sla/policies", data=data).status_code == 403
    db.refresh(policy)
    assert policy.first_response_minutes == 60 and count(db, SlaPolicy) == 1


def _breached(db, team):
    make_policy(db, clock="calendar", first_response_minutes=60, resolution_minutes=120)
    agent = make_agent(db, team=team.name)
    ticket = make_ticket(db, now=T0, team=team.name, subject="催付 · SLA 测试")
    service.reply(db, ticket, agent=agent, body="抱歉久等", now=T0 + timedelta(minutes=90))
    service.solve(db, ticket, agent=agent, now=T0 + timedelta(minutes=200))
    return ticket, agent


def test_the_breach_list_links_tickets_filters_and_exports(client, db, team, supervisor):
    ticket, agent = _breached(db, team)
    login(client, supervisor)
    page = client.get(f"/reports/sla?{NOVEMBER}")
    assert page.status_code == 200
    assert page.text.count(f'href="/tickets/{ticket.id}"') == 2  # first response and resolution
    assert 'data-metric-count="first_response"' in page.text
    only = client.get(f"/reports/sla?{NOVEMBER}&metric=resolution&team={team.id}", headers=HX)
    assert only.status_code == 200 and only.text.count(f'href="/tickets/{ticket.id}"') == 1
    assert "<html" not in only.text  # the partial
    other_team = client.get(f"/reports/sla?{NOVEMBER}&team={make_team(db).id}")
    assert f'href="/tickets/{ticket.id}"' not in other_team.text
    assert client.get(f"/reports/sla?{NOVEMBER}&metric=speed").status_code == 422
    assert client.get("/reports/sla?start=2026-11-30&end=2026-11-01").status_code == 422
    csv = client.get(f"/reports/sla/export.csv?{NOVEMBER}")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    lines = csv.content.decode("utf-8").splitlines()
    assert lines[0].startswith("\ufeff") and len(lines) == 3
    assert f"{ticket.id},催付 · SLA 测试" in lines[1] and "2026-11-11T12:00" in lines[1]  # resolution, local
    assert agent.display_name in lines[1]


def test_the_breach_api(client, db, team):
    ticket, agent = _breached(db, team)
    db.commit()
    headers = bearer(make_api_key(db))
    body = client.get(f"/api/v1/sla-breaches?{NOVEMBER}&metric=first_response", headers=headers).json()
    assert body["counts"] == {"first_response": 1, "next_response": 0, "resolution": 0}
    [item] = body["items"]
    assert (item["ticket_id"], item["metric"], item["agent_id"]) == (ticket.id, "first_response", agent.id)
    assert item["due_at"] == "2026-11-11T03:00:00+00:00"
    bad = client.get("/api/v1/sla-breaches?metric=speed", headers=headers)
    assert bad.status_code == 422 and "metric" in bad.json()["fields"]
    assert client.get("/api/v1/sla-breaches").status_code == 401


def test_time_left_per_deadline_in_the_workspace_and_the_queue(client, db, team):
    make_policy(db, clock="calendar", first_response_minutes=60, resolution_minutes=600)
    agent = make_agent(db, team=team.name)
    ticket = make_ticket(db, now=T0, team=team.name)
    login(client, agent)
    page = client.get(f"/tickets/{ticket.id}")
    assert 'data-sla="first_response"' in page.text and 'data-sla="resolution"' in page.text
    rows = client.get("/queues/payment/rows", headers=HX)
    assert 'data-sla="first_response"' in rows.text
    service.snooze(db, ticket, agent=agent, until=T0 + timedelta(days=60), now=T0)
    db.commit()
    paused = client.get(f"/tickets/{ticket.id}")
    assert 'data-sla="paused"' in paused.text and 'data-sla="first_response"' not in paused.text
