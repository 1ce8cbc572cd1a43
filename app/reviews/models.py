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
    __table_args__ = (sa.UniqueConstraint("store_id", "external_id"),)

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
