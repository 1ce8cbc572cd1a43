from datetime import UTC, datetime, timedelta

import time_machine

from app.accounts.models import Role
from app.accounts.security import SESSION_COOKIE, dump_session, load_session
from tests.factories import PASSWORD, csrf_from, login, make_agent


def test_login_page_renders_in_chinese_by_default(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert "登录" in response.text and 'name="csrf_token"' in response.text


def test_anonymous_page_request_redirects_to_login(client):
    response = client.get("/settings", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/settings"


def test_anonymous_htmx_request_gets_401_and_a_redirect_to_login(client):
    response = client.get("/settings", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/login?next=/settings"


def test_login_sets_a_signed_httponly_samesite_cookie_and_rotates_it(client, db):
    agent = make_agent(db)
    token = csrf_from(client)
    before = client.cookies.get(SESSION_COOKIE)
    response = client.post(
        "/login",
        data={"username": agent.username, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    cookie_header = response.headers["set-cookie"]
    assert "HttpOnly" in cookie_header and "SameSite=Lax" in cookie_header
    after = client.cookies.get(SESSION_COOKIE)
    assert after != before
    old, _ = load_session(before, 3600)
    new, _ = load_session(after, 3600)
    assert new["agent_id"] == agent.id and new["sid"] != old.get("sid") and new["csrf"] != old.get("csrf")


def test_wrong_password_gets_401_without_revealing_the_username(client, db):
    agent = make_agent(db)
    token = csrf_from(client)
    wrong = client.post(
        "/login", data={"username": agent.username, "password": "wrong-pass", "csrf_token": token}
    )
    ghost = client.post(
        "/login", data={"username": "nobody-here", "password": "wrong-pass", "csrf_token": token}
    )
    assert wrong.status_code == ghost.status_code == 401
    assert "用户名或密码错误" in wrong.text and "用户名或密码错误" in ghost.text


def test_login_without_csrf_token_is_refused(client, db):
    agent = make_agent(db)
    client.get("/login")
    response = client.post("/login", data={"username": agent.username, "password": PASSWORD})
    assert response.status_code == 403
    response = client.post(
        "/login", data={"username": agent.username, "password": PASSWORD, "csrf_token": "forged"}
    )
    assert response.status_code == 403


def test_too_many_failed_logins_answer_429(client, db):
    agent = make_agent(db)
    token = csrf_from(client)
    for _ in range(5):
        client.post(
            "/login", data={"username": agent.username, "password": "wrong-pass", "csrf_token": token}
        )
    response = client.post(
        "/login", data={"username": agent.username, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 429
    assert response.headers["retry-after"] == "300"


def test_disabled_agent_login_is_forbidden(client, db):
    agent = make_agent(db)
    agent.is_active = False
    token = csrf_from(client)
    response = client.post(
        "/login", data={"username": agent.username, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 403
    assert "已停用" in response.text


def test_disabling_an_agent_ends_their_open_session(client, db):
    agent = make_agent(db)
    login(client, agent)
    from app.accounts import service

    service.update_agent(db, agent, is_active=False)
    response = client.get("/settings", follow_redirects=False)
    assert response.status_code == 303  # the old session is worth nothing


def test_expired_session_asks_to_log_in_again(client, db):
    agent = make_agent(db)
    login(client, agent)
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=13)):
        response = client.get("/settings", follow_redirects=False)
        assert response.headers["location"] == "/login?next=/settings&expired=1"
        assert "会话已过期" in client.get(response.headers["location"]).text


def test_tampered_cookie_is_anonymous(client, db):
    agent = make_agent(db)
    forged = dump_session({"agent_id": agent.id, "epoch": 0})[:-3] + "abc"
    client.cookies.set(SESSION_COOKIE, forged)
    assert client.get("/settings", follow_redirects=False).status_code == 303


def test_logout_rotates_the_session_and_needs_csrf(client, db):
    agent = make_agent(db)
    token = login(client, agent)
    assert client.post("/logout").status_code == 403
    response = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert client.get("/settings", follow_redirects=False).status_code == 303


def test_logout_everywhere_invalidates_other_devices(app, db):
    from fastapi.testclient import TestClient

    agent = make_agent(db)
    with TestClient(app) as phone, TestClient(app) as laptop:
        login(phone, agent)
        token = login(laptop, agent)
        assert phone.get("/settings").status_code == 200
        laptop.post("/logout/everywhere", data={"csrf_token": token})
        assert phone.get("/settings", follow_redirects=False).status_code == 303


def test_htmx_posts_send_csrf_in_a_header(client, db):
    agent = make_agent(db)
    token = login(client, agent)
    response = client.post("/logout", headers={"HX-Request": "true", "X-CSRF-Token": token})
    assert response.status_code == 204 and response.headers["HX-Redirect"] == "/login"


def test_agent_cannot_open_admin_pages(client, db):
    login(client, make_agent(db, role=Role.agent))
    response = client.get("/settings/accounts")
    assert response.status_code == 403
    assert "无权" in response.text or "不允许" in response.text


def test_supervisor_cannot_open_admin_pages_but_admin_can(client, db):
    login(client, make_agent(db, role=Role.supervisor))
    assert client.get("/settings/accounts").status_code == 403
    client.cookies.clear()
    login(client, make_agent(db, role=Role.admin))
    assert client.get("/settings/accounts").status_code == 200


def test_admin_creates_an_agent_who_can_then_log_in(client, db):
    token = login(client, make_agent(db, role=Role.admin))
    response = client.post(
        "/settings/agents",
        data={"username": "newbie", "password": "newbie-password", "role": "agent", "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    client.cookies.clear()
    token = csrf_from(client)
    ok = client.post(
        "/login",
        data={"username": "newbie", "password": "newbie-password", "csrf_token": token},
        follow_redirects=False,
    )
    assert ok.status_code == 303


def test_admin_form_errors_are_clear_and_write_nothing(client, db):
    from app.accounts import service

    token = login(client, make_agent(db, role=Role.admin))
    before = len(service.get_all_agents(db))
    response = client.post(
        "/settings/agents", data={"username": "x", "password": "short", "role": "agent", "csrf_token": token}
    )
    assert response.status_code == 422
    assert len(service.get_all_agents(db)) == before


def test_admin_creates_api_key_shown_once(client, db):
    token = login(client, make_agent(db, role=Role.admin))
    response = client.post(
        "/settings/api-keys", data={"name": "Shopify bridge", "scope": "write", "csrf_token": token}
    )
    assert response.status_code == 201
    assert "hk_" in response.text and "不会再次显示" in response.text
    listing = client.get("/settings/accounts")
    assert "Shopify bridge" in listing.text
    secret_start = response.text.index('id="new-api-key-secret">') + len('id="new-api-key-secret">')
    secret = response.text[secret_start:].split("<", 1)[0]
    assert secret not in listing.text


def test_english_switch_per_agent(client, db):
    agent = make_agent(db)
    token = login(client, agent)
    client.post("/locale", data={"locale": "en", "next": "/settings", "csrf_token": token})
    assert agent.locale == "en"
    page = client.get("/settings")
    assert "Settings" in page.text and "Log out" in page.text
