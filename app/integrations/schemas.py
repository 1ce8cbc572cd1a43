"""JSON shapes of the integrations API: stores, secrets (shown once), subscriptions, deliveries."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from app.integrations.models import DeliveryStatus, InboxStatus, Platform
from app.money import MoneyField


class StoreRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    slug: str = Field(examples=["cha-shop"])
    platform: Platform
    name: str = Field(examples=["山间茶舍"])
    timezone: str = Field(examples=["Asia/Shanghai"])
    currency: str = Field(examples=["CNY"])


class StoreSettings(StoreRead):
    """What an admin-scope key sees: the lifecycle settings and the secrets' hints (never secrets)."""

    auto_confirm_days: int = Field(examples=[10])
    review_window_days: int = Field(examples=[15])
    aftersales_respond_hours: int = Field(examples=[48])
    aftersales_refund_hours: int = Field(examples=[72])
    inquiry_win_days: int = Field(examples=[3])
    shipping_exception_days: int = Field(examples=[5])
    agent_refund_limit: MoneyField
    active_secret_hints: list[str] = Field(default_factory=list, examples=[["…x9Qa"]])
    created_at: datetime
    updated_at: datetime


class StoreCreate(BaseModel):
    slug: str = Field(min_length=2, max_length=63, examples=["cha-shop"])
    platform: Platform = Field(examples=["shopify"])
    name: str | None = Field(default=None, max_length=128, examples=["山间茶舍"])
    timezone: str = Field(default="Asia/Shanghai", examples=["Asia/Shanghai"])
    currency: str = Field(default="CNY", examples=["CNY"])
    secret: str | None = Field(
        default=None,
        max_length=256,
        description="The platform's signing secret; omit it to have one generated (whsec_… for standard).",
    )


class StoreUpdate(BaseModel):
    name: str | None = Field(default=None, max_length=128)
    timezone: str | None = Field(default=None, examples=["Asia/Shanghai"])
    currency: str | None = Field(default=None, examples=["CNY"])
    auto_confirm_days: int | None = Field(default=None, examples=[10])
    review_window_days: int | None = Field(default=None, examples=[15])
    aftersales_respond_hours: int | None = Field(default=None, examples=[48])
    aftersales_refund_hours: int | None = Field(default=None, examples=[72])
    inquiry_win_days: int | None = Field(default=None, examples=[3])
    shipping_exception_days: int | None = Field(default=None, examples=[5])
    agent_refund_limit: Decimal | str | None = Field(default=None, examples=["200.00"])


class RotateSecret(BaseModel):
    secret: str | None = Field(
        default=None,
        max_length=256,
        description="The new secret the platform gave you; omit to generate one.",
    )
    retire_old: bool = Field(
        default=False, description="Retire the previous secrets now (end of a rotation)."
    )


class SecretIssued(BaseModel):
    store: StoreSettings
    secret: str = Field(
        description="Shown once; Huitou never returns it again.",
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    )


class SubscriptionCreate(BaseModel):
    url: str = Field(max_length=512, examples=["https://bridge.example.cn/huitou"])
    event_types: list[str] = Field(min_length=1, examples=[["case.changed", "message.outbound"]])
    description: str = Field(default="", max_length=255, examples=["IM bridge"])


class SubscriptionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    url: str
    description: str
    event_types: list[str]
    is_active: bool
    hint: str = Field(description="The secret's last characters.")
    created_at: datetime
    disabled_at: datetime | None


class SubscriptionCreated(SubscriptionRead):
    secret: str = Field(description="whsec_… — shown once; verify deliveries with it.")


class AttemptRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int
    status_code: int | None
    error: str
    duration_ms: int
    started_at: datetime


class DeliveryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    webhook_id: str = Field(examples=["dlv_42"])
    subscription_id: int
    event_type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str
    delivered_at: datetime | None
    created_at: datetime
    attempt_log: list[AttemptRead] = Field(default_factory=list)


class InboxRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    store_id: int
    platform: Platform
    topic: str
    dedupe_key: str
    status: InboxStatus
    error: str
    note: str
    attempts: int
    received_at: datetime
    processed_at: datetime | None
    next_attempt_at: datetime | None
