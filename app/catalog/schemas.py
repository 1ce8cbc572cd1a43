"""JSON shapes of the catalog API. Money is a decimal string."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.money import Currency, MoneyField


class ProductRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 7,
                    "store_id": 1,
                    "sku": "LJ-2026-250",
                    "title": "明前龙井 250g 礼盒",
                    "category": "绿茶",
                    "currency": "CNY",
                    "list_price": "398.00",
                    "floor_price": "338.00",
                    "care_tips": "密封冷藏，避光防潮，开封后一个月内喝完。",
                    "is_active": True,
                    "created_at": "2026-03-01T08:00:00Z",
                    "updated_at": "2026-03-01T08:00:00Z",
                }
            ]
        },
    )

    id: int
    store_id: int
    sku: str
    title: str
    category: str
    currency: str
    list_price: MoneyField
    floor_price: MoneyField = Field(description="The lowest price an agent may agree without approval.")
    care_tips: str
    is_active: bool
    created_at: datetime
    updated_at: datetime


class ProductCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "store": "tea-shop",
                    "sku": "LJ-2026-250",
                    "title": "明前龙井 250g 礼盒",
                    "category": "绿茶",
                    "list_price": "398.00",
                    "floor_price": "338.00",
                    "care_tips": "密封冷藏，避光防潮。",
                }
            ]
        }
    )

    store: str = Field(description="The store's slug.", examples=["tea-shop"])
    sku: str = Field(examples=["LJ-2026-250"])
    title: str = Field(examples=["明前龙井 250g 礼盒"])
    category: str = ""
    currency: Currency | None = Field(default=None, description="Defaults to the store's currency.")
    list_price: MoneyField
    floor_price: MoneyField
    care_tips: str = ""


class ProductUpdate(BaseModel):
    """Only the fields sent are changed. A new floor price is written to the audit log."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"list_price": "428.00", "floor_price": "358.00"}]}
    )

    title: str | None = None
    category: str | None = None
    list_price: MoneyField | None = None
    floor_price: MoneyField | None = None
    care_tips: str | None = None
    is_active: bool | None = None
