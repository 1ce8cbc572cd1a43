"""HTML routes of the accounts domain: login, logout, language, and the admin pages."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from app.accounts import service
from app.accounts.deps import AdminAgent, CurrentAgent, optional_agent, session_data, verify_csrf
from app.accounts.models import Agent, Role, Scope
from app.config import SUPPORTED_LOCALES
from app.db import SessionDep, reads_first, utc_now
from app.errors import DomainError, InvalidInput
from app.i18n import gettext
from app.web import form_int, redirect, render

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


def _safe_next(next_url: str | None) -> str:
    # Only local paths: an open redirect after login is a phishing tool.
    if not next_url:
        return "/"
    parsed = urlparse(next_url)
    if (
        parsed.scheme
        or parsed.netloc
        or not next_url.startswith("/")
        or next_url.startswith("//")
        or "\\" in next_url
        or any(ord(ch) < 32 for ch in next_url)
    ):
        return "/"
    return next_url


@router.get("/login")
def login_page(
    request: Request,
    agent: Annotated[Agent | None, Depends(optional_agent)],
    next: str = "/",
    expired: bool = False,
) -> Response:
    if agent is not None:
        return redirect(request, _safe_next(next))
    was_expired = expired or request.state.session_expired
    notice = gettext("Your session has expired. Please log in again.") if was_expired else None
    return render(request, "accounts/login.html", {"next": _safe_next(next), "notice": notice})


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    client = request.client.host if request.client else "unknown"
    now = utc_now()
    try:
        # Read in a transaction of its own, before the password check: on SQLite a writing
        # transaction holds the write lock, and Argon2id takes a quarter of a second on purpose.
        with reads_first(session):
            candidate = service.login_candidate(session, username=username, client=client, now=now)
        agent = service.complete_login(session, candidate, password=password, now=now)
    except DomainError as exc:
        # Rendered, not raised: the failed attempt must be committed for throttling to count it.
        status = exc.status_code
        return render(
            request,
            "accounts/login.html",
            {"error": exc.localized(), "username": username[:64], "next": _safe_next(next)},
            status_code=status,
            headers={"Retry-After": "300"} if status == 429 else None,
        )
    session_data(request).rotate(agent_id=agent.id, epoch=agent.session_epoch, locale=agent.locale)
    return redirect(request, _safe_next(next))


@router.post("/logout")
def logout(request: Request, session: SessionDep) -> Response:
    """Ends every session of this agent: the cookie is signed, not stored, so a copy taken before
    logout would otherwise still work after it. Bumping the agent's session epoch kills them all."""
    data = session_data(request)
    agent_id = data.get("agent_id")
    agent = service.get_agent(session, agent_id) if isinstance(agent_id, int) else None
    if agent is not None and data.get("epoch") == agent.session_epoch:
        service.end_all_sessions(session, agent)
    data.rotate()
    return redirect(request, "/login")


@router.post("/logout/everywhere")
def logout_everywhere(request: Request, session: SessionDep, agent: CurrentAgent) -> Response:
    service.end_all_sessions(session, agent)
    session_data(request).rotate()
    return redirect(request, "/login")


@router.post("/locale")
def switch_locale(
    request: Request,
    session: SessionDep,
    agent: Annotated[Agent | None, Depends(optional_agent)],
    locale: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    if locale not in SUPPORTED_LOCALES:
        raise InvalidInput("Unknown language {locale}.", fields={"locale": "zh_CN | en"}, locale=locale)
    if agent is not None:
        service.update_agent(session, agent, locale=locale)
    session_data(request)["locale"] = locale
    return redirect(request, _safe_next(next))


# --- admin: agents, teams, API keys ----------------------------------------------------------


def _accounts_context(session: SessionDep) -> dict:
    return {
        "agents": service.get_all_agents(session),
        "teams": service.get_all_teams(session),
        "api_keys": service.get_all_api_keys(session),
        "roles": list(Role),
        "scopes": list(Scope),
        "locales": SUPPORTED_LOCALES,
    }


@router.get("/settings/accounts")
def accounts_page(request: Request, session: SessionDep, admin: AdminAgent) -> Response:
    return render(request, "accounts/admin.html", _accounts_context(session))


@router.post("/settings/agents")
def create_agent(
    request: Request,
    session: SessionDep,
    admin: AdminAgent,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=200)],
    role: Annotated[str, Form()] = "agent",
    display_name: Annotated[str, Form(max_length=64)] = "",
    team_id: Annotated[str, Form()] = "",
    locale: Annotated[str, Form()] = "zh_CN",
) -> Response:
    agent = service.create_agent(
        session,
        username=username,
        password=password,
        role=role,
        display_name=display_name or None,
        team=form_int(team_id),
        locale=locale,
        now=utc_now(),
    )
    return redirect(
        request, "/settings/accounts", flash=gettext("Agent {name} created.").format(name=agent.username)
    )


@router.post("/settings/agents/{agent_id}")
def update_agent(
    request: Request,
    session: SessionDep,
    admin: AdminAgent,
    agent_id: int,
    display_name: Annotated[str, Form(max_length=64)],
    role: Annotated[str, Form()],
    team_id: Annotated[str, Form()] = "",
    is_active: Annotated[str, Form()] = "",
    password: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    target = service.require_agent(session, agent_id)
    if target.id == admin.id and (role != Role.admin or not is_active):
        raise InvalidInput("You cannot remove your own admin role or disable yourself.")
    service.update_agent(
        session,
        target,
        display_name=display_name,
        role=role,
        team=form_int(team_id) or "",
        is_active=bool(is_active),
        password=password or None,
    )
    if target.id == admin.id and password:
        # A new password ended every session of this account; this one goes on under a new id.
        session_data(request).rotate(agent_id=admin.id, epoch=admin.session_epoch, locale=admin.locale)
    return redirect(request, "/settings/accounts", flash=gettext("Saved."))


@router.post("/settings/teams")
def create_team(
    request: Request,
    session: SessionDep,
    admin: AdminAgent,
    name: Annotated[str, Form(max_length=64)],
    description: Annotated[str, Form(max_length=255)] = "",
) -> Response:
    service.create_team(session, name=name, description=description, now=utc_now())
    return redirect(request, "/settings/accounts", flash=gettext("Team created."))


@router.post("/settings/api-keys")
def create_api_key(
    request: Request,
    session: SessionDep,
    admin: AdminAgent,
    name: Annotated[str, Form(max_length=100)],
    scope: Annotated[str, Form()],
) -> Response:
    created = service.create_api_key(session, name=name, scope=scope, created_by=admin, now=utc_now())
    context = _accounts_context(session) | {"new_key": created.secret, "new_key_name": created.key.name}
    return render(request, "accounts/admin.html", context, status_code=201)


@router.post("/settings/api-keys/{key_id}/revoke")
def revoke_api_key(request: Request, session: SessionDep, admin: AdminAgent, key_id: int) -> Response:
    key = service.require_api_key(session, key_id)
    service.revoke_api_key(session, key, now=utc_now())
    return redirect(request, "/settings/accounts", flash=gettext("API key revoked."))
