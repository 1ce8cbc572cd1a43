"""Stores: where orders come from, with their time zone, currency and lifecycle settings."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

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
