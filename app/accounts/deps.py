"""Dependencies that guard routes: the logged-in agent and its role, CSRF, API keys and scopes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from app.accounts import service
from app.accounts.models import Agent, ApiKey, Role, Scope
from app.accounts.security import SessionData, constant_time_equal
from app.db import UNSAFE_METHODS, SessionDep, autocommit_on_postgres, reads_first, utc_now
from app.errors import Forbidden, NotAuthenticated

T = TypeVar("T")

CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


def session_data(request: Request) -> SessionData:
    data = getattr(request.state, "session", None)
    if data is None:  # the middleware always sets it; a bare test app may not have it
        data = SessionData()
        request.state.session = data
    return data


def optional_agent(request: Request, session: SessionDep) -> Agent | None:
    data = session_data(request)
    agent_id = data.get("agent_id")
    if not isinstance(agent_id, int):
        return None
    with reads_first(session):
        agent = service.get_agent(session, agent_id)
    if agent is None or data.get("epoch") != agent.session_epoch:
        data.rotate()
        return None
    if not agent.is_active:
        data.rotate()
        raise Forbidden("This account is disabled. Ask an administrator to enable it.")
    request.state.agent = agent
    return agent


def _logged_in(request: Request, agent: Agent | None) -> Agent:
    if agent is None:
        if getattr(request.state, "session_expired", False):
            raise NotAuthenticated("Your session has expired. Please log in again.")
        raise NotAuthenticated("Please log in.")
    return agent


# The dependencies without I/O are async: FastAPI runs a sync one in the thread pool, a hop there
# and back per request while (on a writing request) the transaction is already open.
async def current_agent(request: Request, agent: Annotated[Agent | None, Depends(optional_agent)]) -> Agent:
    return _logged_in(request, agent)


CurrentAgent = Annotated[Agent, Depends(current_agent)]


async def as_agent(
    request: Request, session: Session, work: Callable[[Agent], T], *, autocommit: bool = False
) -> T:
    """CurrentAgent's check and then `work(agent)` in one trip to the thread pool, for the
    desk's hottest writes ("next ticket"): as dependency and route they take two trips there and
    back, each a wait for a thread and for the GIL while the server is busy.

    `autocommit`: every write of `work` is one atomic statement, so on PostgreSQL the check and
    the work run without a transaction (app.db.autocommit_on_postgres: no BEGIN, no COMMIT)."""

    def run() -> T:
        if autocommit:
            autocommit_on_postgres(session)
        return work(_logged_in(request, optional_agent(request, session)))

    return await run_in_threadpool(run)


def require_role(role: Role):
    """A dependency admitting agents whose role is at least `role`."""

    async def check(agent: CurrentAgent) -> Agent:
        if not Role(agent.role).at_least(role):
            raise Forbidden("This page needs the {role} role.", role=role.value)
        return agent

    return check


SupervisorAgent = Annotated[Agent, Depends(require_role(Role.supervisor))]
AdminAgent = Annotated[Agent, Depends(require_role(Role.admin))]


async def verify_csrf(request: Request) -> None:
    """Every state-changing HTML request carries the session's CSRF token (header or form field)."""
    if request.method not in UNSAFE_METHODS:
        return
    expected = session_data(request).get("csrf")
    supplied = request.headers.get(CSRF_HEADER)
    if not supplied:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            supplied = value if isinstance(value, str) else None
    if not expected or not supplied or not constant_time_equal(str(expected), supplied):
        raise Forbidden("This form has expired or was not sent by Huitou. Reload the page and try again.")


_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer hk_…`")


def api_key(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ApiKey:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAuthenticated("Send an API key as `Authorization: Bearer <key>`.")
    key = service.verify_api_key(
        session, credentials.credentials, now=utc_now(), record_use=request.method in UNSAFE_METHODS
    )
    request.state.api_key = key
    return key


def require_scope(scope: Scope):
    async def check(key: Annotated[ApiKey, Depends(api_key)]) -> ApiKey:
        if not Scope(key.scope).allows(scope):
            raise Forbidden(
                "This API key's scope is {have}; this operation needs {need}.", have=key.scope, need=scope
            )
        return key

    return check


ReadKey = Annotated[ApiKey, Depends(require_scope(Scope.read))]
WriteKey = Annotated[ApiKey, Depends(require_scope(Scope.write))]
AdminKey = Annotated[ApiKey, Depends(require_scope(Scope.admin))]
