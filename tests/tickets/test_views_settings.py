"""Desk settings (/settings/desk): a supervisor sets the team's assignment, queues and macros."""

import pytest
from sqlmodel import select

from app.accounts.models import AssignmentMode, Role, Team
from app.i18n import translations_for
from app.tickets.models import Macro, Queue
from tests.factories import count, login, make_agent, make_team
from tests.tickets.helpers import make_ticket


@pytest.fixture
def team(db):
    return make_team(db, name="售后-设置")


@pytest.fixture
def supervisor(db, team):
    return make_agent(db, role=Role.supervisor, team=team.name)


def _queue(db, team, key):
    return db.exec(select(Queue).where(Queue.team_id == team.id, Queue.key == key)).one()


def test_agents_cannot_open_desk_settings(client, db, team):
    login(client, make_agent(db, team=team.name))
    assert client.get("/settings/desk").status_code == 403


def test_the_settings_hub_links_desk_settings_for_supervisors(client, db, supervisor):
    login(client, supervisor)
    assert 'href="/settings/desk"' in client.get("/settings").text


def test_a_supervisor_sees_the_teams_assignment_and_default_queues(client, db, team, supervisor):
    login(client, supervisor)
    page = client.get("/settings/desk")
    assert page.status_code == 200
    assert f'action="/settings/desk/teams/{team.id}/assignment"' in page.text
    assert count(db, Queue, team_id=team.id) == 12
    assert f'id="queue-setting-{_queue(db, team, "payment").id}"' in page.text


def test_saving_the_assignment_mode_and_cap(client, db, team, supervisor):
    token = login(client, supervisor)
    url = f"/settings/desk/teams/{team.id}/assignment"
    response = client.post(
        url, data={"mode": "round_robin", "max_open": "5", "csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == f"/settings/desk?team={team.id}"
    db.refresh(team)
    assert team.assignment_mode == AssignmentMode.round_robin and team.max_open_per_agent == 5
    bad = client.post(url, data={"mode": "round_robin", "max_open": "-1", "csrf_token": token})
    assert bad.status_code == 422
    assert client.post(url, data={"mode": "lottery", "csrf_token": token}).status_code == 422
    assert client.post(url, data={"mode": "manual"}).status_code == 403  # no CSRF token


def test_a_supervisor_cannot_change_another_teams_assignment(client, db, supervisor):
    other = make_team(db)
    token = login(client, supervisor)
    response = client.post(
        f"/settings/desk/teams/{other.id}/assignment", data={"mode": "round_robin", "csrf_token": token}
    )
    assert response.status_code == 403
    assert db.get(Team, other.id).assignment_mode == AssignmentMode.manual


def test_adding_a_queue_shows_it_on_the_teams_workbench(client, db, team, supervisor):
    token = login(client, supervisor)
    response = client.post(
        f"/settings/desk/teams/{team.id}/queues",
        data={
            "name": "VIP 催付",
            "kinds": ["payment_reminder"],
            "statuses": ["open"],
            "priorities": ["high", "urgent"],
            "assignee": "unassigned_or_mine",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    queue = db.exec(select(Queue).where(Queue.team_id == team.id, Queue.name == "VIP 催付")).one()
    assert queue.filters["kinds"] == ["payment_reminder"] and queue.filters["priorities"] == [
        "high",
        "urgent",
    ]
    ticket = make_ticket(db, priority="urgent", team=team.name, subject="加急催付")
    client.cookies.clear()
    login(client, make_agent(db, team=team.name))
    rows = client.get(f"/queues/{queue.key}/rows", headers={"HX-Request": "true"})
    assert f'data-ticket-id="{ticket.id}"' in rows.text
    assert "VIP 催付" in client.get("/").text


def test_editing_a_default_queue_keeps_its_translatable_name_unless_renamed(client, db, team, supervisor):
    token = login(client, supervisor)
    client.get("/settings/desk")
    queue = _queue(db, team, "payment")
    label = translations_for("zh_CN").gettext(queue.name)  # as the page shows it
    data = {
        "name": label,
        "kinds": ["payment_reminder"],
        "statuses": ["open", "pending"],
        "csrf_token": token,
    }
    response = client.post(f"/settings/desk/queues/{queue.id}", data=data, follow_redirects=False)
    assert response.status_code == 303
    db.refresh(queue)
    assert queue.filters["statuses"] == ["open", "pending"] and queue.name == "Payment reminders"
    client.post(f"/settings/desk/queues/{queue.id}", data=data | {"name": "催付（新）"})
    db.refresh(queue)
    assert queue.name == "催付（新）"


def test_custom_queues_can_be_deleted_defaults_cannot(client, db, team, supervisor):
    token = login(client, supervisor)
    client.post(
        f"/settings/desk/teams/{team.id}/queues",
        data={"name": "临时", "statuses": ["open"], "csrf_token": token},
    )
    custom = db.exec(select(Queue).where(Queue.team_id == team.id, Queue.name == "临时")).one()
    default = _queue(db, team, "presale")
    assert (
        client.post(f"/settings/desk/queues/{default.id}/delete", data={"csrf_token": token}).status_code
        == 422
    )
    response = client.post(
        f"/settings/desk/queues/{custom.id}/delete", data={"csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303 and db.get(Queue, custom.id) is None
    assert db.get(Queue, default.id) is not None


def test_bad_queue_filters_are_refused(client, db, team, supervisor):
    token = login(client, supervisor)
    response = client.post(
        f"/settings/desk/teams/{team.id}/queues",
        data={"name": "坏的", "kinds": ["nonsense"], "csrf_token": token},
    )
    assert response.status_code == 422
    assert count(db, Queue, team_id=team.id, name="坏的") == 0


def test_an_admin_picks_the_team(client, db, team):
    other = make_team(db, name="回访-设置")
    login(client, make_agent(db, role=Role.admin))
    page = client.get(f"/settings/desk?team={other.id}")
    assert page.status_code == 200 and "回访-设置" in page.text
    assert f'action="/settings/desk/teams/{other.id}/assignment"' in page.text
    assert client.get("/settings/desk?team=999999").status_code == 404


def test_macros_are_added_used_on_tickets_and_deleted(client, db, team, supervisor):
    token = login(client, supervisor)
    response = client.post(
        f"/settings/desk/teams/{team.id}/macros",
        data={"name": "转售后加急", "set_priority": "urgent", "add_tags": "售后, 加急", "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    macro = db.exec(select(Macro).where(Macro.team_id == team.id)).one()
    assert macro.set_priority == "urgent" and macro.add_tags == ["售后", "加急"]
    ticket = make_ticket(db, team=team.name)
    assert f'name="macro_id" value="{macro.id}"' in client.get(f"/tickets/{ticket.id}").text
    empty = client.post(f"/settings/desk/teams/{team.id}/macros", data={"name": "空的", "csrf_token": token})
    assert empty.status_code == 422
    client.post(f"/settings/desk/macros/{macro.id}/delete", data={"csrf_token": token})
    assert db.get(Macro, macro.id) is None
