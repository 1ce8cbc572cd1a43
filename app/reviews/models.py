"""Buyer reviews."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, str_enum


class Grade(enum.StrEnum):
    good = "good"  # 好评
    neutral = "neutral"  # 中评
    bad = "bad"  # 差评


class Review(SQLModel, table=True):
    __tablename__ = "reviews"
    __table_args__ = (
        sa.UniqueConstraint("store_id", "external_id"),
        # Metrics: reviews changed since the rollup last looked (a 追评, an upgraded grade).
        sa.Index("ix_reviews_updated_at", "updated_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    store_id: int = Field(foreign_key="stores.id", index=True)
    order_id: int | None = Field(default=None, foreign_key="orders.id", index=True, ondelete="SET NULL")
    customer_id: int = Field(foreign_key="customers.id", index=True)
    product_id: int | None = Field(default=None, foreign_key="products.id", ondelete="SET NULL")
    external_id: str | None = Field(default=None, max_length=64)
    rating: int = Field(ge=1, le=5)
    grade: Grade = Field(sa_type=str_enum(Grade, 8))
    text: str = Field(default="", sa_type=sa.Text)
    followup_text: str = Field(default="", sa_type=sa.Text)  # 追评
    followup_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    posted_at: datetime = Field(sa_type=UTCDateTime, index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class CsatSurvey(SQLModel, table=True):
    """A satisfaction survey for one solved ticket: the invitation and, once answered, the response.

    One per ticket (a reopened and re-solved ticket keeps its first survey). The buyer reaches it by
    a signed link under /s/ carrying the id; `answered_at` makes a second answer a clear refusal.
    """

    __tablename__ = "csat_surveys"
    __table_args__ = (
        sa.Index("ix_csat_surveys_agent_sent", "agent_id", "sent_at"),
        # Metrics: a buyer's answers after a bad review (差评 recovered).
        sa.Index("ix_csat_surveys_customer_answered", "customer_id", "answered_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id", ondelete="CASCADE", sa_column_kwargs={"unique": True})
    store_id: int | None = Field(default=None, foreign_key="stores.id", index=True, ondelete="SET NULL")
    customer_id: int | None = Field(default=None, foreign_key="customers.id", ondelete="SET NULL")
    agent_id: int | None = Field(default=None, foreign_key="agents.id", ondelete="SET NULL")
    # The phrasing template used in the ticket's last agent reply, for "which phrasing satisfies".
    template_id: int | None = Field(default=None, foreign_key="phrasing_templates.id", ondelete="SET NULL")
    locale: str = Field(default="zh_CN", max_length=8)
    sent_at: datetime = Field(sa_type=UTCDateTime, index=True)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    rating: int | None = Field(default=None, ge=1, le=5)
    comment: str = Field(default="", sa_type=sa.Text)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)


class CsatSurveyHit(SQLModel, table=True):
    """One request to the public survey page, per client: the rate limit, in the database so it
    holds across server processes (like login throttling)."""

    __tablename__ = "csat_survey_hits"
    __table_args__ = (sa.Index("ix_csat_survey_hits_client_at", "client", "hit_at"),)

    id: int | None = Field(default=None, primary_key=True)
    client: str = Field(max_length=64)
    # A link that did not check out (tampered, unknown): these count against a smaller allowance.
    failed: bool = Field(default=False)
    hit_at: datetime = Field(sa_type=UTCDateTime, index=True)
