"""Plain factory functions with keyword overrides, and login helpers."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.models import Agent, Role, Scope, Team

PASSWORD = "correct horse battery"
_seq = itertools.count(1)
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
T0 = datetime(2026, 11, 11, 2, 0, tzinfo=UTC)


def make_team(db: Session, **overrides) -> Team:
    values = {"name": f"team-{next(_seq)}", "now": T0} | overrides
    return accounts.create_team(db, **values)


def make_agent(db: Session, **overrides) -> Agent:
    values = {
        "username": f"agent{next(_seq)}",
        "password": PASSWORD,
        "role": Role.agent,
        "now": T0,
    } | overrides
    return accounts.create_agent(db, **values)


def make_api_key(db: Session, scope: Scope | str = Scope.read, **overrides) -> str:
    values = {"name": f"key-{next(_seq)}", "scope": scope, "now": T0} | overrides
    return accounts.create_api_key(db, **values).secret


def csrf_from(client: TestClient, path: str = "/login") -> str:
    response = client.get(path)
    match = CSRF_RE.search(response.text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client: TestClient, agent: Agent, password: str = PASSWORD) -> str:
    """Log in through the real form; returns the new session's CSRF token."""
    token = csrf_from(client, "/login")
    response = client.post(
        "/login",
        data={"username": agent.username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return csrf_from(client, "/settings")


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}
