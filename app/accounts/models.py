"""Tables of the accounts domain."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, str_enum


class Role(enum.StrEnum):
    agent = "agent"
    supervisor = "supervisor"
    admin = "admin"

    @property
    def rank(self) -> int:
        return {"agent": 1, "supervisor": 2, "admin": 3}[self.value]

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


class Scope(enum.StrEnum):
    read = "read"
    write = "write"
    admin = "admin"

    @property
    def rank(self) -> int:
        return {"read": 1, "write": 2, "admin": 3}[self.value]

    def allows(self, needed: Scope) -> bool:
        return self.rank >= needed.rank


class AssignmentMode(enum.StrEnum):
    manual = "manual"  # agents take work with "next ticket" (下一个)
    round_robin = "round_robin"  # new tickets go to the online agents in turn
    fewest_open = "fewest_open"  # new tickets go to the online agent with the fewest open tickets


class Team(SQLModel, table=True):
    __tablename__ = "teams"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    description: str = Field(default="", max_length=255)
    assignment_mode: AssignmentMode = Field(
        default=AssignmentMode.manual, sa_type=str_enum(AssignmentMode, 16)
    )
    # Auto-assignment gives an agent no more than this many active tickets; 0 means no cap.
    max_open_per_agent: int = Field(default=0)
    # Round robin resumes after the agent who got the last ticket (a plain id: agents already
    # point at teams, and a foreign key back would make the two tables a cycle).
    last_assigned_agent_id: int | None = Field(default=None)
    created_at: datetime = Field(sa_type=UTCDateTime)


class Agent(SQLModel, table=True):
    """A person who logs in: an agent (客服), a supervisor (主管) or an admin."""

    __tablename__ = "agents"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    display_name: str = Field(max_length=64)
    role: Role = Field(sa_type=str_enum(Role, 16), default=Role.agent)
    team_id: int | None = Field(default=None, foreign_key="teams.id", index=True, ondelete="SET NULL")
    locale: str = Field(default="zh_CN", max_length=8)
    is_active: bool = Field(default=True)
    password_hash: str = Field(max_length=255)
    # Bumped to end every session of this agent at once (logout everywhere, disable, new password).
    session_epoch: int = Field(default=0)
    # 挂起: an away agent gets no auto-assigned work; "online" means seen in the last few minutes.
    is_away: bool = Field(default=False)
    last_seen_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ApiKey(SQLModel, table=True):
    """A Bearer key for /api/v1. Only a SHA-256 of the secret is kept; the prefix finds the row."""

    __tablename__ = "api_keys"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    prefix: str = Field(max_length=16, sa_column_kwargs={"unique": True})
    key_hash: str = Field(max_length=64)
    scope: Scope = Field(sa_type=str_enum(Scope, 8))
    created_by_id: int | None = Field(default=None, foreign_key="agents.id", ondelete="SET NULL")
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LoginAttempt(SQLModel, table=True):
    """Failed and successful logins, kept in the database so throttling holds across processes."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        sa.Index("ix_login_attempts_username_at", "username", "attempted_at"),
        sa.Index("ix_login_attempts_client_at", "client", "attempted_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64)
    client: str = Field(max_length=64)
    succeeded: bool = Field(default=False)
    attempted_at: datetime = Field(sa_type=UTCDateTime)
