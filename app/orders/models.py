"""Orders, their line items, shipments and timeline."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db import Money, UTCDateTime, str_enum
from app.orders.lifecycle import ActorType, Stage


class Order(SQLModel, table=True):
    __tablename__ = "orders"
    __table_args__ = (
        sa.UniqueConstraint("store_id", "external_id"),
        sa.Index("ix_orders_store_placed", "store_id", "placed_at"),
        sa.Index("ix_orders_stage_updated", "stage", "updated_at"),
        # Automatic confirmation: shipped or delivered orders up to a cutoff (every worker cycle).
        sa.Index("ix_orders_stage_shipped", "stage", "shipped_at"),
        # Metrics: orders paid in a period (sales, refund rate).
        sa.Index("ix_orders_paid_at", "paid_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    store_id: int = Field(foreign_key="stores.id")
    customer_id: int = Field(foreign_key="customers.id", index=True)
    # The storefront's id: a string, so 64-bit ids stay exact.
    external_id: str | None = Field(default=None, max_length=64)
    number: str = Field(max_length=64, description="The order number the buyer sees.")
    stage: Stage = Field(default=Stage.ordered, sa_type=str_enum(Stage, 20))
    currency: str = Field(default="CNY", max_length=3)
    subtotal: Decimal = Field(default=Decimal("0.00"), sa_type=Money)
    shipping_fee: Decimal = Field(default=Decimal("0.00"), sa_type=Money)
    discount_total: Decimal = Field(default=Decimal("0.00"), sa_type=Money)
    total: Decimal = Field(default=Decimal("0.00"), sa_type=Money)
    refunded_amount: Decimal = Field(default=Decimal("0.00"), sa_type=Money)
    # The agent credited with the sale (客服销售额), when an inquiry or agent assisted.
    assisted_by_id: int | None = Field(default=None, foreign_key="agents.id", index=True, ondelete="SET NULL")
    placed_at: datetime = Field(sa_type=UTCDateTime)
    paid_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    shipped_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    review_requested_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    refunded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Newest `updated_at` the storefront sent: older deliveries never overwrite newer data.
    source_updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    note: str = Field(default="", sa_type=sa.Text)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime, index=True)


class OrderItem(SQLModel, table=True):
    __tablename__ = "order_items"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True, ondelete="CASCADE")
    product_id: int | None = Field(default=None, foreign_key="products.id", index=True, ondelete="SET NULL")
    sku: str = Field(default="", max_length=64)
    title: str = Field(max_length=255)
    quantity: int
    unit_price: Decimal = Field(sa_type=Money)
    # The price agreed in bargaining, when there was bargaining.
    agreed_price: Decimal | None = Field(default=None, sa_type=Money)
    line_total: Decimal = Field(sa_type=Money)


class Shipment(SQLModel, table=True):
    __tablename__ = "shipments"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True, ondelete="CASCADE")
    external_id: str | None = Field(default=None, max_length=64)
    carrier: str = Field(default="", max_length=64)
    tracking_number: str = Field(default="", max_length=128)
    tracking_url: str = Field(default="", max_length=512)
    # The carrier's own status words (in_transit, delivered, failure, attempted_delivery, delayed …).
    carrier_status: str = Field(default="", max_length=32)
    shipped_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class OrderTimelineEntry(SQLModel, table=True):
    """One row per stage change or late timestamp: from, to, who, why, when."""

    __tablename__ = "order_timeline"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True, ondelete="CASCADE")
    from_stage: Stage | None = Field(default=None, sa_type=str_enum(Stage, 20))
    to_stage: Stage = Field(sa_type=str_enum(Stage, 20))
    actor_type: ActorType = Field(sa_type=str_enum(ActorType, 16))
    actor_id: int | None = Field(default=None)
    reason: str = Field(default="", max_length=255)
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
