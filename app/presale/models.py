"""Inquiries, the products they are about, and bargaining rounds."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db import Money, UTCDateTime, str_enum


class InquiryStatus(enum.StrEnum):
    open = "open"
    bargaining = "bargaining"
    won = "won"
    lost = "lost"


class LostReason(enum.StrEnum):
    price = "price"
    stock = "stock"
    delivery_time = "delivery_time"
    chose_another_shop = "chose_another_shop"
    no_reply = "no_reply"
    other = "other"


class Speaker(enum.StrEnum):
    buyer = "buyer"
    agent = "agent"


class Inquiry(SQLModel, table=True):
    __tablename__ = "inquiries"
    __table_args__ = (
        sa.Index("ix_inquiries_customer_status", "customer_id", "status"),
        # Metrics: inquiries closed in a period (bargaining success); the inquiry an order came from.
        sa.Index("ix_inquiries_closed_at", "closed_at"),
        sa.Index("ix_inquiries_won_order_id", "won_order_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    store_id: int = Field(foreign_key="stores.id", index=True)
    customer_id: int = Field(foreign_key="customers.id")
    external_id: str | None = Field(default=None, max_length=64)
    # The agent who handled it: 询单转化率 is credited to them.
    agent_id: int | None = Field(default=None, foreign_key="agents.id", index=True, ondelete="SET NULL")
    status: InquiryStatus = Field(default=InquiryStatus.open, sa_type=str_enum(InquiryStatus, 16))
    lost_reason: LostReason | None = Field(default=None, sa_type=str_enum(LostReason, 24))
    lost_note: str = Field(default="", max_length=500)
    won_order_id: int | None = Field(default=None, foreign_key="orders.id", ondelete="SET NULL")
    question: str = Field(default="", sa_type=sa.Text)
    opened_at: datetime = Field(sa_type=UTCDateTime, index=True)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime, index=True)


class InquiryProduct(SQLModel, table=True):
    __tablename__ = "inquiry_products"
    __table_args__ = (sa.UniqueConstraint("inquiry_id", "product_id"),)

    id: int | None = Field(default=None, primary_key=True)
    inquiry_id: int = Field(foreign_key="inquiries.id", index=True, ondelete="CASCADE")
    product_id: int = Field(foreign_key="products.id", index=True)
    quantity: int = Field(default=1)


class BargainRound(SQLModel, table=True):
    """One offer in a negotiation.

    Concessions: [{"kind": "free_shipping" | "gift" | "coupon", "value": "8.00", "note": ""}].
    """

    __tablename__ = "bargain_rounds"
    __table_args__ = (sa.UniqueConstraint("inquiry_id", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    inquiry_id: int = Field(foreign_key="inquiries.id", index=True, ondelete="CASCADE")
    product_id: int = Field(foreign_key="products.id")
    seq: int
    speaker: Speaker = Field(sa_type=str_enum(Speaker, 8))
    offered_price: Decimal = Field(sa_type=Money)
    concessions: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    concessions_value: Decimal = Field(default=Decimal("0.00"), sa_type=Money)
    # An agreed price ends the haggling; below the floor it waits for a supervisor's approval.
    is_agreed: bool = Field(default=False)
    note: str = Field(default="", max_length=500)
    agent_id: int | None = Field(default=None, foreign_key="agents.id", ondelete="SET NULL")
    offered_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
