"""JSON shapes of the phrasing API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Scope = Literal["global", "team"]
EXAMPLE_VARIANTS = {
    "zh_CN": "亲，您的订单 {{ order_number }} 已经发出啦～{{ carrier }}，运单号 {{ tracking_number }}。",
    "en": "Order {{ order_number }} is on its way with {{ carrier }}, tracking number {{ tracking_number }}.",
}


class TemplateRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 12,
                    "title": "发货通知：运单号",
                    "category": "shipping_notice",
                    "scope": "global",
                    "team_id": None,
                    "shortcut": "/fh",
                    "is_active": True,
                    "is_starter": True,
                    "variants": EXAMPLE_VARIANTS,
                    "created_at": "2026-03-01T08:00:00Z",
                    "updated_at": "2026-03-01T08:00:00Z",
                }
            ]
        }
    )

    id: int
    title: str
    category: str = Field(description="A phrasing category key, e.g. payment_reminder or review_request.")
    scope: str = Field(description="global (the whole shop) or team.")
    team_id: int | None
    shortcut: str = Field(description='What agents type to find it, e.g. "/fh"; may be empty.')
    is_active: bool
    is_starter: bool = Field(description="Part of the starter library Huitou ships with.")
    variants: dict[str, str] = Field(
        description="The text per locale (zh_CN, zh_TW, en): Jinja2 with variables."
    )
    created_at: datetime
    updated_at: datetime


class TemplateCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "title": "发货通知：运单号",
                    "category": "shipping_notice",
                    "scope": "global",
                    "shortcut": "/fh",
                    "variants": EXAMPLE_VARIANTS,
                }
            ]
        },
    )

    title: str = Field(max_length=200)
    category: str = Field(max_length=40)
    scope: Scope = "global"
    team_id: int | None = Field(default=None, description="Required for a team template.")
    shortcut: str = Field(default="", max_length=40)
    is_active: bool = True
    variants: dict[str, str] = Field(description="At least one of zh_CN, zh_TW, en.")


class TemplateUpdate(BaseModel):
    """Only the fields sent are changed; `variants` replaces all texts."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"is_active": False}]})

    title: str | None = Field(default=None, max_length=200)
    category: str | None = Field(default=None, max_length=40)
    scope: Scope | None = None
    team_id: int | None = None
    shortcut: str | None = Field(default=None, max_length=40)
    is_active: bool | None = None
    variants: dict[str, str] | None = None


class TemplateUsageRead(BaseModel):
    template_id: int
    title: str
    category: str
    is_active: bool
    uses: int
    sent: int
    copied: int
    by_agent: dict[int, int] = Field(description="Agent id → uses.")
    outcomes: dict[str, int] = Field(
        description="Outcome (reviewed, paid, won, replied) → uses followed by it."
    )
    measured_by: str | None = Field(description="The outcome this template's category is for.")
    rate: float | None = Field(description="Share of uses followed by that outcome; null without uses.")
