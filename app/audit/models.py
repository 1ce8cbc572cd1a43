"""Audit entries and approvals."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db import Money, UTCDateTime, str_enum


class ApprovalKind(enum.StrEnum):
    price_below_floor = "price_below_floor"
    refund_over_limit = "refund_over_limit"


class ApprovalStatus(enum.StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"


class Approval(SQLModel, table=True):
    """A decision that costs the shop money and needs a supervisor: accepted or rejected once."""

    __tablename__ = "approvals"
    __table_args__ = (sa.Index("ix_approvals_status_created", "status", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: ApprovalKind = Field(sa_type=str_enum(ApprovalKind, 24))
    status: ApprovalStatus = Field(default=ApprovalStatus.pending, sa_type=str_enum(ApprovalStatus, 16))
    # What it is about: ("bargain_round", id) or ("aftersales_case", id).
    subject_type: str = Field(max_length=32)
    subject_id: int
    amount: Decimal = Field(sa_type=Money)
    limit_amount: Decimal = Field(sa_type=Money)
    currency: str = Field(default="CNY", max_length=3)
    reason: str = Field(default="", max_length=500)
    requested_by_id: int | None = Field(default=None, foreign_key="agents.id", ondelete="SET NULL")
    decided_by_id: int | None = Field(default=None, foreign_key="agents.id", ondelete="SET NULL")
    decision_note: str = Field(default="", max_length=500)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)


class AuditEntry(SQLModel, table=True):
    """Append-only: who did what to which record, for how much, when."""

    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_log_subject", "subject_type", "subject_id"),)

    id: int | None = Field(default=None, primary_key=True)
    action: str = Field(max_length=64, index=True)
    actor_type: str = Field(max_length=16)  # agent | api_key | storefront | system
    actor_id: int | None = Field(default=None)
    subject_type: str = Field(max_length=32)
    subject_id: int | None = Field(default=None)
    amount: Decimal | None = Field(default=None, sa_type=Money)
    currency: str | None = Field(default=None, max_length=3)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)
