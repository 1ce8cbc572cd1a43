"""The workbench (/): queues with counts, rows, live polling, next ticket, away; and presence."""

from datetime import timedelta

import pytest

from app.accounts.models import Agent, Role
from app.db import utc_now
from app.tickets import presence
from app.tickets.models import Ticket, TicketViewer
from tests.factories import count, login, make_agent, make_customer, make_store, make_team
from tests.tickets.helpers import make_ticket

HX = {"HX-Request": "true"}


def test_workbench_lists_queues_with_counts_and_the_selected_queues_rows(client, db):
    agent = make_agent(db)
    customer = make_customer(db, nickname="爱喝茶的小王")
    ticket = make_ticket(db, customer=customer, subject="催付 · 小王的龙井", priority="urgent")
    login(client, agent)
    page = client.get("/?queue=payment")
    assert page.status_code == 200
    assert 'id="queue-list"' in page.text and 'id="queue-rows"' in page.text
    assert 'data-queue-count="payment">1<' in page.text
    assert f'data-ticket-url="/tickets/{ticket.id}"' in page.text
    assert "小王的龙井" in page.text and "爱喝茶的小王" in page.text
    assert 'class="next-button"' in page.text and 'id="away-toggle"' in page.text
    assert 'hx-trigger="every 4s"' in page.text and 'id="shortcut-legend"' in page.text


def test_rows_are_ordered_as_the_service_gives_them(client, db):
    agent = make_agent(db)
    low = make_ticket(db, subject="低优先级", priority="low")
    urgent = make_ticket(db, subject="紧急", priority="urgent")
    normal = make_ticket(db, subject="普通", priority="normal")
    login(client, agent)
    text = client.get("/queues/payment/rows", headers=HX).text
    positions = [text.index(f'data-ticket-id="{t.id}"') for t in (urgent, normal, low)]
    assert positions == sorted(positions)


def test_a_ticket_created_after_the_page_loaded_shows_up_in_the_polled_partials(client, db):
    agent = make_agent(db)
    login(client, agent)
    page = client.get("/?queue=payment")
    assert "新来的催付" not in page.text and 'data-queue-count="payment">0<' in page.text
    # Another process (a webhook, a follow-up) opens a ticket; the data is in the database.
    ticket = make_ticket(db, subject="新来的催付")
    rows = client.get("/queues/payment/rows", headers=HX)
    assert rows.status_code == 200 and "<html" not in rows.text
    assert rows.text.lstrip().startswith('<div id="queue-rows"')
    assert f'data-ticket-id="{ticket.id}"' in rows.text and "新来的催付" in rows.text
    counts = client.get("/queues/counts?queue=payment", headers=HX)
    assert counts.text.lstrip().startswith('<ul id="queue-list"')
    assert 'data-queue-count="payment">1<' in counts.text


def test_an_unknown_queue_is_a_404_and_an_unknown_selection_falls_back(client, db):
    login(client, make_agent(db))
    assert client.get("/queues/nope/rows", headers=HX).status_code == 404
    page = client.get("/?queue=nope")
    assert page.status_code == 200 and 'aria-current="true"' in page.text


def test_a_bad_cursor_is_an_inline_4xx(client, db):
    login(client, make_agent(db))
    response = client.get("/queues/payment/rows?cursor=%%%", headers=HX)
    assert response.status_code == 422 and "error-box" in response.text


def test_agents_see_only_the_buyer_nickname_in_rows_never_the_phone(client, db):
    customer = make_customer(db, phone="13912345678")
    make_ticket(db, customer=customer)
    login(client, make_agent(db))
    text = client.get("/queues/payment/rows", headers=HX).text
    assert customer.nickname in text and "13912345678" not in text


def test_next_ticket_claims_the_most_urgent_and_opens_it(client, db):
    agent = make_agent(db)
    make_ticket(db, subject="普通", priority="normal")
    urgent = make_ticket(db, subject="紧急", priority="urgent")
    token = login(client, agent)
    response = client.post("/tickets/next", headers=HX | {"X-CSRF-Token": token})
    assert response.status_code == 204 and response.headers["HX-Redirect"] == f"/tickets/{urgent.id}"
    db.refresh(urgent)
    assert urgent.assignee_id == agent.id
    # Without JavaScript: a 303 to the next one.
    plain = client.post("/tickets/next", data={"csrf_token": token}, follow_redirects=False)
    assert plain.status_code == 303 and plain.headers["location"].startswith("/tickets/")


def test_next_checks_who_is_logged_in_and_claims_in_one_trip_to_the_thread_pool(client, db, monkeypatch):
    """Under a rush each trip to a worker thread and back is a wait for a thread and the GIL: the
    login check, the claim and its commit make one (as a dependency and a route they made two)."""
    import functools

    import anyio.to_thread

    agent = make_agent(db)
    ticket = make_ticket(db, subject="催发货", priority="urgent")
    token = login(client, agent)
    trips: list[str] = []
    real = anyio.to_thread.run_sync

    async def counting(func, *args, **kwargs):
        inner = func.func if isinstance(func, functools.partial) else func
        trips.append(getattr(inner, "__qualname__", repr(inner)))
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counting)
    response = client.post("/tickets/next", headers=HX | {"X-CSRF-Token": token})
    assert response.headers["HX-Redirect"] == f"/tickets/{ticket.id}"
    # The test's own session (a sync generator standing in for get_session) takes trips of its own.
    route_trips = [name for name in trips if "_test_session" not in name and "__e" not in name]
    assert route_trips == ["as_agent.<locals>.run"]
    db.refresh(ticket)
    assert ticket.assignee_id == agent.id
    # An account disabled since it logged in is refused in that same trip, and claims nothing.
    other = make_ticket(db, subject="另一张")
    agent.is_active = False
    db.add(agent)
    db.commit()
    trips.clear()
    refused = client.post("/tickets/next", headers=HX | {"X-CSRF-Token": token})
    assert refused.status_code == 403 and "已停用" in refused.text
    assert [name for name in trips if "_test_session" not in name and "__e" not in name] == [
        "as_agent.<locals>.run"
    ]
    db.refresh(other)
    assert other.assignee_id is None


def test_next_on_an_empty_queue_is_a_friendly_inline_message(client, db):
    token = login(client, make_agent(db))
    response = client.post("/tickets/next", headers=HX | {"X-CSRF-Token": token})
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="next-result"') and "<html" not in response.text
    plain = client.post("/tickets/next", data={"csrf_token": token}, follow_redirects=False)
    assert plain.status_code == 303 and plain.headers["location"] == "/"
    assert "Nothing is waiting" in client.get("/").text or "没有" in client.get("/").text


def test_next_needs_the_csrf_token_and_a_login(client, db):
    make_ticket(db)
    assert client.post("/tickets/next", follow_redirects=False).status_code in (303, 401, 403)
    login(client, make_agent(db))
    assert client.post("/tickets/next", headers=HX).status_code == 403
    assert count(db, Ticket, assignee_id=None) == 1


def test_workbench_needs_a_login(client):
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert client.get("/queues/payment/rows", headers=HX).status_code == 401


def test_away_toggle_and_the_seen_heartbeat(client, db):
    agent = make_agent(db)
    token = login(client, agent)
    response = client.post("/me/away", data={"away": "1"}, headers=HX | {"X-CSRF-Token": token})
    assert response.status_code == 200 and response.text.lstrip().startswith('<form id="away-toggle"')
    assert 'value="0"' in response.text
    assert db.get(Agent, agent.id).is_away is True
    plain = client.post("/me/away", data={"away": "0", "csrf_token": token}, follow_redirects=False)
    assert plain.status_code == 303 and db.get(Agent, agent.id).is_away is False
    db.execute(Agent.__table__.update().where(Agent.id == agent.id).values(last_seen_at=None))
    db.expire_all()
    assert client.post("/me/seen", headers=HX | {"X-CSRF-Token": token}).status_code == 204
    db.expire_all()
    assert db.get(Agent, agent.id).last_seen_at is not None


def test_polling_reads_never_write(client, db):
    """Polled GETs only read (a GET never writes); the heartbeats are POSTs."""
    agent = make_agent(db)
    ticket = make_ticket(db)
    login(client, agent)
    client.get("/queues/counts", headers=HX)
    client.get(f"/tickets/{ticket.id}/presence", headers=HX)
    db.expire_all()
    assert db.get(Agent, agent.id).last_seen_at is None
    assert count(db, TicketViewer, ticket_id=ticket.id) == 0


def test_presence_shows_another_agent_with_the_ticket_open(client, db):
    team = make_team(db)
    me = make_agent(db, team=team.name)
    li = make_agent(db, team=team.name, display_name="小李")
    ticket = make_ticket(db)
    presence.heartbeat(db, ticket_id=ticket.id, agent_id=li.id, now=utc_now())
    token = login(client, me)
    response = client.post(f"/tickets/{ticket.id}/presence", headers=HX | {"X-CSRF-Token": token})
    assert response.status_code == 200 and response.text.lstrip().startswith('<div id="presence-notice"')
    assert "小李" in response.text
    assert count(db, TicketViewer, ticket_id=ticket.id, agent_id=me.id) == 1
    # The same agent's later heartbeat updates its row, never a second one.
    client.post(f"/tickets/{ticket.id}/presence", headers=HX | {"X-CSRF-Token": token})
    assert count(db, TicketViewer, ticket_id=ticket.id, agent_id=me.id) == 1
    page = client.get(f"/tickets/{ticket.id}")
    assert "小李" in page.text and f'hx-post="/tickets/{ticket.id}/presence"' in page.text


def test_presence_forgets_viewers_after_the_window(client, db):
    me, gone = make_agent(db), make_agent(db, display_name="早走了")
    ticket = make_ticket(db)
    presence.heartbeat(db, ticket_id=ticket.id, agent_id=gone.id, now=utc_now() - timedelta(seconds=40))
    token = login(client, me)
    response = client.post(f"/tickets/{ticket.id}/presence", headers=HX | {"X-CSRF-Token": token})
    assert "早走了" not in response.text


def test_presence_on_an_unknown_ticket_is_404(client, db):
    token = login(client, make_agent(db))
    assert client.post("/tickets/999999/presence", headers=HX | {"X-CSRF-Token": token}).status_code == 404


@pytest.mark.parametrize("role", [Role.agent, Role.supervisor, Role.admin])
def test_every_role_has_a_workbench(client, db, role):
    make_store(db)
    login(client, make_agent(db, role=role))
    page = client.get("/")
    assert page.status_code == 200 and 'id="queue-list"' in page.text
