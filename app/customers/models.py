"""Buyer profiles."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db import Money, UTCDateTime


class Customer(SQLModel, table=True):
    """A buyer as one storefront knows them. Lifetime figures are kept right as orders change."""

    __tablename__ = "customers"
    __table_args__ = (sa.UniqueConstraint("store_id", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    store_id: int = Field(foreign_key="stores.id", index=True)
    external_id: str | None = Field(default=None, max_length=64)
    nickname: str = Field(default="", max_length=64, index=True)
    name: str = Field(default="", max_length=64)
    phone: str = Field(default="", max_length=32, index=True)
    email: str = Field(default="", max_length=255)
    # Address kept structured so agents can see it "to city level" only.
    province: str = Field(default="", max_length=32)
    city: str = Field(default="", max_length=32)
    district: str = Field(default="", max_length=32)
    street: str = Field(default="", max_length=255)
    tags: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    vip_level: int = Field(default=0)
    notes: str = Field(default="", sa_type=sa.Text)
    # Marketing consent (PIPL: revisits are marketing; fulfilment messages are not).
    marketing_consent: bool = Field(default=False)
    consent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    opted_out_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Lifetime figures, recomputed from orders whenever one of the customer's orders changes.
    orders_count: int = Field(default=0)
    total_spent: Decimal = Field(default=Decimal("0.00"), sa_type=Money)
    refunds_count: int = Field(default=0)
    refunded_total: Decimal = Field(default=Decimal("0.00"), sa_type=Money)
    last_order_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    erased_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime, index=True)
