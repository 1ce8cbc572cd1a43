"""Tables of targets (目标管理) and quality inspection (质检).

Targets are per agent or per team and month for one KPI key (app.metrics.kpis.KPIS); an agent's
month also has a self-assessment and the supervisor's assessment. Quality inspection samples solved
tickets into batches; each inspection is scored on the rubric (points items and fatal items), the
item scores keep a copy of the item as it was, and the agent may appeal a score once.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db import Money, UTCDateTime, str_enum

SCALE = 10_000
FOUR_PLACES = Decimal("0.0001")


class Scaled(Money):
    """A Decimal with four places, stored as a whole number of ten-thousandths: exact on SQLite too,
    for target values (ratios, seconds, money) and scores. A Money subclass only so migrations
    render and compare it as the plain BIGINT it is (app.migrations)."""

    cache_ok = True

    def process_bind_param(self, value: Decimal | int | str | None, dialect: Any) -> int | None:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("scaled decimals must be Decimal, never float")
        try:
            amount = Decimal(value)
        except InvalidOperation as exc:
            raise ValueError(f"not a number: {value!r}") from exc
        return int((amount * SCALE).to_integral_value(rounding=ROUND_HALF_UP))

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        if value is None:
            return None
        return (Decimal(int(value)) / SCALE).quantize(FOUR_PLACES)

    @property
    def python_type(self) -> type:
        return Decimal


# --- targets -----------------------------------------------------------------------------------


class TargetDirection(enum.StrEnum):
    higher = "higher"  # at least the target (conversion, CSAT)
    lower = "lower"  # at most the target (response time, refund rate)


class Target(SQLModel, table=True):
    __tablename__ = "targets"
    __table_args__ = (
        # One target per subject, month and KPI; `subject` ("agent:12" / "team:3") makes the key
        # unique where agent_id/team_id, being NULL on one side, could not.
        sa.UniqueConstraint("year", "month", "subject", "kpi"),
        sa.Index("ix_targets_agent_month", "agent_id", "year", "month"),
        sa.Index("ix_targets_team_month", "team_id", "year", "month"),
    )

    id: int | None = Field(default=None, primary_key=True)
    year: int
    month: int
    subject: str = Field(max_length=24)
    agent_id: int | None = Field(default=None, foreign_key="agents.id", ondelete="CASCADE")
    team_id: int | None = Field(default=None, foreign_key="teams.id", ondelete="CASCADE")
    kpi: str = Field(max_length=40)
    value: Decimal = Field(sa_type=Scaled)
    direction: TargetDirection = Field(sa_type=str_enum(TargetDirection, 8))
    set_by_id: int | None = Field(default=None, foreign_key="agents.id", ondelete="SET NULL")
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class SelfAssessment(SQLModel, table=True):
    """An agent's month in their own words, and the supervisor's assessment beside it."""

    __tablename__ = "self_assessments"
    __table_args__ = (sa.UniqueConstraint("agent_id", "year", "month"),)

    id: int | None = Field(default=None, primary_key=True)
    agent_id: int = Field(foreign_key="agents.id", ondelete="CASCADE")
    year: int
    month: int
    self_rating: int | None = Field(default=None)  # 1–5
    self_text: str = Field(default="", sa_type=sa.Text)
    self_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    supervisor_rating: int | None = Field(default=None)  # 1–5
    supervisor_text: str = Field(default="", sa_type=sa.Text)
    supervisor_id: int | None = Field(default=None, foreign_key="agents.id", ondelete="SET NULL")
    supervisor_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


# --- quality inspection (质检) -------------------------------------------------------------------


class RubricKind(enum.StrEnum):
    points = "points"  # scored from 0 to max_points
    fatal = "fatal"  # when it happened, the whole score is 0


class QaRubricItem(SQLModel, table=True):
    __tablename__ = "qa_rubric_items"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=40, sa_column_kwargs={"unique": True})
    # An English msgid for the built-in items (shown translated), the supervisor's words for others.
    label: str = Field(max_length=100)
    description: str = Field(default="", max_length=255)
    kind: RubricKind = Field(sa_type=str_enum(RubricKind, 8))
    max_points: int = Field(default=0)
    position: int = Field(default=0)
    is_active: bool = Field(default=True)
    is_builtin: bool = Field(default=False)
    created_at: datetime = Field(sa_type=UTCDateTime)


class QaBatch(SQLModel, table=True):
    """One sampling run: the filters used and how many tickets were asked for."""

    __tablename__ = "qa_batches"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    mode: str = Field(default="random", max_length=8)  # "random" or "latest"
    requested: int
    # {"agent_id": 3, "kind": "aftersales", "start": "2026-11-01", "end": "2026-11-30", "max_csat": 2}
    filters: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    created_by_id: int | None = Field(default=None, foreign_key="agents.id", ondelete="SET NULL")
    created_at: datetime = Field(sa_type=UTCDateTime)


class InspectionStatus(enum.StrEnum):
    pending = "pending"
    scored = "scored"


class QaInspection(SQLModel, table=True):
    """One solved ticket under inspection: at most one per ticket, across batches."""

    __tablename__ = "qa_inspections"
    __table_args__ = (
        sa.Index("ix_qa_inspections_agent_solved", "agent_id", "ticket_solved_at"),
        sa.Index("ix_qa_inspections_batch_status", "batch_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="qa_batches.id", ondelete="CASCADE")
    ticket_id: int = Field(foreign_key="tickets.id", ondelete="CASCADE", sa_column_kwargs={"unique": True})
    # The agent whose work is inspected (the ticket's assignee when sampled).
    agent_id: int | None = Field(default=None, foreign_key="agents.id", ondelete="SET NULL")
    ticket_kind: str = Field(max_length=24)
    # When the ticket was solved: the QA score counts in the period of the work, not of the scoring.
    ticket_solved_at: datetime = Field(sa_type=UTCDateTime)
    status: InspectionStatus = Field(default=InspectionStatus.pending, sa_type=str_enum(InspectionStatus, 8))
    fatal: bool = Field(default=False)
    points: int | None = Field(default=None)
    max_points: int | None = Field(default=None)
    # 0–100: points ÷ max points × 100, or 0 when a fatal item was hit. After an upheld appeal, the
    # rescored value.
    score: Decimal | None = Field(default=None, sa_type=Scaled)
    comment: str = Field(default="", sa_type=sa.Text)
    scored_by_id: int | None = Field(default=None, foreign_key="agents.id", ondelete="SET NULL")
    scored_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)


class QaItemScore(SQLModel, table=True):
    """One rubric item's result on one inspection, with the item as it was when scored."""

    __tablename__ = "qa_item_scores"
    __table_args__ = (sa.UniqueConstraint("inspection_id", "item_key"),)

    id: int | None = Field(default=None, primary_key=True)
    inspection_id: int = Field(foreign_key="qa_inspections.id", ondelete="CASCADE")
    item_id: int | None = Field(default=None, foreign_key="qa_rubric_items.id", ondelete="SET NULL")
    item_key: str = Field(max_length=40)
    item_label: str = Field(max_length=100)
    kind: RubricKind = Field(sa_type=str_enum(RubricKind, 8))
    max_points: int = Field(default=0)
    points: int = Field(default=0)
    hit: bool = Field(default=False)  # a fatal item that happened
    comment: str = Field(default="", max_length=500)


class AppealStatus(enum.StrEnum):
    open = "open"
    upheld = "upheld"  # the agent was right: rescored
    rejected = "rejected"


class QaAppeal(SQLModel, table=True):
    """An agent's one appeal against an inspection's score (unique per inspection)."""

    __tablename__ = "qa_appeals"
    __table_args__ = (sa.Index("ix_qa_appeals_status_created", "status", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    inspection_id: int = Field(
        foreign_key="qa_inspections.id", ondelete="CASCADE", sa_column_kwargs={"unique": True}
    )
    agent_id: int | None = Field(default=None, foreign_key="agents.id", ondelete="SET NULL")
    reason: str = Field(sa_type=sa.Text)
    status: AppealStatus = Field(default=AppealStatus.open, sa_type=str_enum(AppealStatus, 8))
    score_before: Decimal | None = Field(default=None, sa_type=Scaled)
    score_after: Decimal | None = Field(default=None, sa_type=Scaled)
    resolution: str = Field(default="", sa_type=sa.Text)
    resolved_by_id: int | None = Field(default=None, foreign_key="agents.id", ondelete="SET NULL")
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
