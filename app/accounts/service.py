"""Rules of the accounts domain: agents, teams, authentication with throttling, API keys."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from app.accounts.models import Agent, ApiKey, LoginAttempt, Role, Scope, Team
from app.accounts.security import (
    api_key_prefix,
    constant_time_equal,
    hash_api_key,
    hash_password,
    new_api_key_secret,
    verify_password,
)
from app.config import SUPPORTED_LOCALES, get_settings
from app.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound, RateLimited

log = logging.getLogger("huitou.accounts")

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{2,64}$")
MIN_PASSWORD_LENGTH = 8


# --- teams -----------------------------------------------------------------------------------


def get_team(session: Session, team_id: int) -> Team | None:
    return session.get(Team, team_id)


def get_team_by_name(session: Session, name: str) -> Team | None:
    return session.exec(select(Team).where(Team.name == name)).first()


def get_all_teams(session: Session) -> list[Team]:
    return list(session.exec(select(Team).order_by(Team.id)))


def create_team(session: Session, *, name: str, description: str = "", now: datetime) -> Team:
    name = name.strip()
    if not name or len(name) > 64:
        raise InvalidInput("A team name is 1 to 64 characters.", fields={"name": "1–64 characters"})
    if get_team_by_name(session, name):
        raise Conflict("A team named {name} already exists.", name=name)
    team = Team(name=name, description=description.strip()[:255], created_at=now)
    session.add(team)
    session.flush()
    return team


# --- agents ----------------------------------------------------------------------------------


def get_agent(session: Session, agent_id: int) -> Agent | None:
    return session.get(Agent, agent_id)


def require_agent(session: Session, agent_id: int) -> Agent:
    agent = get_agent(session, agent_id)
    if agent is None:
        raise NotFound("Agent {id} does not exist.", id=agent_id)
    return agent


def get_agent_by_username(session: Session, username: str) -> Agent | None:
    return session.exec(
        select(Agent).where(sa.func.lower(Agent.username) == username.strip().lower())
    ).first()


def get_all_agents(session: Session) -> list[Agent]:
    return list(session.exec(select(Agent).order_by(Agent.id)))


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            "A password needs at least {n} characters.",
            fields={"password": f"at least {MIN_PASSWORD_LENGTH} characters"},
            n=MIN_PASSWORD_LENGTH,
        )


def _resolve_team(session: Session, team: str | int | None) -> int | None:
    if team in (None, ""):
        return None
    found = get_team(session, team) if isinstance(team, int) else get_team_by_name(session, str(team))
    if found is None:
        raise InvalidInput("Team {team} does not exist.", fields={"team": "unknown team"}, team=team)
    return found.id


def create_agent(
    session: Session,
    *,
    username: str,
    password: str,
    role: Role | str = Role.agent,
    display_name: str | None = None,
    team: str | int | None = None,
    locale: str | None = None,
    now: datetime,
) -> Agent:
    username = username.strip()
    if not USERNAME_RE.match(username):
        raise InvalidInput(
            "A username is 2 to 64 letters, digits, dots, dashes or underscores.",
            fields={"username": "2–64 of A–Z a–z 0–9 . _ -"},
        )
    try:
        role = Role(role)
    except ValueError as exc:
        raise InvalidInput(
            "Role must be agent, supervisor or admin.", fields={"role": "agent | supervisor | admin"}
        ) from exc
    _check_password(password)
    locale = locale or get_settings().default_locale
    if locale not in SUPPORTED_LOCALES:
        raise InvalidInput("Unknown language {locale}.", fields={"locale": "zh_CN | en"}, locale=locale)
    if get_agent_by_username(session, username):
        raise Conflict("The username {username} is taken.", username=username)
    agent = Agent(
        username=username,
        display_name=(display_name or username).strip()[:64] or username,
        role=role,
        team_id=_resolve_team(session, team),
        locale=locale,
        password_hash=hash_password(password),
        created_at=now,
    )
    session.add(agent)
    session.flush()
    return agent


def update_agent(
    session: Session,
    agent: Agent,
    *,
    display_name: str | None = None,
    role: Role | str | None = None,
    team: str | int | None = None,
    is_active: bool | None = None,
    locale: str | None = None,
    password: str | None = None,
) -> Agent:
    if display_name is not None:
        if not display_name.strip():
            raise InvalidInput("A display name cannot be empty.", fields={"display_name": "required"})
        agent.display_name = display_name.strip()[:64]
    if role is not None:
        try:
            agent.role = Role(role)
        except ValueError as exc:
            raise InvalidInput(
                "Role must be agent, supervisor or admin.", fields={"role": "unknown"}
            ) from exc
    if team is not None:
        agent.team_id = _resolve_team(session, team)
    if locale is not None:
        if locale not in SUPPORTED_LOCALES:
            raise InvalidInput("Unknown language {locale}.", fields={"locale": "zh_CN | en"}, locale=locale)
        agent.locale = locale
    if password:
        _check_password(password)
        agent.password_hash = hash_password(password)
        agent.session_epoch += 1
    if is_active is not None and is_active != agent.is_active:
        agent.is_active = is_active
        if not is_active:
            agent.session_epoch += 1
    session.add(agent)
    session.flush()
    return agent


def end_all_sessions(session: Session, agent: Agent) -> None:
    agent.session_epoch += 1
    session.add(agent)
    session.flush()


# --- authentication --------------------------------------------------------------------------


def _recent_failures(session: Session, column: sa.ColumnElement, value: str, since: datetime) -> int:
    query = (
        select(sa.func.count())
        .select_from(LoginAttempt)
        .where(column == value, LoginAttempt.succeeded.is_(False), LoginAttempt.attempted_at >= since)
    )
    return int(session.exec(query).one())


@dataclass(frozen=True)
class LoginCandidate:
    """What a login attempt found before its password is checked."""

    key: str  # the normalised username
    client: str
    agent: Agent | None


def login_candidate(session: Session, *, username: str, client: str, now: datetime) -> LoginCandidate:
    """The reading half of a login: RateLimited when this username or client failed too often
    recently, else the agent of that name (or None; the caller never learns which)."""
    settings = get_settings()
    key = username.strip().lower()[:64]
    client = client[:64]
    since = now - timedelta(seconds=settings.login_throttle_window_seconds)
    if (
        _recent_failures(session, LoginAttempt.username, key, since)
        >= settings.login_max_failures_per_username
        or _recent_failures(session, LoginAttempt.client, client, since)
        >= settings.login_max_failures_per_client
    ):
        log.warning("login throttled", extra={"username": key, "client": client})
        raise RateLimited("Too many failed logins. Wait a few minutes and try again.")
    agent = get_agent_by_username(session, key) if key else None
    return LoginCandidate(key=key, client=client, agent=agent)


def complete_login(session: Session, candidate: LoginCandidate, *, password: str, now: datetime) -> Agent:
    """The writing half: check the password (Argon2id, a quarter of a second on purpose), record
    the attempt, and return the agent or raise an error that never says whether the username
    exists. Every attempt is recorded, so the caller must commit even when this raises."""
    key, client, agent = candidate.key, candidate.client, candidate.agent
    ok = verify_password(password, agent.password_hash if agent else None)
    session.add(LoginAttempt(username=key, client=client, succeeded=ok, attempted_at=now))
    session.flush()
    if not ok or agent is None:
        log.warning("login failed", extra={"username": key, "client": client})
        raise NotAuthenticated("Wrong username or password.")
    if not agent.is_active:
        log.warning("login refused for a disabled agent", extra={"username": key, "client": client})
        raise Forbidden("This account is disabled. Ask an administrator to enable it.")
    agent.last_login_at = now
    session.add(agent)
    session.flush()
    return agent


def authenticate(session: Session, *, username: str, password: str, client: str, now: datetime) -> Agent:
    """The agent for these credentials, in one transaction (login_candidate, then complete_login;
    the login route ends the reading transaction between them)."""
    candidate = login_candidate(session, username=username, client=client, now=now)
    return complete_login(session, candidate, password=password, now=now)


def prune_login_attempts(session: Session, *, now: datetime, keep_days: int = 30) -> int:
    result = session.execute(
        sa.delete(LoginAttempt).where(LoginAttempt.attempted_at < now - timedelta(days=keep_days))
    )
    return result.rowcount or 0


# --- API keys --------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewApiKey:
    key: ApiKey
    secret: str  # shown once, never stored


def create_api_key(
    session: Session, *, name: str, scope: Scope | str, created_by: Agent | None = None, now: datetime
) -> NewApiKey:
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput(
            "An API key needs a name of 1 to 100 characters.", fields={"name": "1–100 characters"}
        )
    try:
        scope = Scope(scope)
    except ValueError as exc:
        raise InvalidInput(
            "Scope must be read, write or admin.", fields={"scope": "read | write | admin"}
        ) from exc
    secret, prefix = new_api_key_secret()
    key = ApiKey(
        name=name,
        prefix=prefix,
        key_hash=hash_api_key(secret),
        scope=scope,
        created_by_id=created_by.id if created_by else None,
        created_at=now,
    )
    session.add(key)
    session.flush()
    return NewApiKey(key=key, secret=secret)


def get_all_api_keys(session: Session) -> list[ApiKey]:
    return list(session.exec(select(ApiKey).order_by(ApiKey.id)))


def require_api_key(session: Session, key_id: int) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound("API key {id} does not exist.", id=key_id)
    return key


def revoke_api_key(session: Session, key: ApiKey, *, now: datetime) -> ApiKey:
    if key.revoked_at is None:
        key.revoked_at = now
        session.add(key)
        session.flush()
    return key


def verify_api_key(session: Session, secret: str, *, now: datetime, record_use: bool = True) -> ApiKey:
    prefix = api_key_prefix(secret)
    key = session.exec(select(ApiKey).where(ApiKey.prefix == prefix)).first() if prefix else None
    if key is None or not constant_time_equal(key.key_hash, hash_api_key(secret)):
        raise NotAuthenticated("Invalid API key.")
    if key.revoked_at is not None:
        raise NotAuthenticated("This API key has been revoked.")
    # Last use is written at most once a minute, and only inside writing requests: on SQLite a
    # read transaction that turns into a write can fail when another writer got in first.
    if record_use and (key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1)):
        key.last_used_at = now
        session.add(key)
        session.flush()
    return key
