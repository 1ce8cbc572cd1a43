"""JSON shapes of the reviews API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.reviews.models import Grade


class ReviewCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "store": "cha-shop",
                    "customer_id": 310,
                    "order_id": 1042,
                    "external_id": "rv-99120031",
                    "rating": 5,
                    "text": "茶香很正，包装也用心，回购了！",
                    "posted_at": "2026-11-20T08:30:00Z",
                },
                {
                    "store": "cha-shop",
                    "customer_id": 311,
                    "rating": 1,
                    "grade": "bad",
                    "text": "收到时罐子凹了",
                },
            ]
        }
    )

    store: str = Field(description="The store's slug.")
    customer_id: int
    order_id: int | None = None
    product_id: int | None = None
    external_id: str | None = Field(default=None, max_length=64, description="The storefront's review id.")
    rating: int = Field(ge=1, le=5)
    grade: Grade | None = Field(
        default=None, description="Defaults from the rating: 4–5 good, 3 neutral, 1–2 bad."
    )
    text: str = Field(default="", max_length=5000)
    posted_at: datetime | None = None
    followup_text: str | None = Field(default=None, max_length=5000, description="追评, when already posted.")
    followup_at: datetime | None = None


class FollowupIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"text": "喝了一个月再来追评：回甘很好。", "at": "2026-12-20T08:00:00Z"}]
        }
    )

    text: str = Field(min_length=1, max_length=5000)
    at: datetime | None = Field(default=None, description="When the buyer posted it (defaults to now).")


class ReviewRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 5,
                    "store_id": 1,
                    "order_id": 1042,
                    "customer_id": 310,
                    "product_id": None,
                    "external_id": "rv-99120031",
                    "rating": 5,
                    "grade": "good",
                    "text": "茶香很正，包装也用心，回购了！",
                    "followup_text": "",
                    "followup_at": None,
                    "posted_at": "2026-11-20T08:30:00Z",
                    "needs_bad_review_ticket": False,
                    "updated_at": "2026-11-20T08:30:01Z",
                }
            ]
        },
    )

    id: int
    store_id: int
    order_id: int | None
    customer_id: int
    product_id: int | None
    external_id: str | None
    rating: int
    grade: Grade
    text: str
    followup_text: str
    followup_at: datetime | None
    posted_at: datetime
    needs_bad_review_ticket: bool = Field(description="A rating of 2 or less, or graded bad (差评处理).")
    updated_at: datetime


class ReviewPage(BaseModel):
    items: list[ReviewRead]
    next_cursor: str | None = None
