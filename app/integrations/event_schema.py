"""Huitou's own storefront event schema, carried by Standard Webhooks (POST /webhooks/standard/{slug}).

A bridge for Taobao, JD, PDD or Douyin shops is written against it. The envelope follows the
Standard Webhooks recommendation: {"type": ..., "timestamp": ..., "data": {...}}. Every order.*
event carries the order as the shop sees it now, so events may arrive in any order.
Run `python -m app.integrations.event_schema > docs/event-schema.json` after changing it.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter

from app.money import MoneyField


def _to_id(value: Any) -> Any:
    # Integers become exact strings; floats would already have lost digits, so they are refused.
    if isinstance(value, bool | float):
        raise ValueError("an id is a string or an integer")
    return str(value) if isinstance(value, int) else value


ExternalId = Annotated[
    str,
    BeforeValidator(_to_id),
    Field(
        min_length=1,
        max_length=64,
        description="The shop's id, as a string.",
        examples=["4102938475610293847"],
    ),
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class EventCustomer(_Model):
    id: ExternalId
    nickname: str = Field(default="", max_length=64, examples=["茶友小王"])
    name: str = Field(default="", max_length=64, examples=["王小明"])
    phone: str = Field(default="", max_length=32, examples=["13812345678"])
    email: str = Field(default="", max_length=255)
    province: str = Field(default="", max_length=32, examples=["浙江省"])
    city: str = Field(default="", max_length=32, examples=["杭州市"])
    district: str = Field(default="", max_length=32, examples=["西湖区"])
    street: str = Field(default="", max_length=255, examples=["文三路 100 号"])


class EventItem(_Model):
    sku: str = Field(default="", max_length=64, examples=["LJ-250"])
    title: str = Field(min_length=1, max_length=255, examples=["明前龙井 250g"])
    quantity: int = Field(ge=1, le=100_000, examples=[1])
    unit_price: MoneyField


class EventShipment(_Model):
    id: ExternalId
    carrier: str = Field(default="", max_length=64, examples=["顺丰速运"])
    tracking_number: str = Field(min_length=1, max_length=128, examples=["SF1234567890"])
    tracking_url: str = Field(default="", max_length=512)
    shipped_at: datetime | None = None


class EventOrder(_Model):
    """The order as the shop sees it now. customer and items are needed the first time an order
    is seen; stage times default to the envelope's timestamp."""

    id: ExternalId
    number: str = Field(default="", max_length=64, examples=["T20261111000123"])
    currency: str | None = Field(default=None, min_length=3, max_length=3, examples=["CNY"])
    total: MoneyField | None = None
    shipping_fee: MoneyField = Field(default=Decimal("0.00"))
    discount_total: MoneyField = Field(default=Decimal("0.00"))
    note: str = Field(default="", max_length=5000)
    placed_at: datetime | None = None
    updated_at: datetime | None = Field(default=None, description="Newest wins for totals and note.")
    customer: EventCustomer | None = None
    items: list[EventItem] = Field(default_factory=list, max_length=500)
    paid_at: datetime | None = None
    shipment: EventShipment | None = Field(default=None, description="order.shipped / order.delivered")
    delivered_at: datetime | None = None
    confirmed_at: datetime | None = None
    cancelled_at: datetime | None = None


class EventRefund(_Model):
    id: ExternalId
    order_id: ExternalId
    amount: MoneyField
    reason: str = Field(default="", max_length=255, examples=["七天无理由退货"])
    created_at: datetime | None = None


class EventReview(_Model):
    id: ExternalId
    order_id: ExternalId | None = None
    customer: EventCustomer
    rating: int = Field(ge=1, le=5, examples=[5])
    text: str = Field(default="", max_length=5000, examples=["茶香浓郁，包装很用心"])
    sku: str = Field(default="", max_length=64)
    posted_at: datetime | None = None


class EventMessage(_Model):
    id: ExternalId
    customer: EventCustomer
    order_id: ExternalId | None = None
    channel: str = Field(default="", max_length=32, examples=["wangwang"])
    text: str = Field(max_length=10_000, examples=["请问什么时候发货？"])
    sent_at: datetime | None = None


class EventInquiry(_Model):
    id: ExternalId
    customer: EventCustomer
    skus: list[str] = Field(min_length=1, max_length=20, examples=[["LJ-250"]])
    question: str = Field(default="", max_length=4000, examples=["这款茶是今年的新茶吗？"])
    opened_at: datetime | None = None


def _event(name: str, data_model: type[BaseModel], doc: str) -> type[BaseModel]:
    cls_name = "".join(part.capitalize() for part in name.replace(".", "_").split("_")) + "Event"
    model = type(
        cls_name,
        (_Model,),
        {
            "__doc__": doc,
            "__annotations__": {"type": Literal[name], "timestamp": datetime, "data": data_model},
            "timestamp": Field(description="When it happened at the shop (ISO 8601 with zone)."),
        },
    )
    return model


OrderCreated = _event("order.created", EventOrder, "A buyer placed an order (已下单).")
OrderPaid = _event("order.paid", EventOrder, "The order was paid (已付款); time: data.paid_at or timestamp.")
OrderShipped = _event("order.shipped", EventOrder, "A parcel left (已发货): data.shipment.")
OrderDelivered = _event("order.delivered", EventOrder, "The parcel was signed for (已签收).")
OrderConfirmed = _event("order.confirmed", EventOrder, "The buyer confirmed receipt (确认收货).")
OrderCancelled = _event("order.cancelled", EventOrder, "The order was cancelled (已取消).")
RefundCreated = _event("refund.created", EventRefund, "Money went back to the buyer (once per refund id).")
ReviewPosted = _event("review.posted", EventReview, "The buyer posted a review (评价).")
MessageReceived = _event("message.received", EventMessage, "The buyer wrote to the shop (买家消息).")
InquiryCreated = _event("inquiry.created", EventInquiry, "A pre-sale question (询单).")

EVENT_MODELS = (
    OrderCreated,
    OrderPaid,
    OrderShipped,
    OrderDelivered,
    OrderConfirmed,
    OrderCancelled,
    RefundCreated,
    ReviewPosted,
    MessageReceived,
    InquiryCreated,
)
EVENT_TYPES = tuple(m.model_fields["type"].annotation.__args__[0] for m in EVENT_MODELS)

StandardEvent = Annotated[
    OrderCreated
    | OrderPaid
    | OrderShipped
    | OrderDelivered
    | OrderConfirmed
    | OrderCancelled
    | RefundCreated
    | ReviewPosted
    | MessageReceived
    | InquiryCreated,
    Field(discriminator="type"),
]
EVENT_ADAPTER: TypeAdapter[Any] = TypeAdapter(StandardEvent)


def json_schema() -> dict[str, Any]:
    schema = EVENT_ADAPTER.json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://huitou.dev/schemas/storefront-event.json",
        "title": "Huitou storefront event",
        "description": (__doc__ or "").strip().split("\n\n")[0],
    } | schema


def inline_schema() -> dict[str, Any]:
    """The schema with every $ref replaced by its definition (for the OpenAPI request body)."""
    schema = copy.deepcopy(EVENT_ADAPTER.json_schema())
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(copy.deepcopy(defs[node["$ref"].rsplit("/", 1)[-1]]))
            return {k: resolve(v) for k, v in node.items() if k != "discriminator"}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    return resolve(schema)


def render() -> str:
    return json.dumps(json_schema(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(render(), end="")
