"""JSON shapes of the presale API: inquiries, their products and bargaining rounds."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.audit.schemas import ApprovalRead
from app.money import MoneyField
from app.presale.models import InquiryStatus, LostReason, Speaker


class Concession(BaseModel):
    kind: Literal["free_shipping", "gift", "coupon"] = Field(examples=["free_shipping"])
    value: MoneyField = Field(description="What it is worth to the buyer, a decimal string.")
    note: str = Field(default="", max_length=200, examples=["包邮"])


class RoundRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    inquiry_id: int
    product_id: int
    seq: int
    speaker: Speaker
    offered_price: MoneyField
    concessions: list[Concession]
    concessions_value: MoneyField
    effective_price: MoneyField = Field(description="offered_price minus the concessions' value.")
    is_agreed: bool
    pending_approval_id: int | None = None
    note: str
    agent_id: int | None
    offered_at: datetime


class ProductLine(BaseModel):
    product_id: int
    sku: str
    title: str
    currency: str
    list_price: MoneyField
    floor_price: MoneyField
    suggested_counter: MoneyField = Field(
        description="The agent's next counter-offer, never below the floor."
    )
    discount_so_far: MoneyField
    agreed_price: MoneyField | None


class InquiryRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 12,
                    "store_id": 1,
                    "customer_id": 40,
                    "external_id": None,
                    "agent_id": 3,
                    "status": "bargaining",
                    "lost_reason": None,
                    "lost_note": "",
                    "won_order_id": None,
                    "question": "这款龙井是今年的明前茶吗？能便宜点吗？",
                    "product_ids": [5],
                    "opened_at": "2026-11-10T06:00:00Z",
                    "closed_at": None,
                    "created_at": "2026-11-10T06:00:00Z",
                    "updated_at": "2026-11-10T06:20:00Z",
                }
            ]
        }
    )

    id: int
    store_id: int
    customer_id: int
    external_id: str | None
    agent_id: int | None
    status: InquiryStatus
    lost_reason: LostReason | None
    lost_note: str
    won_order_id: int | None
    question: str
    product_ids: list[int]
    opened_at: datetime
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime


class InquiryDetail(InquiryRead):
    products: list[ProductLine]
    rounds: list[RoundRead]
    discount_so_far: MoneyField = Field(description="Across all products of the inquiry.")
    pending_approvals: list[ApprovalRead]


class InquiryCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "customer_id": 40,
                    "product_ids": [5],
                    "question": "这款龙井是今年的明前茶吗？",
                    "agent_id": 3,
                }
            ]
        }
    )

    customer_id: int = Field(examples=[40])
    product_ids: list[int] = Field(min_length=1, max_length=20, examples=[[5]])
    question: str = Field(default="", max_length=4000)
    agent_id: int | None = Field(default=None, description="The agent credited with the inquiry.")
    external_id: str | None = Field(default=None, max_length=64)
    opened_at: datetime | None = Field(default=None, description="Defaults to now.")


class RoundCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "product_id": 5,
                    "speaker": "agent",
                    "offered_price": "179.00",
                    "concessions": [{"kind": "free_shipping", "value": "8.00", "note": "包邮"}],
                    "note": "亲，这是今年的明前茶，给您包邮",
                    "is_agreed": False,
                }
            ]
        }
    )

    product_id: int
    speaker: Speaker
    offered_price: MoneyField
    concessions: list[Concession] = Field(default_factory=list, max_length=10)
    note: str = Field(default="", max_length=500)
    is_agreed: bool = Field(default=False, description="Both sides agree on this price.")


class RoundCreated(BaseModel):
    round: RoundRead
    approval: ApprovalRead | None = Field(
        default=None, description="Set when an agreed price below the floor waits for a supervisor."
    )


class InquiryLose(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": "price", "note": "嫌贵，去了别家"}]})

    reason: LostReason
    note: str = Field(default="", max_length=500)


class InquiryWin(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"order_id": 88}]})

    order_id: int


def round_read(row, pending_approval_id: int | None = None) -> RoundRead:
    effective = max(Decimal("0.00"), row.offered_price - row.concessions_value)
    return RoundRead.model_validate(
        {
            **{k: getattr(row, k) for k in RoundRead.model_fields if hasattr(row, k)},
            "effective_price": effective,
            "pending_approval_id": pending_approval_id,
        }
    )


def inquiry_read(card) -> InquiryRead:
    return InquiryRead.model_validate(_inquiry_fields(card))


def _inquiry_fields(card) -> dict:
    inquiry = card.inquiry
    fields = {k: getattr(inquiry, k) for k in InquiryRead.model_fields if k != "product_ids"}
    return fields | {"product_ids": [line.product.id for line in card.products]}


def inquiry_detail(card) -> InquiryDetail:
    products = [
        ProductLine(
            product_id=line.product.id,
            sku=line.product.sku,
            title=line.product.title,
            currency=line.product.currency,
            list_price=line.product.list_price,
            floor_price=line.product.floor_price,
            suggested_counter=line.suggestion,
            discount_so_far=line.discount,
            agreed_price=line.agreed_price,
        )
        for line in card.products
    ]
    rounds = [round_read(r, getattr(card.pending_for(r.id), "id", None)) for r in card.rounds]
    return InquiryDetail.model_validate(
        _inquiry_fields(card)
        | {
            "products": products,
            "rounds": rounds,
            "discount_so_far": card.discount,
            "pending_approvals": [ApprovalRead.model_validate(a) for a in card.pending_approvals],
        }
    )
