"""Outbound webhooks: subscriptions, the outbox (written with the change it reports), deliveries
signed with Standard Webhooks, retried with exponential backoff and jitter, every attempt kept."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import sqlalchemy as sa
from sqlmodel import Session, select
from standardwebhooks.webhooks import Webhook

from app.db import is_postgres
from app.errors import Conflict, InvalidInput, NotFound
from app.integrations import secrets as secret_store
from app.integrations.models import (
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    OutboxMessage,
    Subscription,
)
from app.pagination import Rows, paginate

EVENT_TYPES = (
    "ticket.created",
    "ticket.solved",
    "followup.sent",
    "case.changed",
    "review.requested",
    "message.outbound",
)
# Waits after failed attempts 1‥7 (about 5¾ hours in all); the 8th failure makes a delivery dead.
RETRY_DELAYS = tuple(timedelta(minutes=m) for m in (0.5, 2, 8, 20, 45, 90, 180))
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
LEASE = timedelta(minutes=2)
TIMEOUT = httpx.Timeout(5.0, connect=3.0)
USER_AGENT = "Huitou-Webhooks/1"


# --- subscriptions ---------------------------------------------------------------------------


def _clean_url(url: str) -> str:
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 512:
        raise InvalidInput("The URL must be an http(s) address.", fields={"url": "https://…"})
    return url


def _clean_types(event_types: Any) -> list[str]:
    if isinstance(event_types, str):
        event_types = [t for t in event_types.replace(",", " ").split() if t]
    chosen = [t for t in EVENT_TYPES if t in set(event_types or [])]
    unknown = sorted(set(event_types or []) - set(EVENT_TYPES))
    if unknown or not chosen:
        raise InvalidInput(
            "Choose event types from: {types}.",
            fields={"event_types": ", ".join(EVENT_TYPES)},
            types=", ".join(EVENT_TYPES),
        )
    return chosen


def create_subscription(
    session: Session,
    *,
    url: str,
    event_types: Any,
    now: datetime,
    description: str = "",
    secret: str | None = None,
) -> tuple[Subscription, str]:
    """A receiver and the events it wants; returns it with its whsec_ secret, shown once."""
    from app.integrations.service import validate_secret

    url, types = _clean_url(url), _clean_types(event_types)
    plain = validate_secret("standard", secret) if secret else secret_store.new_standard_secret()
    subscription = Subscription(
        url=url,
        description=(description or "").strip()[:255],
        secret_enc=secret_store.seal(plain),
        hint=secret_store.hint(plain),
        event_types=types,
        created_at=now,
        updated_at=now,
    )
    session.add(subscription)
    session.flush()
    return subscription, plain


def set_subscription_active(
    session: Session, subscription: Subscription, *, active: bool, now: datetime
) -> Subscription:
    subscription.is_active = active
    subscription.disabled_at = None if active else now
    subscription.updated_at = now
    session.add(subscription)
    session.flush()
    return subscription


def get_all_subscriptions(session: Session) -> list[Subscription]:
    return list(session.exec(select(Subscription).order_by(Subscription.id.desc())))


def list_subscriptions(session: Session, *, cursor: str | None, limit: int) -> Rows[Subscription]:
    return paginate(session, select(Subscription), Subscription.id, cursor=cursor, limit=limit)


def require_subscription(session: Session, subscription_id: int) -> Subscription:
    subscription = session.get(Subscription, subscription_id)
    if subscription is None:
        raise NotFound("Webhook subscription {id} does not exist.", id=subscription_id)
    return subscription


# --- the outbox ------------------------------------------------------------------------------


def enqueue(
    session: Session, event_type: str, payload: dict[str, Any], now: datetime
) -> OutboxMessage | None:
    """Announce an event to its subscribers. Call it inside the transaction of the change, so the
    announcement is committed with its cause or not at all. None when nobody subscribes."""
    if event_type not in EVENT_TYPES:
        raise KeyError(f"unknown outbound event {event_type!r}")
    subscriptions = [
        s
        for s in session.exec(select(Subscription).where(Subscription.is_active.is_(True)))
        if event_type in s.event_types
    ]
    if not subscriptions:
        return None
    message = OutboxMessage(
        event_type=event_type, payload=json.loads(json.dumps(payload, default=str)), created_at=now
    )
    session.add(message)
    session.flush()
    for subscription in subscriptions:
        session.add(
            Delivery(
                message_id=message.id,
                subscription_id=subscription.id,
                event_type=event_type,
                next_attempt_at=now,
                created_at=now,
                updated_at=now,
            )
        )
    session.flush()
    return message


def on_case_changed(
    session: Session, *, now: datetime, case: Any, from_state: Any = None, to_state: Any = None, **_: Any
) -> None:
    """app.events subscriber: an after-sales case moved."""
    enqueue(
        session,
        "case.changed",
        {
            "case_id": case.id,
            "order_id": case.order_id,
            "customer_id": case.customer_id,
            "store_id": case.store_id,
            "external_id": case.external_id,
            "kind": str(getattr(case.kind, "value", case.kind)),
            "from_state": str(getattr(from_state, "value", from_state)) if from_state else None,
            "to_state": str(getattr(to_state, "value", to_state or case.state)),
            "refunded_amount": str(case.refunded_amount),
            "currency": case.currency,
        },
        now,
    )


# --- delivering ------------------------------------------------------------------------------


@dataclass
class Prepared:
    delivery_id: int
    attempt: int
    url: str
    body: bytes
    headers: dict[str, str]


@dataclass
class Result:
    status_code: int | None
    error: str
    excerpt: str
    duration_ms: int


def claim(
    session: Session, *, now: datetime, limit: int = 50, ids: list[int] | None = None
) -> tuple[list[int], str]:
    token = secrets.token_hex(8)
    query = select(Delivery.id).where(
        Delivery.status == DeliveryStatus.pending,
        sa.or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
        sa.or_(Delivery.claimed_until.is_(None), Delivery.claimed_until < now),
    )
    if ids is not None:
        query = query.where(Delivery.id.in_(ids))
    query = query.order_by(Delivery.next_attempt_at, Delivery.id).limit(limit)
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    claimed = list(session.exec(query))
    if claimed:
        session.execute(
            sa.update(Delivery)
            .where(Delivery.id.in_(claimed))
            .values(claim_token=token, claimed_until=now + LEASE)
        )
        session.flush()
    return claimed, token


def prepare(session: Session, delivery_id: int, *, token: str, now: datetime) -> Prepared | None:
    delivery = session.get(Delivery, delivery_id, populate_existing=True)
    if delivery is None or delivery.claim_token != token or delivery.status != DeliveryStatus.pending:
        return None
    message = session.get(OutboxMessage, delivery.message_id)
    subscription = session.get(Subscription, delivery.subscription_id)
    envelope = {
        "type": message.event_type,
        "timestamp": message.created_at.isoformat(),
        "data": message.payload,
    }
    body = json.dumps(envelope, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    webhook_id = f"dlv_{delivery.id}"  # the same on every retry: receivers deduplicate on it
    signature = Webhook(secret_store.unseal(subscription.secret_enc)).sign(webhook_id, now, body)
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }
    return Prepared(delivery.id, delivery.attempts + 1, subscription.url, body.encode(), headers)


def post(prepared: Prepared, client: httpx.Client) -> Result:
    """The HTTP call, outside any database transaction."""
    started = time.perf_counter()
    try:
        response = client.post(prepared.url, content=prepared.body, headers=prepared.headers)
        code, error, excerpt = response.status_code, "", response.text[:500]
        if not 200 <= code < 300:
            error = f"HTTP {code}"
    except httpx.HTTPError as exc:
        code, error, excerpt = None, f"{type(exc).__name__}: {exc}"[:500], ""
    return Result(code, error, excerpt, int((time.perf_counter() - started) * 1000))


def record(
    session: Session, prepared: Prepared, result: Result, *, token: str, now: datetime
) -> Delivery | None:
    """Keep the attempt; mark delivered, schedule the next try with jitter, or give up (dead)."""
    delivery = session.get(Delivery, prepared.delivery_id, populate_existing=True)
    if delivery is None or delivery.claim_token != token:
        return None
    session.add(
        DeliveryAttempt(
            delivery_id=delivery.id,
            number=prepared.attempt,
            status_code=result.status_code,
            error=result.error,
            response_excerpt=result.excerpt,
            duration_ms=result.duration_ms,
            started_at=now,
        )
    )
    delivery.attempts = prepared.attempt
    delivery.last_status_code = result.status_code
    delivery.last_error = result.error
    delivery.claim_token, delivery.claimed_until, delivery.updated_at = None, None, now
    if not result.error:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = DeliveryStatus.delivered, now, None
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.status, delivery.next_attempt_at = DeliveryStatus.dead, None
    else:
        delay = RETRY_DELAYS[delivery.attempts - 1]
        delivery.next_attempt_at = now + delay * (0.9 + 0.2 * secrets.randbelow(1000) / 1000)
    session.add(delivery)
    session.flush()
    return delivery


def deliver_due(session: Session, *, now: datetime, client: httpx.Client, limit: int = 50) -> int:
    """Claim, send and record in one session (tests; the dispatch job splits the transactions)."""
    ids, token = claim(session, now=now, limit=limit)
    for delivery_id in ids:
        prepared = prepare(session, delivery_id, token=token, now=now)
        if prepared is not None:
            record(session, prepared, post(prepared, client), token=token, now=now)
    return len(ids)


def replay_delivery(session: Session, delivery: Delivery, *, now: datetime) -> Delivery:
    """Send a dead (or delivered) delivery again from now, with a fresh set of attempts."""
    if delivery.status == DeliveryStatus.pending:
        raise Conflict("Delivery {id} is still being retried.", id=delivery.id)
    delivery.status, delivery.attempts, delivery.next_attempt_at = DeliveryStatus.pending, 0, now
    delivery.claim_token = delivery.claimed_until = None
    delivery.updated_at = now
    session.add(delivery)
    session.flush()
    return delivery


def require_delivery(session: Session, delivery_id: int) -> Delivery:
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFound("Webhook delivery {id} does not exist.", id=delivery_id)
    return delivery


def list_deliveries(
    session: Session,
    *,
    cursor: str | None,
    limit: int,
    subscription_id: int | None = None,
    status: DeliveryStatus | None = None,
    event_type: str | None = None,
) -> Rows[Delivery]:
    query = select(Delivery)
    if subscription_id is not None:
        query = query.where(Delivery.subscription_id == subscription_id)
    if status is not None:
        query = query.where(Delivery.status == status)
    if event_type:
        query = query.where(Delivery.event_type == event_type)
    return paginate(session, query, Delivery.id, cursor=cursor, limit=limit)


def attempts_for(session: Session, delivery_ids: list[int]) -> dict[int, list[DeliveryAttempt]]:
    found: dict[int, list[DeliveryAttempt]] = {i: [] for i in delivery_ids}
    if delivery_ids:
        query = select(DeliveryAttempt).where(DeliveryAttempt.delivery_id.in_(delivery_ids))
        for attempt in session.exec(query.order_by(DeliveryAttempt.id)):
            found[attempt.delivery_id].append(attempt)
    return found
