"""JSON API of the accounts domain: teams, agents (read) and API keys (admin scope)."""

from __future__ import annotations

from fastapi import APIRouter

from app.accounts import service
from app.accounts.deps import AdminKey, ReadKey
from app.accounts.schemas import AgentRead, ApiKeyCreate, ApiKeyCreated, ApiKeyRead, TeamRead
from app.db import SessionDep, utc_now

router = APIRouter(prefix="/api/v1", tags=["accounts"])


@router.get("/teams", response_model=list[TeamRead])
def list_teams(session: SessionDep, key: ReadKey) -> list[TeamRead]:
    return [TeamRead.model_validate(t) for t in service.get_all_teams(session)]


@router.get("/agents", response_model=list[AgentRead])
def list_agents(session: SessionDep, key: ReadKey) -> list[AgentRead]:
    return [AgentRead.model_validate(a) for a in service.get_all_agents(session)]


@router.get("/api-keys", response_model=list[ApiKeyRead])
def list_api_keys(session: SessionDep, key: AdminKey) -> list[ApiKeyRead]:
    return [ApiKeyRead.model_validate(k) for k in service.get_all_api_keys(session)]


@router.post("/api-keys", response_model=ApiKeyCreated, status_code=201)
def create_api_key(body: ApiKeyCreate, session: SessionDep, key: AdminKey) -> ApiKeyCreated:
    created = service.create_api_key(session, name=body.name, scope=body.scope, now=utc_now())
    return ApiKeyCreated.model_validate(
        {**ApiKeyRead.model_validate(created.key).model_dump(), "secret": created.secret}
    )


@router.post("/api-keys/{key_id}/revoke", response_model=ApiKeyRead)
def revoke_api_key(key_id: int, session: SessionDep, key: AdminKey) -> ApiKeyRead:
    target = service.require_api_key(session, key_id)
    return ApiKeyRead.model_validate(service.revoke_api_key(session, target, now=utc_now()))
