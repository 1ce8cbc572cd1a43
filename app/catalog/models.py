"""Products."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db import Money, UTCDateTime


class Product(SQLModel, table=True):
    __tablename__ = "products"
    __table_args__ = (sa.UniqueConstraint("store_id", "sku"),)

    id: int | None = Field(default=None, primary_key=True)
    store_id: int = Field(foreign_key="stores.id", index=True)
    sku: str = Field(max_length=64)
    title: str = Field(max_length=255)
    category: str = Field(default="", max_length=64, index=True)
    currency: str = Field(default="CNY", max_length=3)
    list_price: Decimal = Field(sa_type=Money)
    # The lowest price an agent may agree without a supervisor's approval.
    floor_price: Decimal = Field(sa_type=Money)
    care_tips: str = Field(default="", sa_type=sa.Text)
    is_active: bool = Field(default=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
