"""After-sales cases and their history."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.aftersales.lifecycle import CaseKind, CaseReason, CaseState
from app.db import Money, UTCDateTime, str_enum
from app.orders.lifecycle import ActorType


class AftersalesCase(SQLModel, table=True):
    __tablename__ = "aftersales_cases"
    __table_args__ = (
        sa.Index("ix_aftersales_cases_state_respond_by", "state", "respond_by_at"),
        # Metrics: cases decided / resolved in a period.
        sa.Index("ix_aftersales_cases_decided_at", "decided_at"),
        sa.Index("ix_aftersales_cases_resolved_at", "resolved_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    customer_id: int = Field(foreign_key="customers.id", index=True)
    store_id: int = Field(foreign_key="stores.id", index=True)
    external_id: str | None = Field(default=None, max_length=64)
    kind: CaseKind = Field(sa_type=str_enum(CaseKind, 20))
    reason: CaseReason = Field(sa_type=str_enum(CaseReason, 24))
    state: CaseState = Field(default=CaseState.requested, sa_type=str_enum(CaseState, 20))
    description: str = Field(default="", sa_type=sa.Text)
    currency: str = Field(default="CNY", max_length=3)
    requested_amount: Decimal = Field(default=Decimal("0.00"), sa_type=Money)
    refunded_amount: Decimal = Field(default=Decimal("0.00"), sa_type=Money)
    # The policy's suggestion shown with the request (exchange / refund / shop takes responsibility).
    recommendation: str = Field(default="", max_length=64)
    decided_in_buyer_favour: bool | None = Field(default=None)
    opened_by_id: int | None = Field(default=None, foreign_key="agents.id", ondelete="SET NULL")
    requested_at: datetime = Field(sa_type=UTCDateTime)
    respond_by_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    return_received_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    refund_by_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime, index=True)


class CaseHistoryEntry(SQLModel, table=True):
    __tablename__ = "aftersales_case_history"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="aftersales_cases.id", index=True, ondelete="CASCADE")
    from_state: CaseState | None = Field(default=None, sa_type=str_enum(CaseState, 20))
    to_state: CaseState = Field(sa_type=str_enum(CaseState, 20))
    actor_type: ActorType = Field(sa_type=str_enum(ActorType, 16))
    actor_id: int | None = Field(default=None)
    note: str = Field(default="", max_length=500)
    occurred_at: datetime = Field(sa_type=UTCDateTime)
