"""Stores: create, find, settings."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session, select

from app.errors import Conflict, InvalidInput, NotFound
from app.integrations.models import Platform, Store
from app.money import parse_currency

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9\-]{1,62}$")


def get_store(session: Session, store_id: int) -> Store | None:
    return session.get(Store, store_id)


def get_store_by_slug(session: Session, slug: str) -> Store | None:
    return session.exec(select(Store).where(Store.slug == slug)).first()


def require_store(session: Session, slug: str) -> Store:
    store = get_store_by_slug(session, slug)
    if store is None:
        raise NotFound("Store {slug} does not exist.", slug=slug)
    return store


def get_all_stores(session: Session) -> list[Store]:
    return list(session.exec(select(Store).order_by(Store.id)))


def create_store(
    session: Session,
    *,
    slug: str,
    platform: Platform | str,
    name: str | None = None,
    timezone: str = "Asia/Shanghai",
    currency: str = "CNY",
    now: datetime,
) -> Store:
    if not SLUG_RE.match(slug):
        raise InvalidInput(
            "A store slug is 2 to 63 lower-case letters, digits or dashes.", fields={"slug": "a-z 0-9 -"}
        )
    try:
        platform = Platform(platform)
    except ValueError as exc:
        raise InvalidInput(
            "Platform must be shopify, woocommerce or standard.", fields={"platform": "unknown platform"}
        ) from exc
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(
            "{tz} is not a time zone.", fields={"timezone": "IANA time zone"}, tz=timezone
        ) from exc
    if get_store_by_slug(session, slug):
        raise Conflict("A store with slug {slug} already exists.", slug=slug)
    store = Store(
        slug=slug,
        platform=platform,
        name=(name or slug).strip()[:128],
        timezone=timezone,
        currency=parse_currency(currency),
        created_at=now,
        updated_at=now,
    )
    session.add(store)
    session.flush()
    return store
