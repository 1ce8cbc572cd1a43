"""Buyer reviews: posting (deduplicated by the storefront's id), 追评, read models.

A new review moves its order to `reviewed` and emits "review.posted"; a bad one must become a
high-priority 差评处理 ticket — the tickets domain subscribes to that event and asks
`needs_bad_review_ticket`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from app.audit.service import STOREFRONT
from app.catalog.models import Product
from app.customers.models import Customer
from app.errors import Conflict, InvalidInput, NotFound
from app.events import emit
from app.i18n import N_
from app.integrations.models import Store
from app.orders import service as orders
from app.orders.lifecycle import TERMINAL, Stage
from app.orders.models import Order
from app.pagination import Rows, paginate
from app.reviews.models import Grade, Review

MAX_TEXT = 5000
BAD_RATING = 2
GRADE_LABELS: dict[Grade, str] = {Grade.good: N_("Good"), Grade.neutral: N_("Neutral"), Grade.bad: N_("Bad")}


def default_grade(rating: int) -> Grade:
    """The platform's grade when the storefront sends none: 4–5 good, 3 neutral, 1–2 bad."""
    return Grade.good if rating >= 4 else Grade.neutral if rating == 3 else Grade.bad


def needs_bad_review_ticket(review: Review) -> bool:
    """The 差评处理 rule: a rating of 2 or less, or the platform's "bad" grade."""
    return review.rating <= BAD_RATING or Grade(review.grade) == Grade.bad


# --- reading ---------------------------------------------------------------------------------


def get_review(session: Session, review_id: int) -> Review | None:
    return session.get(Review, review_id)


def require_review(session: Session, review_id: int) -> Review:
    review = get_review(session, review_id)
    if review is None:
        raise NotFound("Review {id} does not exist.", id=review_id)
    return review


@dataclass
class ReviewView:
    """A review as pages show it: the row (attributes pass through) plus its order's number."""

    row: Review
    order_number: str = ""

    def __getattr__(self, name: str) -> Any:
        return getattr(self.row, name)

    @property
    def grade_label(self) -> str:
        return GRADE_LABELS[Grade(self.row.grade)]

    @property
    def stars(self) -> str:
        return "★" * self.row.rating + "☆" * (5 - self.row.rating)

    @property
    def is_bad(self) -> bool:
        return needs_bad_review_ticket(self.row)


def review_views(session: Session, reviews: list[Review]) -> list[ReviewView]:
    order_ids = {r.order_id for r in reviews if r.order_id is not None}
    numbers: dict[int, str] = {}
    if order_ids:
        query = select(Order.id, Order.number).where(Order.id.in_(order_ids))
        numbers = {order_id: number for order_id, number in session.exec(query)}
    return [ReviewView(row=r, order_number=numbers.get(r.order_id, "")) for r in reviews]


def reviews_for_customer(session: Session, customer_id: int, *, limit: int | None = None) -> list[ReviewView]:
    """The customer's reviews, newest first (the latest `limit` of them if given)."""
    query = select(Review).where(Review.customer_id == customer_id)
    query = query.order_by(Review.posted_at.desc(), Review.id.desc()).limit(limit)
    return review_views(session, list(session.exec(query)))


def _grade(value: Any) -> Grade:
    try:
        return Grade(value)
    except ValueError as exc:
        raise InvalidInput(
            "{grade} is not a review grade.", fields={"grade": "good | neutral | bad"}, grade=value
        ) from exc


def _filtered(
    query: Any,
    *,
    store_id: int | None,
    grade: Grade | str | None,
    rating_max: int | None,
    customer_id: int | None,
    order_id: int | None,
    posted_since: datetime | None,
) -> Any:
    if store_id is not None:
        query = query.where(Review.store_id == store_id)
    if grade:
        query = query.where(Review.grade == _grade(grade))
    if rating_max is not None:
        query = query.where(Review.rating <= rating_max)
    if customer_id is not None:
        query = query.where(Review.customer_id == customer_id)
    if order_id is not None:
        query = query.where(Review.order_id == order_id)
    if posted_since is not None:
        if posted_since.tzinfo is None:
            raise InvalidInput(
                "posted_since needs a time zone, e.g. 2026-11-11T00:00:00Z.", fields={"posted_since": "aware"}
            )
        query = query.where(Review.posted_at >= posted_since)
    return query


def list_reviews(
    session: Session,
    *,
    cursor: str | None = None,
    limit: int = 50,
    store_id: int | None = None,
    grade: Grade | str | None = None,
    rating_max: int | None = None,
    customer_id: int | None = None,
    order_id: int | None = None,
    posted_since: datetime | None = None,
) -> Rows[Review]:
    """Filtered reviews, newest first by id (the API's list and the page)."""
    query = _filtered(
        select(Review),
        store_id=store_id,
        grade=grade,
        rating_max=rating_max,
        customer_id=customer_id,
        order_id=order_id,
        posted_since=posted_since,
    )
    return paginate(session, query, Review.id, cursor=cursor, limit=limit)


def worst_first(
    session: Session, *, grade: Grade | str | None = None, store_id: int | None = None, limit: int = 100
) -> list[Review]:
    """The page's "bad ones first" view: lowest rating first, newest first within a rating."""
    query = _filtered(
        select(Review),
        store_id=store_id,
        grade=grade,
        rating_max=None,
        customer_id=None,
        order_id=None,
        posted_since=None,
    )
    bad_first = sa.case((Review.grade == Grade.bad, 0), (Review.grade == Grade.neutral, 1), else_=2)
    return list(session.exec(query.order_by(bad_first, Review.rating, Review.id.desc()).limit(limit)))


# --- writing ---------------------------------------------------------------------------------


def _clean_text(value: Any, name: str) -> str:
    text = str(value or "").strip()
    if len(text) > MAX_TEXT:
        raise InvalidInput(
            "{field} is longer than {max} characters.",
            fields={name: f"at most {MAX_TEXT}"},
            field=name,
            max=MAX_TEXT,
        )
    return text


def _aware(value: datetime | None, name: str, default: datetime) -> datetime:
    if value is None:
        return default
    if value.tzinfo is None:
        raise InvalidInput("{field} needs a time zone.", fields={name: "aware datetime"}, field=name)
    return value


def post_review(
    session: Session,
    *,
    store: Store,
    customer: Customer,
    rating: int,
    now: datetime,
    order: Order | None = None,
    product_id: int | None = None,
    external_id: str | None = None,
    grade: Grade | str | None = None,
    text: str = "",
    posted_at: datetime | None = None,
    followup_text: str | None = None,
    followup_at: datetime | None = None,
) -> Review:
    """Record a buyer's review; the same storefront review again updates it instead.

    Everything is validated before anything is written. A new review moves its order to
    `reviewed` (as the storefront: a late event is fine) and emits "review.posted".
    """
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise InvalidInput("The rating must be a whole number from 1 to 5.", fields={"rating": "1–5"})
    grade = default_grade(rating) if grade in (None, "") else _grade(grade)
    text = _clean_text(text, "text")
    followup = _clean_text(followup_text, "followup_text") if followup_text is not None else ""
    posted_at = _aware(posted_at, "posted_at", now)
    if customer.store_id != store.id:
        raise InvalidInput("The customer belongs to another store.", fields={"customer_id": "other store"})
    if order is not None and (order.customer_id != customer.id or order.store_id != store.id):
        raise InvalidInput(
            "Order {number} is not this customer's order.",
            fields={"order_id": "other customer"},
            number=order.number,
        )
    if product_id is not None:
        product = session.get(Product, product_id)
        if product is None or product.store_id != store.id:
            raise InvalidInput(
                "Product {id} is not in this store's catalog.",
                fields={"product_id": "unknown product"},
                id=product_id,
            )
    external_id = (external_id or "").strip()[:64] or None
    existing = None
    if external_id is not None:
        query = select(Review).where(Review.store_id == store.id, Review.external_id == external_id)
        existing = session.exec(query).first()
    if existing is not None:
        existing.rating, existing.grade, existing.text = rating, grade, text or existing.text
        if followup:
            existing.followup_text = followup
            existing.followup_at = _aware(followup_at, "followup_at", now)
        existing.updated_at = now
        session.add(existing)
        session.flush()
        return existing
    review = Review(
        store_id=store.id,
        order_id=order.id if order is not None else None,
        customer_id=customer.id,
        product_id=product_id,
        external_id=external_id,
        rating=rating,
        grade=grade,
        text=text,
        followup_text=followup,
        followup_at=_aware(followup_at, "followup_at", now) if followup else None,
        posted_at=posted_at,
        created_at=now,
        updated_at=now,
    )
    session.add(review)
    session.flush()
    if order is not None and Stage(order.stage) not in TERMINAL:
        orders.advance(
            session, order, to=Stage.reviewed, actor=STOREFRONT, reason="review posted", at=posted_at, now=now
        )
    emit(session, "review.posted", now=now, review=review)
    return review


def add_followup(
    session: Session, review: Review, *, text: str, at: datetime | None = None, now: datetime
) -> Review:
    """The buyer's follow-up review (追评): once."""
    text = _clean_text(text, "text")
    if not text:
        raise InvalidInput("A follow-up review needs its text.", fields={"text": "required"})
    at = _aware(at, "at", now)
    if review.followup_text:
        raise Conflict("This review already has a follow-up review (追评).")
    if at < review.posted_at:
        raise InvalidInput("A follow-up review comes after the review.", fields={"at": "after posted_at"})
    review.followup_text = text
    review.followup_at = at
    review.updated_at = now
    session.add(review)
    session.flush()
    return review


@dataclass
class ReviewList:
    reviews: list[ReviewView]
    next_cursor: str | None
    stores: list[Store]


def review_list(
    session: Session,
    *,
    grade: Grade | str | None = None,
    store_slug: str | None = None,
    bad_first: bool = False,
    cursor: str | None = None,
    limit: int = 50,
) -> ReviewList:
    """The /reviews page: newest first (paged), or bad ones first (the worst `limit`)."""
    from app.integrations import service as stores

    store_id = stores.require_store(session, store_slug).id if store_slug else None
    if bad_first:
        rows: list[Review] = worst_first(session, grade=grade, store_id=store_id, limit=limit)
        next_cursor = None
    else:
        page = list_reviews(session, cursor=cursor, limit=limit, grade=grade, store_id=store_id)
        rows, next_cursor = page.items, page.next_cursor
    return ReviewList(review_views(session, rows), next_cursor, stores.get_all_stores(session))
