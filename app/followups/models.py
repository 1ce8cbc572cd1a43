"""Follow-up rules, the follow-ups they schedule, revisit plans and per-store follow-up settings."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, str_enum


class Trigger(enum.StrEnum):
    inquiry_lost = "inquiry_lost"
    order_created = "order_created"
    order_paid = "order_paid"
    order_shipped = "order_shipped"
    order_delivered = "order_delivered"
    order_confirmed = "order_confirmed"
    review_posted = "review_posted"
    shipment_exception = "shipment_exception"
    case_opened = "case_opened"
    case_updated = "case_updated"
    case_closed = "case_closed"
    ticket_solved = "ticket_solved"
    revisit_plan = "revisit_plan"


class FollowupKind(enum.StrEnum):
    payment_reminder = "payment_reminder"
    reassurance = "reassurance"
    shipping_notice = "shipping_notice"
    confirm_nudge = "confirm_nudge"
    review_request = "review_request"
    review_thanks = "review_thanks"
    bad_review = "bad_review"
    lost_lead = "lost_lead"
    shipping_exception = "shipping_exception"
    aftersales_deadline = "aftersales_deadline"
    care = "care"
    revisit = "revisit"
    csat_survey = "csat_survey"  # the satisfaction survey invitation after a solved ticket


class Action(enum.StrEnum):
    task = "task"  # a ticket in an agent queue
    auto = "auto"  # an automatic message (message.outbound)


class FollowupStatus(enum.StrEnum):
    pending = "pending"
    done = "done"
    skipped = "skipped"
    failed = "failed"  # gave up after repeated errors


class Outcome(enum.StrEnum):
    sent = "sent"  # handed to the outbox
    queued = "queued"  # recorded as queued (no outbound channel yet)
    task_created = "task_created"
    skipped = "skipped"
    failed = "failed"


class FollowupRule(SQLModel, table=True):
    __tablename__ = "followup_rules"

    id: int | None = Field(default=None, primary_key=True)
    trigger: Trigger = Field(sa_type=str_enum(Trigger, 24))
    kind: FollowupKind = Field(sa_type=str_enum(FollowupKind, 24))
    # Minutes after the trigger (for deadlines: minutes before the deadline). None: the store's
    # own setting (shipping exceptions: Store.shipping_exception_days).
    delay_minutes: int | None = Field(default=None)
    category: str = Field(max_length=40)
    action: Action = Field(sa_type=str_enum(Action, 8))
    priority: str = Field(default="normal", max_length=8)
    once: bool = Field(default=True)
    enabled: bool = Field(default=True)
    # Condition names (app.followups.conditions), re-checked when the follow-up falls due.
    conditions: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class Followup(SQLModel, table=True):
    """One scheduled touch. Durable work: claimed by a worker under a lease, handled exactly once."""

    __tablename__ = "followups"
    __table_args__ = (
        sa.UniqueConstraint("dedupe_key"),
        sa.Index("ix_followups_status_due", "status", "due_at"),
        sa.Index("ix_followups_customer_kind_handled", "customer_id", "kind", "handled_at"),
        # Metrics: revisits due in a period, and those handled since the rollup last looked.
        sa.Index("ix_followups_kind_due", "kind", "due_at"),
        sa.Index("ix_followups_handled_at", "handled_at"),
        sa.Index("ix_followups_ticket_id", "ticket_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=128)
    kind: FollowupKind = Field(sa_type=str_enum(FollowupKind, 24))
    trigger: Trigger = Field(sa_type=str_enum(Trigger, 24))
    rule_id: int | None = Field(default=None, foreign_key="followup_rules.id", ondelete="SET NULL")
    plan_id: int | None = Field(default=None, foreign_key="revisit_plans.id", index=True, ondelete="SET NULL")
    store_id: int = Field(foreign_key="stores.id")
    customer_id: int = Field(foreign_key="customers.id")
    order_id: int | None = Field(default=None, foreign_key="orders.id", index=True, ondelete="CASCADE")
    inquiry_id: int | None = Field(default=None, foreign_key="inquiries.id", ondelete="CASCADE")
    case_id: int | None = Field(default=None, foreign_key="aftersales_cases.id", ondelete="CASCADE")
    review_id: int | None = Field(default=None, foreign_key="reviews.id", ondelete="CASCADE")
    category: str = Field(max_length=40)
    action: Action = Field(sa_type=str_enum(Action, 8))
    priority: str = Field(default="normal", max_length=8)
    due_at: datetime = Field(sa_type=UTCDateTime)
    status: FollowupStatus = Field(default=FollowupStatus.pending, sa_type=str_enum(FollowupStatus, 10))
    outcome: Outcome | None = Field(default=None, sa_type=str_enum(Outcome, 16))
    reason: str = Field(default="", max_length=255)
    message: str = Field(default="", sa_type=sa.Text)
    ticket_id: int | None = Field(default=None, foreign_key="tickets.id", ondelete="SET NULL")
    # Extra facts fixed when scheduled (a deadline and its escalation step, a holiday's name …).
    context: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    # The claim: a worker's token and when its lease runs out (then another worker may retry).
    claim_token: str | None = Field(default=None, max_length=32)
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attempts: int = Field(default=0)
    last_error: str = Field(default="", max_length=255)
    handled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)


class RevisitPlan(SQLModel, table=True):
    __tablename__ = "revisit_plans"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    store_id: int | None = Field(default=None, foreign_key="stores.id", ondelete="CASCADE")
    enabled: bool = Field(default=True)
    # {"category": "绿茶", "last_order_within_days": 180, "min_vip_level": 2, "min_total_spent": "500.00"}
    segment: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    # "relative": first_after_days after confirmation, then every repeat_days (None: once).
    # "named": on named dates (spring_festival, mid_autumn, 618, double11, customer_date …).
    schedule: str = Field(default="relative", max_length=10)
    first_after_days: int | None = Field(default=None)
    repeat_days: int | None = Field(default=None)
    named_dates: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    offset_days: int = Field(default=0)
    send_hour: int = Field(default=10)
    category: str = Field(max_length=40)
    action: Action = Field(sa_type=str_enum(Action, 8))
    created_by_id: int | None = Field(default=None, foreign_key="agents.id", ondelete="SET NULL")
    last_planned_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class FollowupSettings(SQLModel, table=True):
    """Per-store follow-up settings; a store without a row uses the defaults."""

    __tablename__ = "followup_settings"

    store_id: int = Field(foreign_key="stores.id", primary_key=True, ondelete="CASCADE")
    quiet_start: str = Field(default="22:00", max_length=5)
    quiet_end: str = Field(default="08:00", max_length=5)
    revisit_cap_days: int = Field(default=14)
    # How long a CSAT survey link stays open after the invitation.
    csat_expiry_days: int = Field(default=7)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class CustomerDate(SQLModel, table=True):
    """A customer's own date (birthday, anniversary), when the shop knows it: for revisit plans."""

    __tablename__ = "customer_dates"
    __table_args__ = (sa.UniqueConstraint("customer_id", "label"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id", ondelete="CASCADE")
    label: str = Field(default="birthday", max_length=32)
    month: int
    day: int
    created_at: datetime = Field(sa_type=UTCDateTime)
