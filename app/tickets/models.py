"""Tickets and their messages. Minimal for now (task tickets from follow-ups); the desk grows here."""

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
        sa.Index("ix_tickets_status_priority_due", "status", "priority", "due_at"),
        sa.Index("ix_tickets_customer_kind_status", "customer_id", "kind", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: TicketKind = Field(sa_type=str_enum(TicketKind, 24))
    status: TicketStatus = Field(default=TicketStatus.open, sa_type=str_enum(TicketStatus, 16))
    priority: TicketPriority = Field(default=TicketPriority.normal, sa_type=str_enum(TicketPriority, 8))
    team_id: int | None = Field(default=None, foreign_key="teams.id", index=True, ondelete="SET NULL")
    assignee_id: int | None = Field(default=None, foreign_key="agents.id", index=True, ondelete="SET NULL")
    customer_id: int | None = Field(default=None, foreign_key="customers.id", ondelete="SET NULL")
    order_id: int | None = Field(default=None, foreign_key="orders.id", index=True, ondelete="SET NULL")
    inquiry_id: int | None = Field(default=None, foreign_key="inquiries.id", ondelete="SET NULL")
    case_id: int | None = Field(default=None, foreign_key="aftersales_cases.id", ondelete="SET NULL")
    review_id: int | None = Field(default=None, foreign_key="reviews.id", ondelete="SET NULL")
    subject: str = Field(max_length=255)
    tags: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    snoozed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    first_response_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    solved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime, index=True)


class TicketMessage(SQLModel, table=True):
    __tablename__ = "ticket_messages"
    __table_args__ = (sa.Index("ix_ticket_messages_ticket_created", "ticket_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id", ondelete="CASCADE")
    direction: MessageDirection = Field(sa_type=str_enum(MessageDirection, 10))
    author_id: int | None = Field(default=None, foreign_key="agents.id", ondelete="SET NULL")
    body: str = Field(sa_type=sa.Text)
    channel: str = Field(default="", max_length=32)
    delivery_status: str = Field(default="", max_length=16)
    created_at: datetime = Field(sa_type=UTCDateTime)
