"""JSON shapes of the tickets API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.customers.schemas import CustomerRead
from app.tickets.models import Ticket, TicketKind, TicketMessage, TicketPriority, TicketStatus

_TICKET_EXAMPLE = {
    "id": 812,
    "kind": "buyer_message",
    "status": "open",
    "priority": "normal",
    "subject": "请问什么时候发货？",
    "store_id": 1,
    "team_id": None,
    "assignee_id": 3,
    "customer_id": 42,
    "order_id": 1207,
    "inquiry_id": None,
    "case_id": None,
    "review_id": None,
    "tags": ["催发货"],
    "snoozed_until": None,
    "due_at": "2026-11-11T06:00:00Z",
    "first_response_due_at": "2026-11-11T06:00:00Z",
    "next_response_due_at": "2026-11-11T06:00:00Z",
    "resolution_due_at": "2026-11-11T18:00:00Z",
    "first_response_at": None,
    "last_inbound_at": "2026-11-11T02:00:00Z",
    "last_outbound_at": None,
    "solved_at": None,
    "reopened_count": 0,
    "created_at": "2026-11-11T02:00:00Z",
    "updated_at": "2026-11-11T02:00:00Z",
}


class TicketRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_TICKET_EXAMPLE]})

    id: int
    kind: TicketKind
    status: TicketStatus
    priority: TicketPriority
    subject: str
    store_id: int | None
    team_id: int | None
    assignee_id: int | None
    customer_id: int | None
    order_id: int | None
    inquiry_id: int | None
    case_id: int | None
    review_id: int | None
    tags: list[str]
    snoozed_until: datetime | None
    due_at: datetime | None = Field(description="The earliest deadline still open (SLA or the task's own).")
    first_response_due_at: datetime | None
    next_response_due_at: datetime | None = Field(description="Set while a buyer message waits for a reply.")
    resolution_due_at: datetime | None
    first_response_at: datetime | None
    last_inbound_at: datetime | None
    last_outbound_at: datetime | None
    solved_at: datetime | None
    reopened_count: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, ticket: Ticket) -> TicketRead:
        return cls.model_validate(ticket)


class TicketMessageRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    ticket_id: int
    direction: str = Field(description="inbound (the buyer), outbound (to the buyer) or note (internal).")
    author_id: int | None
    automated: bool
    body: str
    channel: str = Field(description="Outbound: webhook or manual; inbound: the storefront's channel.")
    delivery_status: str = Field(description="queued / sent / failed for outbound messages; empty for notes.")
    template_id: int | None
    external_id: str | None
    created_at: datetime

    @classmethod
    def of(cls, message: TicketMessage) -> TicketMessageRead:
        return cls.model_validate(message)


class TicketDetail(TicketRead):
    """A ticket with its conversation and its customer (masked unless the key is admin)."""

    customer: CustomerRead | None
    messages: list[TicketMessageRead]


class TicketCreate(BaseModel):
    """Open a ticket for a customer. When the customer already has an active ticket of this kind,
    the body becomes a note on it instead (one active ticket per customer and topic)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "customer_id": 42,
                    "kind": "aftersales",
                    "subject": "收到的茶叶罐有凹痕",
                    "body": "买家在旺旺里发了照片，想换一罐。",
                    "priority": "high",
                    "order_id": 1207,
                }
            ]
        }
    )

    customer_id: int = Field(ge=1)
    kind: TicketKind = TicketKind.other
    subject: str = Field(min_length=1, max_length=255)
    body: str = Field(min_length=1, max_length=10_000, description="Recorded as an internal note.")
    priority: TicketPriority = TicketPriority.normal
    order_id: int | None = Field(default=None, ge=1)
    inquiry_id: int | None = Field(default=None, ge=1)
    case_id: int | None = Field(default=None, ge=1)
    team: str | None = Field(default=None, max_length=64, description="A team's name, e.g. 售后.")
    due_at: datetime | None = Field(default=None, description="The task's own deadline, if it has one.")


class TicketMessageCreate(BaseModel):
    """A reply to the buyer (sent through the outbound webhook, or recorded as sent by hand) or an
    internal note."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"type": "reply", "body": "亲，您的包裹今天下午发出～", "channel": "manual", "agent_id": 3},
                {"type": "note", "body": "买家要求周末送达，已备注快递。"},
            ]
        }
    )

    type: Literal["reply", "note"] = "reply"
    body: str = Field(max_length=10_000)
    channel: Literal["manual", "webhook"] = "manual"
    agent_id: int | None = Field(default=None, ge=1, description="The agent the message is written by.")
    automated: bool = Field(default=False, description="Sent by automation: not counted as a response.")
    then_status: Literal["open", "pending", "solved"] | None = None
