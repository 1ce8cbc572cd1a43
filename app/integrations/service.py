"""Stores: create, find, settings, signing secrets and their rotation."""

from __future__ import annotations

import base64
import logging
import re
import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlmodel import Session, select
from standardwebhooks.webhooks import Webhook

from app.errors import Conflict, InvalidInput, NotFound
from app.integrations import secrets as secret_store
from app.integrations.models import Platform, Store, StoreSecret
from app.money import parse_currency, parse_money
from app.pagination import Rows, paginate

log = logging.getLogger("huitou.integrations")

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


# --- settings --------------------------------------------------------------------------------

# Lifecycle settings an admin may change, with their allowed ranges.
SETTING_RANGES: dict[str, tuple[int, int]] = {
    "auto_confirm_days": (1, 60),
    "review_window_days": (1, 180),
    "aftersales_respond_hours": (1, 720),
    "aftersales_refund_hours": (1, 720),
    "inquiry_win_days": (1, 60),
    "shipping_exception_days": (1, 60),
}
EDITABLE_SETTINGS = ("name", "timezone", "currency", "agent_refund_limit", *SETTING_RANGES)


def update_store(session: Session, store: Store, *, now: datetime, **changes: Any) -> Store:
    """Change a store's name, zone, currency or lifecycle settings; every bad field named at once."""
    unknown = sorted(set(changes) - set(EDITABLE_SETTINGS))
    if unknown:
        raise InvalidInput(
            "These fields cannot be changed: {names}.",
            fields={name: "not editable" for name in unknown},
            names=", ".join(unknown),
        )
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    for field, value in changes.items():
        if value is None:
            continue
        if field == "name":
            text = str(value).strip()
            if not text or len(text) > 128:
                errors[field] = "1–128 characters"
            clean[field] = text
        elif field == "timezone":
            try:
                ZoneInfo(str(value))
                clean[field] = str(value)
            except (ZoneInfoNotFoundError, ValueError):
                errors[field] = "IANA time zone"
        elif field == "currency":
            try:
                clean[field] = parse_currency(value)
            except InvalidInput:
                errors[field] = "ISO 4217 code"
        elif field == "agent_refund_limit":
            try:
                clean[field] = parse_money(value, field=field)
            except InvalidInput:
                errors[field] = "decimal string ≥ 0"
        else:
            low, high = SETTING_RANGES[field]
            try:
                number = int(str(value).strip()) if not isinstance(value, int) else value
            except ValueError:
                number = None
            if number is None or isinstance(value, bool) or not low <= number <= high:
                errors[field] = f"a whole number {low}–{high}"
            clean[field] = number
    if errors:
        raise InvalidInput(
            "Please correct the store settings: {names}.", fields=errors, names=", ".join(sorted(errors))
        )
    for field, value in clean.items():
        setattr(store, field, value)
    store.updated_at = now
    session.add(store)
    session.flush()
    return store


# --- signing secrets -------------------------------------------------------------------------

MAX_ACTIVE_SECRETS = 2


def validate_secret(platform: Platform | str, secret: str, *, field: str = "secret") -> str:
    """A platform's signing secret: Standard Webhooks wants whsec_<base64>; the others any token."""
    secret = (secret or "").strip()
    if Platform(platform) == Platform.standard:
        try:
            Webhook(secret)
            ok = secret.startswith("whsec_") and len(base64.b64decode(secret[6:] + "==")) >= 16
        except Exception:  # noqa: BLE001 - any decoding problem means not a whsec_ secret
            ok = False
        if not ok:
            raise InvalidInput(
                "A Standard Webhooks secret is whsec_ followed by at least 16 bytes in base64.",
                fields={field: "whsec_…"},
            )
        return secret
    if not 8 <= len(secret) <= 256 or any(c.isspace() for c in secret):
        raise InvalidInput(
            "A signing secret is 8 to 256 characters without spaces.", fields={field: "8–256 characters"}
        )
    return secret


def new_secret_for(platform: Platform | str) -> str:
    if Platform(platform) == Platform.standard:
        return secret_store.new_standard_secret()
    return secret_store.new_hmac_secret()


def active_secrets(session: Session, store: Store) -> list[StoreSecret]:
    query = select(StoreSecret).where(StoreSecret.store_id == store.id, StoreSecret.retired_at.is_(None))
    return list(session.exec(query.order_by(StoreSecret.id.desc())))


def active_secret_values(session: Session, store_id: int) -> list[str]:
    """The clear secrets a delivery may be signed with, newest first (unreadable ones skipped)."""
    query = select(StoreSecret.secret_enc).where(
        StoreSecret.store_id == store_id, StoreSecret.retired_at.is_(None)
    )
    values = []
    for sealed in session.exec(query.order_by(StoreSecret.id.desc())):
        try:
            values.append(secret_store.unseal(sealed))
        except secret_store.SecretUnreadable:
            log.error("a store secret cannot be read with this HUITOU_SECRET_KEY", extra={"store": store_id})
    return values


# Webhook verification data per slug, kept a moment in this process (one query less per
# delivery). Changing secrets here clears it; another process sees a change within WEBHOOK_CACHE_SECONDS.
WEBHOOK_CACHE_SECONDS = 2.0
_webhook_cache: dict[str, tuple[float, tuple[int, Platform, list[str]]]] = {}


def forget_webhook_cache() -> None:
    _webhook_cache.clear()


def cached_store_for_webhook(session: Session, slug: str) -> tuple[int, Platform, list[str]] | None:
    hit = _webhook_cache.get(slug)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    found = store_for_webhook(session, slug)
    if found is not None:
        if len(_webhook_cache) > 1000:
            _webhook_cache.clear()
        _webhook_cache[slug] = (time.monotonic() + WEBHOOK_CACHE_SECONDS, found)
    return found


def store_for_webhook(session: Session, slug: str) -> tuple[int, Platform, list[str]] | None:
    """(store id, platform, active clear secrets) in one query: the webhook hot path."""
    query = (
        sa.select(Store.id, Store.platform, StoreSecret.secret_enc)
        .select_from(Store)
        .outerjoin(StoreSecret, sa.and_(StoreSecret.store_id == Store.id, StoreSecret.retired_at.is_(None)))
        .where(Store.slug == slug)
        .order_by(StoreSecret.id.desc())
    )
    rows = session.execute(query).all()
    if not rows:
        return None
    values = []
    for _, _, sealed in rows:
        if sealed is None:
            continue
        try:
            values.append(secret_store.unseal(sealed))
        except secret_store.SecretUnreadable:
            log.error(
                "a store secret cannot be read with this HUITOU_SECRET_KEY", extra={"store": rows[0][0]}
            )
    return rows[0][0], Platform(rows[0][1]), values


def rotate_secret(session: Session, store: Store, *, now: datetime, secret: str | None = None) -> str:
    """Add a new active secret (given, or generated) and return it: shown once, never again.

    The previous secret stays valid until retired, so the storefront can be switched over
    without losing deliveries. Older ones beyond that are retired now.
    """
    plain = validate_secret(store.platform, secret) if secret else new_secret_for(store.platform)
    forget_webhook_cache()
    for old in active_secrets(session, store)[MAX_ACTIVE_SECRETS - 1 :]:
        old.retired_at = now
        session.add(old)
    session.add(
        StoreSecret(
            store_id=store.id,
            secret_enc=secret_store.seal(plain),
            hint=secret_store.hint(plain),
            created_at=now,
        )
    )
    store.updated_at = now
    session.add(store)
    session.flush()
    return plain


def retire_old_secrets(session: Session, store: Store, *, now: datetime) -> int:
    """End a rotation: only the newest secret stays valid. Returns how many were retired."""
    forget_webhook_cache()
    old = active_secrets(session, store)[1:]
    for row in old:
        row.retired_at = now
        session.add(row)
    session.flush()
    return len(old)


def create_store_with_secret(
    session: Session, *, secret: str | None = None, now: datetime, **values: Any
) -> tuple[Store, str]:
    """A store and its first signing secret (given or generated), returned once in clear."""
    platform = str(values.get("platform") or "")
    if secret and platform in set(Platform):
        validate_secret(platform, secret)  # before anything is written
    store = create_store(session, now=now, **values)
    return store, rotate_secret(session, store, now=now, secret=secret)


def list_stores(session: Session, *, cursor: str | None, limit: int) -> Rows[Store]:
    return paginate(session, select(Store), Store.id, cursor=cursor, limit=limit)


def secret_hints(session: Session, store_ids: list[int]) -> dict[int, list[str]]:
    hints: dict[int, list[str]] = {i: [] for i in store_ids}
    if store_ids:
        query = select(StoreSecret).where(
            StoreSecret.store_id.in_(store_ids), StoreSecret.retired_at.is_(None)
        )
        for row in session.exec(query.order_by(StoreSecret.id.desc())):
            hints[row.store_id].append(row.hint)
    return hints


def store_settings(session: Session, store: Store) -> dict[str, Any]:
    """The admin's view of a store: its fields and the hints of its active secrets."""
    return store.model_dump() | {"active_secret_hints": secret_hints(session, [store.id])[store.id]}


def rotate_store_secret(
    session: Session, store: Store, *, now: datetime, secret: str | None = None, retire_old: bool = False
) -> str:
    """rotate_secret, optionally ending the rotation at once (only the new secret stays valid)."""
    plain = rotate_secret(session, store, now=now, secret=secret)
    if retire_old:
        retire_old_secrets(session, store, now=now)
    return plain
