"""JSON shapes of the accounts API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.accounts.models import Role, Scope


class TeamRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str


class AgentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    role: Role
    team_id: int | None
    locale: str
    is_active: bool


class ApiKeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    scope: Scope
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100, examples=["Shopify bridge"])
    scope: Scope = Field(examples=["write"])


class ApiKeyCreated(ApiKeyRead):
    secret: str = Field(description="Shown once; store it now. Huitou keeps only a hash.")
