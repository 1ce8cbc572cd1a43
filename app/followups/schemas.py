"""Request and response models of the follow-ups API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.followups.models import Action, FollowupKind, FollowupStatus, Outcome, Trigger


class FollowupRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 42,
                    "kind": "payment_reminder",
                    "trigger": "order_created",
                    "rule_id": 1,
                    "plan_id": None,
                    "customer_id": 7,
                    "order_id": 1001,
                    "inquiry_id": None,
                    "case_id": None,
                    "review_id": None,
                    "category": "payment_reminder",
                    "action": "task",
                    "priority": "normal",
                    "due_at": "2026-11-11T02:30:00Z",
                    "status": "skipped",
                    "outcome": "skipped",
                    "reason": "already paid",
                    "ticket_id": None,
                    "handled_at": "2026-11-11T02:30:05Z",
                    "created_at": "2026-11-11T02:00:00Z",
                }
            ]
        },
    )

    id: int
    kind: FollowupKind
    trigger: Trigger
    rule_id: int | None = None
    plan_id: int | None = None
    customer_id: int
    order_id: int | None = None
    inquiry_id: int | None = None
    case_id: int | None = None
    review_id: int | None = None
    category: str = Field(description="Phrasing category key (app.phrasing.categories).")
    action: Action = Field(description="task: a ticket in an agent queue; auto: an automatic message.")
    priority: str
    due_at: datetime
    status: FollowupStatus
    outcome: Outcome | None = Field(None, description="Once handled: sent, queued, task_created or skipped.")
    reason: str = Field("", description="Why it was skipped, e.g. 'already paid', 'opted out'.")
    ticket_id: int | None = None
    handled_at: datetime | None = None
    created_at: datetime
