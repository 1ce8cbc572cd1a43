"""Stores (with their signing secrets), the inbound webhook inbox, and outbound subscriptions/outbox."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db import Money, UTCDateTime, str_enum


class Platform(enum.StrEnum):
    shopify = "shopify"
    woocommerce = "woocommerce"
    standard = "standard"


class Store(SQLModel, table=True):
    """A storefront. Its lifecycle settings are the platform's rules as data, with defaults.

    Defaults follow ../shared/domain/cn-ecommerce-cs.md: Taobao's 10-day express auto-confirm,
    the 15-day review window, 48 h to respond to an after-sales request, 72 h to refund after the
    return arrives.
    """

    __tablename__ = "stores"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    platform: Platform = Field(sa_type=str_enum(Platform, 16))
    name: str = Field(max_length=128)
    timezone: str = Field(default="Asia/Shanghai", max_length=64)
    currency: str = Field(default="CNY", max_length=3)
    auto_confirm_days: int = Field(default=10)
    review_window_days: int = Field(default=15)
    aftersales_respond_hours: int = Field(default=48)
    aftersales_refund_hours: int = Field(default=72)
    inquiry_win_days: int = Field(default=3)
    shipping_exception_days: int = Field(default=5)
    agent_refund_limit: Decimal = Field(default=Decimal("200.00"), sa_type=Money)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


# --- signing secrets -------------------------------------------------------------------------


class StoreSecret(SQLModel, table=True):
    """A store's inbound signing secret. Two may be active while a rotation is under way.

    The secret is needed in clear to compute HMACs, so it cannot be hashed: it is stored
    encrypted with a key derived from HUITOU_SECRET_KEY (app.integrations.secrets).
    """

    __tablename__ = "store_secrets"

    id: int | None = Field(default=None, primary_key=True)
    store_id: int = Field(foreign_key="stores.id", index=True, ondelete="CASCADE")
    secret_enc: str = Field(max_length=512)
    hint: str = Field(default="", max_length=16, description="The last characters, to tell secrets apart.")
    created_at: datetime = Field(sa_type=UTCDateTime)
    retired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# --- inbound: the webhook inbox --------------------------------------------------------------


class InboxStatus(enum.StrEnum):
    received = "received"
    processed = "processed"
    failed = "failed"
    ignored = "ignored"


class InboxMessage(SQLModel, table=True):
    """One inbound delivery, stored raw under its platform's deduplication key before acting on it."""

    __tablename__ = "webhook_inbox"
    __table_args__ = (
        sa.UniqueConstraint("store_id", "platform", "dedupe_key"),
        sa.Index("ix_webhook_inbox_status_next", "status", "next_attempt_at"),
        sa.Index("ix_webhook_inbox_store_subject", "store_id", "subject"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # No index of its own: the unique key and ix_webhook_inbox_store_subject begin with it.
    store_id: int = Field(foreign_key="stores.id", ondelete="CASCADE")
    platform: Platform = Field(sa_type=str_enum(Platform, 16))
    dedupe_key: str = Field(max_length=128)
    topic: str = Field(default="", max_length=64, index=True)
    headers: dict[str, str] = Field(default_factory=dict, sa_type=sa.JSON)
    # On PostgreSQL compressed with lz4 (migration 0007): cheaper to write than pglz.
    body: bytes = Field(sa_type=sa.LargeBinary)
    status: InboxStatus = Field(default=InboxStatus.received, sa_type=str_enum(InboxStatus, 16))
    # Whether the sweep may try again by itself (a bad payload waits for a person and a replay).
    retryable: bool = Field(default=True)
    error: str = Field(default="", sa_type=sa.Text)
    note: str = Field(default="", max_length=255)
    # The storefront's order / customer id this delivery is about (for dependants and redaction).
    subject: str = Field(default="", max_length=64)
    customer_ref: str = Field(default="", max_length=64, index=True)
    # What processing produced, e.g. a privacy export.
    result: dict | None = Field(default=None, sa_type=sa.JSON)
    attempts: int = Field(default=0)
    received_at: datetime = Field(sa_type=UTCDateTime)
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claim_token: str | None = Field(default=None, max_length=32)
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    processed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class ExternalRef(SQLModel, table=True):
    """A storefront object already acted on (a refund id), so a repeated report has one effect."""

    __tablename__ = "integration_refs"
    __table_args__ = (sa.UniqueConstraint("store_id", "kind", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    store_id: int = Field(foreign_key="stores.id", ondelete="CASCADE")
    kind: str = Field(max_length=32)
    external_id: str = Field(max_length=64)
    local_id: int | None = Field(default=None)
    created_at: datetime = Field(sa_type=UTCDateTime)


# --- outbound: subscriptions, outbox, deliveries ---------------------------------------------


class Subscription(SQLModel, table=True):
    __tablename__ = "webhook_subscriptions"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=512)
    description: str = Field(default="", max_length=255)
    secret_enc: str = Field(max_length=512)
    hint: str = Field(default="", max_length=16)
    event_types: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    is_active: bool = Field(default=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class OutboxMessage(SQLModel, table=True):
    """An event to announce, written in the same transaction as the change it reports."""

    __tablename__ = "outbox_messages"

    id: int | None = Field(default=None, primary_key=True)
    event_type: str = Field(max_length=64, index=True)
    payload: dict = Field(default_factory=dict, sa_type=sa.JSON)
    created_at: datetime = Field(sa_type=UTCDateTime)


class DeliveryStatus(enum.StrEnum):
    pending = "pending"
    delivered = "delivered"
    dead = "dead"


class Delivery(SQLModel, table=True):
    """One message to one subscription; its id is the Standard Webhooks `webhook-id`."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.UniqueConstraint("message_id", "subscription_id"),
        sa.Index("ix_webhook_deliveries_status_next", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="outbox_messages.id", ondelete="CASCADE")
    subscription_id: int = Field(foreign_key="webhook_subscriptions.id", index=True, ondelete="CASCADE")
    event_type: str = Field(max_length=64)
    status: DeliveryStatus = Field(default=DeliveryStatus.pending, sa_type=str_enum(DeliveryStatus, 16))
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claim_token: str | None = Field(default=None, max_length=32)
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_status_code: int | None = Field(default=None)
    last_error: str = Field(default="", max_length=500)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class DeliveryAttempt(SQLModel, table=True):
    __tablename__ = "webhook_delivery_attempts"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="webhook_deliveries.id", index=True, ondelete="CASCADE")
    number: int
    status_code: int | None = Field(default=None)
    error: str = Field(default="", max_length=500)
    response_excerpt: str = Field(default="", max_length=500)
    duration_ms: int = Field(default=0)
    started_at: datetime = Field(sa_type=UTCDateTime)
