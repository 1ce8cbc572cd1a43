"""The phrasing library (话术库): templates with locale variants, and a record of every use."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, str_enum


class PhrasingScope(enum.StrEnum):
    global_ = "global"  # everyone's (supervisors edit)
    team = "team"  # one team's
    personal = "personal"  # one agent's own


class PhrasingTemplate(SQLModel, table=True):
    __tablename__ = "phrasing_templates"
    __table_args__ = (sa.Index("ix_phrasing_templates_category_active", "category", "is_active"),)

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=100)
    category: str = Field(max_length=32)  # a key of app.phrasing.categories.CATEGORIES
    scope: PhrasingScope = Field(default=PhrasingScope.global_, sa_type=str_enum(PhrasingScope, 16))
    team_id: int | None = Field(default=None, foreign_key="teams.id", index=True, ondelete="CASCADE")
    owner_id: int | None = Field(default=None, foreign_key="agents.id", index=True, ondelete="CASCADE")
    shortcut: str = Field(default="", max_length=32, index=True)  # e.g. "/yp"
    is_active: bool = Field(default=True)
    # Written by us and loaded on first install; the demo and a fresh install start with these.
    is_starter: bool = Field(default=False)
    created_by_id: int | None = Field(default=None, foreign_key="agents.id", ondelete="SET NULL")
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class PhrasingVariant(SQLModel, table=True):
    """One template's text in one locale (zh_CN, zh_TW, en)."""

    __tablename__ = "phrasing_variants"
    __table_args__ = (sa.UniqueConstraint("template_id", "locale"),)

    id: int | None = Field(default=None, primary_key=True)
    template_id: int = Field(foreign_key="phrasing_templates.id", ondelete="CASCADE")
    locale: str = Field(max_length=8)
    body: str = Field(sa_type=sa.Text)


class PhrasingUsage(SQLModel, table=True):
    """A template used on a ticket (sent, or copied to paste elsewhere). `outcome_at` is filled when
    what the template is for happened afterwards: a review after 邀评, payment after 催付, a won
    inquiry after 议价, a reply after 回访 — the effectiveness the metrics show."""

    __tablename__ = "phrasing_usages"
    __table_args__ = (
        sa.Index("ix_phrasing_usages_template_used", "template_id", "used_at"),
        sa.Index("ix_phrasing_usages_customer_category", "customer_id", "category", "outcome_at"),
        # Metrics: uses in a period, and outcomes recorded since the rollup last looked.
        sa.Index("ix_phrasing_usages_used_at", "used_at"),
        sa.Index("ix_phrasing_usages_outcome_at", "outcome_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    template_id: int = Field(foreign_key="phrasing_templates.id", ondelete="CASCADE")
    category: str = Field(max_length=32)
    locale: str = Field(max_length=8)
    agent_id: int | None = Field(default=None, foreign_key="agents.id", index=True, ondelete="SET NULL")
    ticket_id: int | None = Field(default=None, foreign_key="tickets.id", index=True, ondelete="SET NULL")
    customer_id: int | None = Field(default=None, foreign_key="customers.id", ondelete="SET NULL")
    order_id: int | None = Field(default=None, foreign_key="orders.id", index=True, ondelete="SET NULL")
    inquiry_id: int | None = Field(default=None, foreign_key="inquiries.id", index=True, ondelete="SET NULL")
    action: str = Field(max_length=16)  # "sent" or "copied"
    used_at: datetime = Field(sa_type=UTCDateTime)
    outcome: str | None = Field(default=None, max_length=24)  # reviewed / paid / won / replied
    outcome_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
