"""Session rotation: every change of who is logged in gives a new session id and CSRF token, and a
cookie copied before a logout or a password change is worth nothing after it.

The cookie is signed, not stored; what makes an old copy worthless is the agent's session epoch in
the database (so it holds across server processes): logout, logout everywhere, a new password and
disabling the account all bump it, and a cookie carrying an older epoch is anonymous.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.accounts.models import Agent, Role
from app.accounts.security import SESSION_COOKIE, SessionData, load_session
from tests.factories import PASSWORD, csrf_from, login, make_agent

NEW_PASSWORD = "a brand new passphrase"


def _session(client: TestClient) -> SessionData:
    data, expired = load_session(client.cookies.get(SESSION_COOKIE), 3600)
    assert not expired
    return data


def _logged_in(client: TestClient) -> bool:
    response = client.get("/settings", follow_redirects=False)
    assert response.status_code in {200, 303}, response.status_code
    return response.status_code == 200


def _replay(app: FastAPI, cookie: str) -> TestClient:
    """Another browser holding a copy of `cookie` (an attacker who stole it, or a second tab)."""
    thief = TestClient(app, base_url="http://testserver")
    # The domain the cookie jar files the server's own cookies under (a dotless host gets .local).
    thief.cookies.set(SESSION_COOKIE, cookie, domain="testserver.local")
    return thief


def _post_login(client: TestClient, agent: Agent, password: str = PASSWORD) -> None:
    token = csrf_from(client, "/login")
    response = client.post(
        "/login",
        data={"username": agent.username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def test_login_replaces_a_planted_pre_login_session(app: FastAPI, client: TestClient, db: Session) -> None:
    """Session fixation: a cookie the attacker obtained (a real anonymous session of their own, with
    a session id and a language chosen) is planted in the victim's browser before the victim logs
    in. After login the victim's session id and CSRF token are new, and the attacker's copy is
    still anonymous."""
    attacker = make_agent(db)
    login(client, attacker)
    client.post("/logout", data={"csrf_token": csrf_from(client, "/settings")}, follow_redirects=False)
    planted = client.cookies.get(SESSION_COOKIE)
    before = _session(client)
    assert before.get("sid") and before.get("csrf") and "agent_id" not in before

    victim = make_agent(db)
    with _replay(app, planted) as browser:
        # The victim switches the language before logging in: the session is kept, not renewed.
        response = browser.post(
            "/locale", data={"locale": "en", "next": "/login", "csrf_token": before["csrf"]},
            follow_redirects=False,
        )  # fmt: skip
        assert response.status_code == 303
        assert _session(browser)["sid"] == before["sid"]
        _post_login(browser, victim)
        after = _session(browser)
        assert after["agent_id"] == victim.id
        assert after["sid"] != before["sid"] and after["csrf"] != before["csrf"]
        assert _logged_in(browser)
    with _replay(app, planted) as attacker_copy:
        assert not _logged_in(attacker_copy)


def test_a_csrf_token_from_before_login_is_refused_after_login(client: TestClient, db: Session) -> None:
    agent = make_agent(db)
    old_token = csrf_from(client, "/login")
    _post_login(client, agent)
    response = client.post("/me/away", data={"csrf_token": old_token}, follow_redirects=False)
    assert response.status_code == 403
    response = client.post("/logout", headers={"X-CSRF-Token": old_token}, follow_redirects=False)
    assert response.status_code == 403
    assert _logged_in(client), "the refused requests changed nothing"
    new_token = csrf_from(client, "/settings")
    assert new_token != old_token
    response = client.post("/logout", data={"csrf_token": new_token}, follow_redirects=False)
    assert response.status_code == 303


def test_a_cookie_copied_before_logout_is_dead_after_it(
    app: FastAPI, client: TestClient, db: Session
) -> None:
    agent = make_agent(db)
    token = login(client, agent)
    copied = client.cookies.get(SESSION_COOKIE)
    before = _session(client)
    response = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    after = _session(client)
    assert "agent_id" not in after and after["sid"] != before["sid"] and after["csrf"] != before["csrf"]
    assert not _logged_in(client)
    with _replay(app, copied) as thief:
        assert not _logged_in(thief)
        response = thief.get("/customers", headers={"HX-Request": "true"}, follow_redirects=False)
        assert response.status_code == 401
        # Even with the CSRF token that went with the copied cookie, nothing happens.
        response = thief.post(
            "/me/away", data={"csrf_token": before["csrf"], "away": "on"}, follow_redirects=False
        )
        assert response.status_code in {303, 403}
        db.refresh(agent)
        assert agent.is_away is False


def test_logging_out_ends_the_agents_sessions_on_every_device(app: FastAPI, db: Session) -> None:
    agent = make_agent(db)
    with TestClient(app) as phone, TestClient(app) as laptop:
        login(phone, agent)
        token = login(laptop, agent)
        laptop.post("/logout", data={"csrf_token": token}, follow_redirects=False)
        assert not _logged_in(phone)
        login(phone, agent)  # logging in again works at once
        assert _logged_in(phone)


def test_a_stale_cookie_cannot_end_the_agents_new_session(
    app: FastAPI, client: TestClient, db: Session
) -> None:
    agent = make_agent(db)
    token = login(client, agent)
    stale = client.cookies.get(SESSION_COOKIE)
    stale_csrf = _session(client)["csrf"]
    client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    login(client, agent)
    with _replay(app, stale) as thief:
        thief.post("/logout", data={"csrf_token": stale_csrf}, follow_redirects=False)
    assert _logged_in(client)


def test_a_new_password_ends_the_agents_sessions(app: FastAPI, db: Session) -> None:
    admin = make_agent(db, role=Role.admin)
    agent = make_agent(db, display_name="小王")
    with TestClient(app) as desk, TestClient(app) as phone, TestClient(app) as console:
        login(desk, agent)
        login(phone, agent)
        admin_token = login(console, admin)
        response = console.post(
            f"/settings/agents/{agent.id}",
            data={
                "csrf_token": admin_token, "display_name": "小王", "role": "agent",
                "is_active": "on", "password": NEW_PASSWORD,
            },
            follow_redirects=False,
        )  # fmt: skip
        assert response.status_code == 303
        assert not _logged_in(desk) and not _logged_in(phone)
        _post_login(desk, agent, NEW_PASSWORD)
        assert _logged_in(desk)


def test_changing_ones_own_password_keeps_this_session_under_a_new_id_and_ends_the_others(
    app: FastAPI, db: Session
) -> None:
    admin = make_agent(db, role=Role.admin, display_name="管理员")
    with TestClient(app) as here, TestClient(app) as elsewhere:
        token = login(here, admin)
        login(elsewhere, admin)
        before = _session(here)
        response = here.post(
            f"/settings/agents/{admin.id}",
            data={
                "csrf_token": token, "display_name": "管理员", "role": "admin",
                "is_active": "on", "password": NEW_PASSWORD,
            },
            follow_redirects=False,
        )  # fmt: skip
        assert response.status_code == 303
        after = _session(here)
        assert after["agent_id"] == admin.id
        assert after["sid"] != before["sid"] and after["csrf"] != before["csrf"]
        assert _logged_in(here)
        assert not _logged_in(elsewhere)
        # The old CSRF token went with the old session id.
        response = here.post("/me/away", data={"csrf_token": token}, follow_redirects=False)
        assert response.status_code == 403


def test_disabling_an_account_from_the_admin_page_ends_its_sessions(app: FastAPI, db: Session) -> None:
    admin = make_agent(db, role=Role.admin)
    agent = make_agent(db, display_name="小赵")
    with TestClient(app) as desk, TestClient(app) as console:
        login(desk, agent)
        copied = desk.cookies.get(SESSION_COOKIE)
        admin_token = login(console, admin)
        response = console.post(
            f"/settings/agents/{agent.id}",
            data={"csrf_token": admin_token, "display_name": "小赵", "role": "agent", "is_active": ""},
            follow_redirects=False,
        )
        assert response.status_code == 303
        assert not _logged_in(desk)
        # Enabled again, the old cookie stays dead: the epoch moved on.
        response = console.post(
            f"/settings/agents/{agent.id}",
            data={"csrf_token": admin_token, "display_name": "小赵", "role": "agent", "is_active": "on"},
            follow_redirects=False,
        )
        assert response.status_code == 303
        with _replay(app, copied) as old_tab:
            assert not _logged_in(old_tab)
