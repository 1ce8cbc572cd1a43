"""JSON shapes of the audit API: approvals and audit-log entries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.audit.models import ApprovalKind, ApprovalStatus
from app.money import MoneyField


class ApprovalRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 7,
                    "kind": "price_below_floor",
                    "status": "pending",
                    "subject_type": "bargain_round",
                    "subject_id": 31,
                    "amount": "149.00",
                    "limit_amount": "159.00",
                    "currency": "CNY",
                    "reason": "明前龙井 250g: 149.00 < 159.00",
                    "requested_by_id": 3,
                    "decided_by_id": None,
                    "decision_note": "",
                    "decided_at": None,
                    "created_at": "2026-11-11T02:00:00Z",
                }
            ]
        },
    )

    id: int
    kind: ApprovalKind
    status: ApprovalStatus
    subject_type: str
    subject_id: int
    amount: MoneyField
    limit_amount: MoneyField
    currency: str
    reason: str
    requested_by_id: int | None
    decided_by_id: int | None
    decision_note: str
    decided_at: datetime | None
    created_at: datetime


class ApprovalDecision(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"note": "老客户，同意这一次"}]})

    note: str = Field(default="", max_length=500, examples=["老客户，同意这一次"])


class AuditEntryRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 120,
                    "action": "approval.approved.price_below_floor",
                    "actor_type": "agent",
                    "actor_id": 2,
                    "subject_type": "bargain_round",
                    "subject_id": 31,
                    "amount": "149.00",
                    "currency": "CNY",
                    "detail": {"approval_id": 7, "note": ""},
                    "created_at": "2026-11-11T02:05:00Z",
                }
            ]
        },
    )

    id: int
    action: str
    actor_type: str
    actor_id: int | None
    subject_type: str
    subject_id: int | None
    amount: MoneyField | None
    currency: str | None
    detail: dict[str, Any]
    created_at: datetime
