"""JSON shapes of the orders API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from app.money import Currency, MoneyField
from app.orders.lifecycle import ActorType, Stage


class OrderItemIn(BaseModel):
    product_id: int | None = Field(default=None, examples=[12])
    sku: str = Field(default="", max_length=64, examples=["LJ-250"])
    title: str = Field(min_length=1, max_length=255, examples=["明前龙井 250g"])
    quantity: int = Field(ge=1, le=100_000, examples=[2])
    unit_price: MoneyField
    agreed_price: MoneyField | None = None


class OrderCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "store": "cha-shop",
                    "customer_id": 1,
                    "external_id": "5523109998",
                    "items": [
                        {
                            "product_id": 12,
                            "sku": "LJ-250",
                            "title": "明前龙井 250g",
                            "quantity": 2,
                            "unit_price": "199.00",
                            "agreed_price": "179.00",
                        }
                    ],
                    "currency": "CNY",
                    "shipping_fee": "0.00",
                    "discount_total": "10.00",
                    "placed_at": "2026-11-11T02:00:00Z",
                }
            ]
        }
    )

    store: str = Field(description="The store's slug.")
    customer_id: int
    items: list[OrderItemIn] = Field(min_length=1)
    external_id: str | None = Field(default=None, max_length=64)
    number: str | None = Field(default=None, max_length=64)
    currency: Currency | None = None
    shipping_fee: MoneyField = Decimal("0.00")
    discount_total: MoneyField = Decimal("0.00")
    placed_at: datetime | None = None
    assisted_by_id: int | None = None


class AdvanceIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"stage": "shipped", "reason": "顺丰已揽收"}]})

    stage: Stage
    reason: str = Field(default="", max_length=255)
    at: datetime | None = Field(default=None, description="When it happened (defaults to now).")


class ShipmentIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "carrier": "顺丰速运",
                    "tracking_number": "SF1234567890",
                    "tracking_url": "https://www.sf-express.com/",
                }
            ]
        }
    )

    carrier: str = Field(min_length=1, max_length=64)
    tracking_number: str = Field(min_length=1, max_length=128)
    tracking_url: str = Field(default="", max_length=512)
    shipped_at: datetime | None = None


class CarrierStatusIn(BaseModel):
    status: str = Field(
        examples=["delivered"], description="in_transit, delivered, failure, attempted_delivery, delayed …"
    )
    at: datetime | None = None


class RefundIn(BaseModel):
    amount: MoneyField
    reason: str = Field(default="", max_length=255, examples=["七天无理由退货"])


class OrderItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    product_id: int | None
    sku: str
    title: str
    quantity: int
    unit_price: MoneyField
    agreed_price: MoneyField | None
    line_total: MoneyField


class ShipmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    external_id: str | None
    carrier: str
    tracking_number: str
    tracking_url: str
    carrier_status: str
    shipped_at: datetime | None
    delivered_at: datetime | None


class TimelineRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    from_stage: Stage | None
    to_stage: Stage
    actor_type: ActorType
    actor_id: int | None
    reason: str
    occurred_at: datetime


class OrderRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    external_id: str | None
    number: str
    store: str
    customer_id: int
    stage: Stage
    allowed_next: list[Stage]
    currency: str
    subtotal: MoneyField
    shipping_fee: MoneyField
    discount_total: MoneyField
    total: MoneyField
    refunded_amount: MoneyField
    assisted_by_id: int | None
    placed_at: datetime
    paid_at: datetime | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    confirmed_at: datetime | None
    review_requested_at: datetime | None
    reviewed_at: datetime | None
    cancelled_at: datetime | None
    refunded_at: datetime | None
    updated_at: datetime
    items: list[OrderItemRead]
    shipments: list[ShipmentRead]
    timeline: list[TimelineRead]


class OrderPage(BaseModel):
    items: list[OrderRead]
    next_cursor: str | None = None
