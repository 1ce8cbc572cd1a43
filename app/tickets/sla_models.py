"""SLA policies (targets per team, ticket kind and priority, counted in business or calendar time)
and the breaches recorded when a target is missed."""

from __future__ import annotations

import enum
from datetime import datetime, time

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, str_enum


class SlaClock(enum.StrEnum):
    business = "business"  # open hours of China's working days (holidays off, 调休 days on)
    calendar = "calendar"  # day and night (marketplace chats never close)


class SlaMetric(enum.StrEnum):
    first_response = "first_response"
    next_response = "next_response"
    resolution = "resolution"


class SlaPolicy(SQLModel, table=True):
    """Targets for the tickets it matches. team / kind / priority null mean "any"; the most specific
    matching policy wins (team, then kind, then priority weigh most). A target left empty means the
    policy sets no such deadline."""

    __tablename__ = "sla_policies"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(default="", max_length=64)
    team_id: int | None = Field(default=None, foreign_key="teams.id", index=True, ondelete="CASCADE")
    kind: str | None = Field(default=None, max_length=24)
    priority: str | None = Field(default=None, max_length=8)
    first_response_minutes: int | None = Field(default=None)
    next_response_minutes: int | None = Field(default=None)
    resolution_minutes: int | None = Field(default=None)
    clock: SlaClock = Field(default=SlaClock.business, sa_type=str_enum(SlaClock, 10))
    day_start: time = Field(default=time(9, 0), sa_type=sa.Time)
    day_end: time = Field(default=time(18, 0), sa_type=sa.Time)
    pause_when_pending: bool = Field(default=True)
    pause_when_snoozed: bool = Field(default=True)
    # A ticket rises in its queue once this share of a target is left (or the target is missed).
    risk_percent: int = Field(default=20)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class SlaBreach(SQLModel, table=True):
    """A deadline missed: recorded once per ticket, metric and deadline (by the dispatch job, or by
    the action that answered or solved late)."""

    __tablename__ = "sla_breaches"
    __table_args__ = (
        sa.UniqueConstraint("ticket_id", "metric", "due_at", name="ux_sla_breaches_ticket_metric_due"),
        sa.Index("ix_sla_breaches_due_at", "due_at"),
        sa.Index("ix_sla_breaches_team_due", "team_id", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id", ondelete="CASCADE")
    metric: SlaMetric = Field(sa_type=str_enum(SlaMetric, 16))
    due_at: datetime = Field(sa_type=UTCDateTime)
    breached_at: datetime = Field(sa_type=UTCDateTime)  # when it was recorded
    agent_id: int | None = Field(default=None, foreign_key="agents.id", index=True, ondelete="SET NULL")
    team_id: int | None = Field(default=None, foreign_key="teams.id", ondelete="SET NULL")
    policy_id: int | None = Field(default=None, foreign_key="sla_policies.id", ondelete="SET NULL")
