"""Tickets (units of agent work), their messages and notes, queues (saved filters), macros, presence."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, str_enum


class TicketKind(enum.StrEnum):
    inquiry = "inquiry"
    bargaining = "bargaining"
    payment_reminder = "payment_reminder"
    reassurance = "reassurance"
    shipping = "shipping"
    confirm_nudge = "confirm_nudge"
    review_request = "review_request"
    review_thanks = "review_thanks"
    bad_review = "bad_review"
    lost_lead = "lost_lead"
    aftersales = "aftersales"
    revisit = "revisit"
    buyer_message = "buyer_message"
    other = "other"


class TicketStatus(enum.StrEnum):
    open = "open"
    pending = "pending"
    snoozed = "snoozed"
    solved = "solved"
    closed = "closed"


class TicketPriority(enum.StrEnum):
    low = "low"
    normal = "normal"
    high = "high"
    urgent = "urgent"

    @property
    def rank(self) -> int:
        return {"low": 0, "normal": 1, "high": 2, "urgent": 3}[self.value]


class MessageDirection(enum.StrEnum):
    inbound = "inbound"  # from the buyer
    outbound = "outbound"  # to the buyer
    note = "note"  # internal, never sent


# A ticket in one of these states is still somebody's work: one per customer and topic.
ACTIVE_STATUSES = (TicketStatus.open, TicketStatus.pending, TicketStatus.snoozed)


class Ticket(SQLModel, table=True):
    __tablename__ = "tickets"
    __table_args__ = (
        # The queue order: active, unassigned or mine, most urgent first (priority, raised when an
        # SLA deadline is near: queue_rank), then the earliest due: one kind's tickets come out of
        # the index already in queue order. Team and assignee ride along, so a queue's filters and
        # counts are checked in the index without reading each ticket.
        sa.Index(
            "ix_tickets_queue",
            "status",
            "kind",
            sa.text("queue_rank DESC"),
            "due_at",
            "team_id",
            "assignee_id",
        ),
        sa.Index("ix_tickets_assignee_status", "assignee_id", "status"),
        sa.Index("ix_tickets_customer_kind_status", "customer_id", "kind", "status"),
        sa.Index("ix_tickets_status_snoozed_until", "status", "snoozed_until"),
        # Waiting work only (open, nobody has it), in queue order: "next ticket" takes the first
        # entry that matches the agent's queues, however many tickets are open or assigned. The
        # order is spelt out (rank descending, due, no due last, oldest) because SQLite's indexes
        # hold NULLs first: with "(due_at IS NULL)" one index scan gives it on both engines.
        sa.Index(
            "ix_tickets_waiting",
            sa.text("queue_rank DESC"),
            sa.text("(due_at IS NULL)"),
            "due_at",
            "id",
            postgresql_where=sa.text("status = 'open' AND assignee_id IS NULL"),
            sqlite_where=sa.text("status = 'open' AND assignee_id IS NULL"),
        ),
        # The SLA job: tickets whose next SLA event (a deadline, or entering its risk window) is due.
        sa.Index("ix_tickets_sla_next_at", "sla_next_at"),
        # Metrics: tickets created / solved in a period.
        sa.Index("ix_tickets_created_at", "created_at"),
        sa.Index("ix_tickets_solved_at", "solved_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: TicketKind = Field(sa_type=str_enum(TicketKind, 24))
    status: TicketStatus = Field(default=TicketStatus.open, sa_type=str_enum(TicketStatus, 16))
    priority: TicketPriority = Field(default=TicketPriority.normal, sa_type=str_enum(TicketPriority, 8))
    # priority.rank, stored so the queue can order by it with an index (urgent = 3 first).
    priority_rank: int = Field(default=1)
    # What the queue orders by: 2 × priority.rank, plus 3 while an SLA deadline is near or missed
    # (sla_risk) — such a ticket goes above its own priority and the next one (tickets.sla).
    queue_rank: int = Field(default=2)
    sla_risk: bool = Field(default=False)
    store_id: int | None = Field(default=None, foreign_key="stores.id", index=True, ondelete="SET NULL")
    team_id: int | None = Field(default=None, foreign_key="teams.id", index=True, ondelete="SET NULL")
    assignee_id: int | None = Field(default=None, foreign_key="agents.id", ondelete="SET NULL")
    customer_id: int | None = Field(default=None, foreign_key="customers.id", ondelete="SET NULL")
    order_id: int | None = Field(default=None, foreign_key="orders.id", index=True, ondelete="SET NULL")
    inquiry_id: int | None = Field(default=None, foreign_key="inquiries.id", index=True, ondelete="SET NULL")
    case_id: int | None = Field(
        default=None, foreign_key="aftersales_cases.id", index=True, ondelete="SET NULL"
    )
    review_id: int | None = Field(default=None, foreign_key="reviews.id", ondelete="SET NULL")
    subject: str = Field(max_length=255)
    tags: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    snoozed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The next deadline the queue orders by: the earliest of the SLA targets still open and a
    # task's own deadline (an after-sales clock).
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # SLA due times (tickets.sla: per policy, in business or calendar time).
    first_response_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_response_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolution_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    first_response_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # A task's own deadline (an after-sales clock): the resolution deadline never passes it, and a
    # paused SLA clock does not move it.
    task_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Since when the SLA clocks stand still (pending / snoozed, where the policy pauses them).
    sla_paused_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When the SLA job next has something to do: a deadline passes, or one enters its risk window.
    sla_next_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_inbound_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_outbound_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    assigned_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    solved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reopened_count: int = Field(default=0)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime, index=True)


class TicketMessage(SQLModel, table=True):
    __tablename__ = "ticket_messages"
    __table_args__ = (
        sa.Index("ix_ticket_messages_ticket_created", "ticket_id", "created_at"),
        # A buyer message redelivered by the storefront is recorded once.
        sa.Index("ux_ticket_messages_store_external", "store_id", "external_id", unique=True),
        # Metrics: buyer messages and replies in a period (response times, the heat map).
        sa.Index("ix_ticket_messages_direction_created", "direction", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id", ondelete="CASCADE")
    direction: MessageDirection = Field(sa_type=str_enum(MessageDirection, 10))
    author_id: int | None = Field(default=None, foreign_key="agents.id", ondelete="SET NULL")
    # Sent by automation (a follow-up rule), not typed by a person: excluded from response times.
    automated: bool = Field(default=False)
    body: str = Field(sa_type=sa.Text)
    # How an outbound message travels: "webhook" (the outbound channel) or "manual" (the agent
    # pasted it into the marketplace's own chat); inbound: the storefront's channel name.
    channel: str = Field(default="", max_length=32)
    # queued / sent / failed for webhook messages, "sent" for manual ones; empty for notes.
    delivery_status: str = Field(default="", max_length=16)
    template_id: int | None = Field(
        default=None, foreign_key="phrasing_templates.id", index=True, ondelete="SET NULL"
    )
    store_id: int | None = Field(default=None, foreign_key="stores.id", ondelete="SET NULL")
    external_id: str | None = Field(default=None, max_length=128)
    created_at: datetime = Field(sa_type=UTCDateTime)


class Queue(SQLModel, table=True):
    """A saved filter over tickets (售前咨询, 催付 …), per team or for everyone (team_id null)."""

    __tablename__ = "queues"
    __table_args__ = (sa.UniqueConstraint("team_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: int | None = Field(default=None, foreign_key="teams.id", index=True, ondelete="CASCADE")
    key: str = Field(max_length=32)
    name: str = Field(max_length=64)
    position: int = Field(default=0)
    # {"kinds": [...], "statuses": [...], "assignee": "unassigned|mine|any", "tags": [...],
    #  "priorities": [...], "store_id": n} — interpreted by tickets.queues.
    filters: dict = Field(default_factory=dict, sa_type=sa.JSON)
    is_default: bool = Field(default=False)
    created_at: datetime = Field(sa_type=UTCDateTime)


class Macro(SQLModel, table=True):
    """A phrasing template plus ticket changes applied in one click (status, tags, assignee, priority)."""

    __tablename__ = "macros"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64)
    team_id: int | None = Field(default=None, foreign_key="teams.id", index=True, ondelete="CASCADE")
    template_id: int | None = Field(default=None, foreign_key="phrasing_templates.id", ondelete="SET NULL")
    set_status: str | None = Field(default=None, max_length=16)
    set_priority: str | None = Field(default=None, max_length=8)
    add_tags: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    # "me" (the agent applying it), "none" (back to the queue) or an agent id as text.
    assign_to: str | None = Field(default=None, max_length=16)
    is_active: bool = Field(default=True)
    created_at: datetime = Field(sa_type=UTCDateTime)


class TicketViewer(SQLModel, table=True):
    """Who has a ticket open right now (a heartbeat row), so a second agent sees a notice.
    In the database, so it holds across server processes."""

    __tablename__ = "ticket_viewers"

    ticket_id: int = Field(foreign_key="tickets.id", primary_key=True, ondelete="CASCADE")
    agent_id: int = Field(foreign_key="agents.id", primary_key=True, ondelete="CASCADE")
    seen_at: datetime = Field(sa_type=UTCDateTime, index=True)
