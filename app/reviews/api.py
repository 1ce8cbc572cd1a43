"""JSON API of the reviews domain (/api/v1/reviews)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from app.accounts.deps import ReadKey, WriteKey
from app.customers.models import Customer
from app.db import SessionDep, utc_now
from app.errors import InvalidInput
from app.integrations import service as stores
from app.orders import service as orders
from app.pagination import DEFAULT_LIMIT
from app.reviews import service
from app.reviews.models import Grade, Review
from app.reviews.schemas import FollowupIn, ReviewCreate, ReviewPage, ReviewRead

router = APIRouter(prefix="/api/v1", tags=["reviews"])


def _read(review: Review) -> ReviewRead:
    return ReviewRead.model_validate(
        {**review.model_dump(), "needs_bad_review_ticket": service.needs_bad_review_ticket(review)}
    )


@router.get("/reviews", response_model=ReviewPage, summary="List reviews (newest first)")
def list_reviews(
    session: SessionDep,
    key: ReadKey,
    store: Annotated[str | None, Query(description="Store slug")] = None,
    grade: Grade | None = None,
    rating_max: Annotated[int | None, Query(ge=1, le=5, description="Only ratings up to this")] = None,
    customer_id: int | None = None,
    order_id: int | None = None,
    posted_since: datetime | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = DEFAULT_LIMIT,
) -> ReviewPage:
    store_id = stores.require_store(session, store).id if store else None
    rows = service.list_reviews(
        session,
        cursor=cursor,
        limit=limit,
        store_id=store_id,
        grade=grade,
        rating_max=rating_max,
        customer_id=customer_id,
        order_id=order_id,
        posted_since=posted_since,
    )
    return ReviewPage(items=[_read(r) for r in rows.items], next_cursor=rows.next_cursor)


@router.get("/reviews/{review_id}", response_model=ReviewRead)
def get_review(review_id: int, session: SessionDep, key: ReadKey) -> ReviewRead:
    return _read(service.require_review(session, review_id))


@router.post(
    "/reviews",
    response_model=ReviewRead,
    status_code=201,
    summary="Post a buyer's review (the same external_id again updates it)",
)
def post_review(body: ReviewCreate, session: SessionDep, key: WriteKey) -> ReviewRead:
    store = stores.require_store(session, body.store)
    customer = session.get(Customer, body.customer_id)
    if customer is None:
        raise InvalidInput(
            "Customer {id} does not exist.", fields={"customer_id": "unknown customer"}, id=body.customer_id
        )
    order = None
    if body.order_id is not None:
        order = orders.get_order(session, body.order_id)
        if order is None:
            raise InvalidInput(
                "Order {id} does not exist.", fields={"order_id": "unknown order"}, id=body.order_id
            )
    review = service.post_review(
        session,
        store=store,
        customer=customer,
        order=order,
        product_id=body.product_id,
        external_id=body.external_id,
        rating=body.rating,
        grade=body.grade,
        text=body.text,
        posted_at=body.posted_at,
        followup_text=body.followup_text,
        followup_at=body.followup_at,
        now=utc_now(),
    )
    return _read(review)


@router.post(
    "/reviews/{review_id}/followup", response_model=ReviewRead, summary="Add the follow-up review (追评)"
)
def add_followup(review_id: int, body: FollowupIn, session: SessionDep, key: WriteKey) -> ReviewRead:
    review = service.require_review(session, review_id)
    service.add_followup(session, review, text=body.text, at=body.at, now=utc_now())
    return _read(review)
