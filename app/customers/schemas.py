"""JSON shapes of the customers API; CustomerRead is also the read model pages and exports use."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.money import MoneyField

_EXAMPLE_WHOLE = {
    "id": 42,
    "store_id": 1,
    "external_id": "tb-20931",
    "nickname": "爱喝茶的小王",
    "name": "王芳",
    "phone": "13812345678",
    "email": "wangfang@example.cn",
    "province": "浙江省",
    "city": "杭州市",
    "district": "西湖区",
    "street": "文三路 100 号 5 幢 301",
    "address": "浙江省杭州市西湖区文三路 100 号 5 幢 301",
    "tags": ["老客", "VIP"],
    "vip_level": 3,
    "notes": "喜欢明前龙井，怕苦。",
    "marketing_consent": True,
    "consent_at": "2026-03-01T08:00:00Z",
    "opted_out_at": None,
    "orders_count": 5,
    "total_spent": "1288.00",
    "refunds_count": 1,
    "refunded_total": "99.00",
    "last_order_at": "2026-10-20T12:30:00Z",
    "erased_at": None,
    "masked": False,
    "created_at": "2025-06-18T02:00:00Z",
    "updated_at": "2026-10-20T12:30:00Z",
}


class CustomerRead(BaseModel):
    """A customer as one viewer may see them: phone, email and street masked unless `masked` is false."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE_WHOLE]})

    id: int
    store_id: int
    external_id: str | None
    nickname: str
    name: str
    phone: str = Field(description="Whole for supervisors, admins and admin keys; else 138****5678.")
    email: str
    province: str
    city: str
    district: str = Field(description="Empty when masked: agents see the address to city level.")
    street: str = Field(description="`****` when masked.")
    address: str = Field(description="The address as this viewer may see it.")
    tags: list[str]
    vip_level: int
    notes: str
    marketing_consent: bool
    consent_at: datetime | None
    opted_out_at: datetime | None
    orders_count: int
    total_spent: MoneyField
    refunds_count: int
    refunded_total: MoneyField
    last_order_at: datetime | None
    erased_at: datetime | None
    masked: bool = Field(description="True when phone, email and address are masked for this viewer.")
    created_at: datetime
    updated_at: datetime


class CustomerCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "store": "tea-shop",
                    "external_id": "tb-20931",
                    "nickname": "爱喝茶的小王",
                    "name": "王芳",
                    "phone": "13812345678",
                    "province": "浙江省",
                    "city": "杭州市",
                    "district": "西湖区",
                    "street": "文三路 100 号 5 幢 301",
                    "tags": ["老客"],
                    "vip_level": 1,
                }
            ]
        }
    )

    store: str = Field(description="The store's slug.", examples=["tea-shop"])
    nickname: str = Field(examples=["爱喝茶的小王"])
    external_id: str | None = Field(default=None, description="The storefront's buyer id, unique per store.")
    name: str = ""
    phone: str = Field(default="", examples=["13812345678"])
    email: str = ""
    province: str = ""
    city: str = ""
    district: str = ""
    street: str = ""
    tags: list[str] = Field(default_factory=list, examples=[["老客", "VIP"]])
    vip_level: int = Field(default=0, examples=[0])
    notes: str = ""
    marketing_consent: bool = False


class CustomerUpdate(BaseModel):
    """Only the fields sent are changed."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"tags": ["老客", "爱砍价"], "vip_level": 2, "notes": "只在晚上回消息"}]
        }
    )

    nickname: str | None = None
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    province: str | None = None
    city: str | None = None
    district: str | None = None
    street: str | None = None
    tags: list[str] | None = None
    vip_level: int | None = None
    notes: str | None = None
