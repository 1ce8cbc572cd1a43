"""JSON shapes of the after-sales API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from app.aftersales.lifecycle import CaseKind, CaseReason, CaseState
from app.money import MoneyField
from app.orders.lifecycle import ActorType


class CaseCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "order_id": 1042,
                    "kind": "exchange",
                    "reason": "size_fit",
                    "description": "尺码偏小想换大一号",
                    "requested_amount": "0.00",
                },
                {
                    "order_id": 1043,
                    "kind": "refund_only",
                    "reason": "damaged_in_transit",
                    "description": "收到时外包装破损，茶叶撒了一半",
                    "requested_amount": "89.00",
                },
            ]
        }
    )

    order_id: int
    kind: CaseKind
    reason: CaseReason
    description: str = Field(default="", max_length=2000)
    requested_amount: MoneyField = Decimal("0.00")


class MoveIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"to": "approved", "note": "质量问题，同意退货"}]}
    )

    to: CaseState
    note: str = Field(default="", max_length=500)


class CaseRefundIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"amount": "89.00"}]})

    amount: MoneyField


class CaseHistoryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    from_state: CaseState | None
    to_state: CaseState
    actor_type: ActorType
    actor_id: int | None
    note: str
    occurred_at: datetime


class PendingApprovalRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    amount: MoneyField
    limit_amount: MoneyField
    created_at: datetime


class CaseRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 7,
                    "order_id": 1043,
                    "order_number": "HT20261111001043",
                    "customer_id": 310,
                    "store_id": 1,
                    "kind": "refund_only",
                    "reason": "damaged_in_transit",
                    "state": "requested",
                    "allowed_next": ["approved", "rejected"],
                    "description": "收到时外包装破损，茶叶撒了一半",
                    "currency": "CNY",
                    "requested_amount": "89.00",
                    "refunded_amount": "0.00",
                    "recommendation": "shop_takes_responsibility",
                    "recommendation_text": "Responsibility is unclear, so the shop takes it: …",
                    "decided_in_buyer_favour": None,
                    "requested_at": "2026-11-11T02:00:00Z",
                    "respond_by_at": "2026-11-13T02:00:00Z",
                    "refund_by_at": None,
                    "overdue": False,
                    "pending_approval": None,
                    "updated_at": "2026-11-11T02:00:00Z",
                }
            ]
        },
    )

    id: int
    order_id: int
    order_number: str
    customer_id: int
    store_id: int
    external_id: str | None = None
    kind: CaseKind
    reason: CaseReason
    state: CaseState
    allowed_next: list[CaseState]
    description: str
    currency: str
    requested_amount: MoneyField
    refunded_amount: MoneyField
    recommendation: str
    recommendation_text: str
    decided_in_buyer_favour: bool | None
    opened_by_id: int | None = None
    requested_at: datetime
    respond_by_at: datetime | None
    decided_at: datetime | None = None
    return_received_at: datetime | None = None
    refund_by_at: datetime | None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    overdue: bool
    pending_approval: PendingApprovalRead | None
    updated_at: datetime
    history: list[CaseHistoryRead] | None = Field(
        default=None, description="The state changes, oldest first (on GET /cases/{id} and actions)."
    )


class CasePage(BaseModel):
    items: list[CaseRead]
    next_cursor: str | None = None
