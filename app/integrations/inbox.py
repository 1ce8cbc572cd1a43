"""The webhook inbox: verify a delivery, store it raw under its deduplication key, answer fast;
then claim and process stored deliveries, one transaction each, recording failures for replay."""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from app.db import is_postgres
from app.errors import (
    DomainError,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from app.integrations import mapping_shopify, mapping_standard, mapping_woocommerce, service
from app.integrations.models import InboxMessage, InboxStatus, Platform, Store
from app.integrations.verify import verify_hmac_base64, verify_standard
from app.pagination import Rows, paginate

log = logging.getLogger("huitou.integrations.inbox")

MAX_BODY_BYTES = 1024 * 1024
MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=5)
MAPPINGS = {
    Platform.shopify: mapping_shopify,
    Platform.woocommerce: mapping_woocommerce,
    Platform.standard: mapping_standard,
}
# The headers worth keeping with the body: enough to re-verify, deduplicate and debug.
KEPT_HEADERS = {
    Platform.shopify: (
        "content-type",
        "x-shopify-topic",
        "x-shopify-hmac-sha256",
        "x-shopify-webhook-id",
        "x-shopify-event-id",
        "x-shopify-shop-domain",
        "x-shopify-triggered-at",
        "x-shopify-api-version",
    ),
    Platform.woocommerce: (
        "content-type",
        "x-wc-webhook-topic",
        "x-wc-webhook-signature",
        "x-wc-webhook-delivery-id",
        "x-wc-webhook-id",
        "x-wc-webhook-source",
        "x-wc-webhook-resource",
        "x-wc-webhook-event",
    ),
    Platform.standard: ("content-type", "webhook-id", "webhook-timestamp", "webhook-signature"),
}
DEDUPE_HEADER = {
    Platform.shopify: "x-shopify-webhook-id",
    Platform.woocommerce: "x-wc-webhook-delivery-id",
    Platform.standard: "webhook-id",
}


@dataclass
class Receipt:
    """What the webhook endpoint answers, and the stored delivery to process after answering."""

    status_code: int
    body: dict[str, Any] = field(default_factory=dict)
    message_id: int | None = None
    process: bool = False


# Numbers a storefront can honestly send: 64-bit ids, money with a sane exponent. Anything beyond
# is refused when the delivery arrives instead of failing later in a column or a calculation.
MAX_INT = 2**63 - 1
MAX_DECIMAL_EXPONENT = 30


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > 19 or abs(int(text)) > MAX_INT:
        raise ValueError(f"the number {text[:24]}… is larger than a 64-bit integer")
    return int(text)


def _parse_decimal(text: str) -> Decimal:
    value = Decimal(text)
    if not value.is_finite() or abs(value.adjusted()) > MAX_DECIMAL_EXPONENT:
        raise ValueError(f"the number {text[:24]} is out of range")
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_json(body: bytes) -> Any:
    # Exact numbers: integers stay integers (64-bit ids), decimals stay Decimal (money).
    try:
        return json.loads(
            body, parse_float=_parse_decimal, parse_int=_parse_int, parse_constant=_refuse_constant
        )
    except RecursionError as exc:  # thousands of nested arrays: refused, not a crash
        raise ValueError("the JSON is nested too deeply") from exc


JSON_TYPES = ("application/json",)


def _is_json(headers: Mapping[str, str]) -> bool:
    media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return media_type in JSON_TYPES or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def _is_woocommerce_ping(headers: Mapping[str, str], body: bytes) -> bool:
    if headers.get("x-wc-webhook-signature") or len(body) > 200:
        return False
    if not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return False
    try:
        form = parse_qs(body.decode("ascii"), strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        return False
    return set(form) == {"webhook_id"}


@dataclass
class Verified:
    """A delivery that passed the checks, as the row to store."""

    values: dict[str, Any]
    code: int
    error: str = ""


def verify(
    session: Session,
    *,
    platform: Platform,
    store_slug: str,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
) -> Verified | Receipt:
    """Check one delivery (store, content type, signature, JSON) and make its row; writes nothing.
    A Receipt is the whole answer (a WooCommerce ping); a refused delivery raises."""
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge("A webhook body may be at most 1 MB.")
    found = service.cached_store_for_webhook(session, store_slug)
    if found is None or found[1] != platform:
        raise NotFound("No {platform} store {slug} here.", platform=platform.value, slug=store_slug)
    store_id, _, secret_values = found
    if platform == Platform.woocommerce and _is_woocommerce_ping(headers, body):
        return Receipt(200, {"status": "ok"})
    if not _is_json(headers):
        raise UnsupportedMediaType(
            "Webhook bodies must be sent with Content-Type: application/json (got {content_type}).",
            content_type=headers.get("content-type", "none")[:60] or "none",
        )
    if platform == Platform.standard:
        verified = verify_standard(body, headers, secret_values)
    else:
        header = "x-shopify-hmac-sha256" if platform == Platform.shopify else "x-wc-webhook-signature"
        verified = verify_hmac_base64(body, headers.get(header, ""), secret_values)
    if not verified:
        raise NotAuthenticated("The webhook signature does not match any active secret of this store.")

    status, error, code = InboxStatus.received, "", 200
    topic = headers.get("x-shopify-topic") or headers.get("x-wc-webhook-topic") or ""
    try:
        payload = parse_json(body)
        if not isinstance(payload, dict):
            raise ValueError("the body is not a JSON object")
    except (ValueError, UnicodeDecodeError) as exc:
        payload, status, error, code = None, InboxStatus.failed, f"malformed JSON: {exc}", 400
    if payload is not None and platform == Platform.standard:
        topic = str(payload.get("type") or "")
    if payload is not None and topic not in MAPPINGS[platform].TOPICS:
        status, code = InboxStatus.ignored, 202
    dedupe_key = headers.get(DEDUPE_HEADER[platform], "").strip()[:100]
    if not dedupe_key:
        dedupe_key = "sha256:" + hashlib.sha256(topic.encode() + b"\n" + body).hexdigest()
    values = {
        "store_id": store_id,
        "platform": platform,
        "dedupe_key": dedupe_key,
        "topic": topic[:64],
        "headers": {k: headers[k][:512] for k in KEPT_HEADERS[platform] if k in headers},
        "body": body,
        "status": status,
        "retryable": status == InboxStatus.received,
        "error": error,
        "note": "unknown topic: recorded, not acted on" if status == InboxStatus.ignored else "",
        "attempts": 0,
        "subject": "",
        "customer_ref": "",
        "received_at": now,
        "updated_at": now,
    }
    return Verified(values, code, error)


def store(session: Session, delivery: Verified) -> Receipt:
    """Store a verified delivery. A duplicate (even one stored a moment ago by a concurrent
    request, or earlier in this transaction) is a no-op answered with the stored one's id."""
    return store_many(session, [delivery])[0]


def store_many(session: Session | sa.Connection, deliveries: list[Verified]) -> list[Receipt]:
    """Store verified deliveries with one INSERT (the intake's batch), answering each as `store`
    would, in order: the first of two with one key in the batch is stored, the second is its
    duplicate. `session` may also be a Core connection (the intake's, in autocommit mode)."""
    if not deliveries:
        return []
    dialect = session.dialect if isinstance(session, sa.Connection) else session.get_bind().dialect
    statement = _insert_statement(dialect.name)
    rows = session.execute(statement, [d.values for d in deliveries]).all()
    inserted = {(r.store_id, _platform(r.platform), r.dedupe_key): r.id for r in rows}
    receipts = []
    for delivery in deliveries:
        values = delivery.values
        key = (values["store_id"], _platform(values["platform"]), values["dedupe_key"])
        message_id = inserted.pop(key, None)
        if message_id is None:
            existing = _find_id(session, values["store_id"], values["platform"], values["dedupe_key"])
            receipts.append(Receipt(200, {"status": "duplicate", "id": existing}))
            continue
        status = values["status"]
        body_out: dict[str, Any] = {"status": ANSWERS[status], "id": message_id}
        if delivery.error:
            body_out |= {"error": "bad_request", "detail": delivery.error}
        receipts.append(Receipt(delivery.code, body_out, message_id, process=status == InboxStatus.received))
    return receipts


ANSWERS = {InboxStatus.received: "received", InboxStatus.ignored: "ignored", InboxStatus.failed: "invalid"}


def _platform(value: Any) -> str:
    return str(getattr(value, "value", value))


def receive(session: Session, **delivery: Any) -> Receipt:
    """Verify (the keywords of `verify`) and store one delivery in the caller's transaction.
    Duplicates are a no-op; nothing is acted on here."""
    checked = verify(session, **delivery)
    return checked if isinstance(checked, Receipt) else store(session, checked)


@lru_cache(maxsize=2)
def _insert_statement(dialect: str) -> Any:
    # Built once (bound parameters): this is the hot path of every webhook.
    module = postgresql if dialect == "postgresql" else sqlite
    table = InboxMessage.__table__
    return (
        module.insert(table)
        .on_conflict_do_nothing(index_elements=["store_id", "platform", "dedupe_key"])
        .returning(table.c.id, table.c.store_id, table.c.platform, table.c.dedupe_key)
    )


def _find_id(session: Session | sa.Connection, store_id: int, platform: Platform, key: str) -> int | None:
    table = InboxMessage.__table__
    query = sa.select(table.c.id).where(
        table.c.store_id == store_id, table.c.platform == platform, table.c.dedupe_key == key
    )
    return session.execute(query).scalar()


# --- processing ------------------------------------------------------------------------------


def backoff(attempts: int) -> timedelta:
    """30 s, 1, 2, 4 … minutes, at most an hour, with ±20 % jitter so retries do not bunch."""
    base = min(30 * 2 ** max(attempts - 1, 0), 3600)
    return timedelta(seconds=base * (0.8 + 0.4 * secrets.randbelow(1000) / 1000))


def newest_id(session: Session) -> int:
    """The id of the newest stored delivery (0 if none): ids only grow, so two readings a second
    apart tell how many arrived in between (refused duplicates too, on PostgreSQL)."""
    return session.execute(sa.select(sa.func.max(InboxMessage.id))).scalar() or 0


def claim(
    session: Session, *, now: datetime, ids: list[int] | None = None, limit: int = 50, force: bool = False
) -> tuple[list[int], str]:
    """Lease due deliveries to this worker: (their ids, the claim token). A killed worker's lease
    expires after LEASE. On PostgreSQL, rows another worker is claiming are skipped."""
    token = secrets.token_hex(8)
    query = select(InboxMessage.id).where(
        sa.or_(InboxMessage.claimed_until.is_(None), InboxMessage.claimed_until < now)
    )
    if force:
        query = query.where(InboxMessage.status != InboxStatus.processed)
    else:
        query = query.where(
            InboxMessage.status.in_([InboxStatus.received, InboxStatus.failed]),
            InboxMessage.retryable.is_(True),
            InboxMessage.attempts < MAX_ATTEMPTS,
            sa.or_(InboxMessage.next_attempt_at.is_(None), InboxMessage.next_attempt_at <= now),
        )
    if ids is not None:
        query = query.where(InboxMessage.id.in_(ids))
    query = query.order_by(InboxMessage.id).limit(limit)
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    claimed = list(session.exec(query))
    if claimed:
        session.execute(
            sa.update(InboxMessage)
            .where(InboxMessage.id.in_(claimed))
            .values(claim_token=token, claimed_until=now + LEASE)
        )
        session.flush()
    return claimed, token


def process_claimed(session: Session, message_id: int, *, token: str, now: datetime) -> list[int]:
    """Process one claimed delivery in a savepoint and record the outcome on its row.

    Returns the ids of failed deliveries this one unblocked (they wait for its order)."""
    options = {"with_for_update": True} if is_postgres(session) else {}
    message = session.get(InboxMessage, message_id, populate_existing=True, **options)
    if message is None or message.claim_token != token or message.status == InboxStatus.processed:
        return []
    store = session.get(Store, message.store_id)
    mapping = MAPPINGS[Platform(message.platform)]
    message.attempts += 1
    message.claim_token, message.claimed_until, message.updated_at = None, None, now
    woken: list[int] = []
    try:
        payload = parse_json(message.body)
        message.subject, message.customer_ref = mapping.subject_of(message.topic, payload)
        session.add(message)
        with session.begin_nested():
            outcome = mapping.handle(session, store, message.topic, payload, now=now)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded on the row, never lost
        retryable = not isinstance(exc, InvalidInput | ValueError)
        if not isinstance(exc, DomainError | ValueError):
            log.exception("webhook processing failed", extra={"inbox_id": message_id})
        text = exc.english() if isinstance(exc, DomainError) else f"{type(exc).__name__}: {exc}"
        fields = getattr(exc, "fields", None)
        message.status = InboxStatus.failed
        message.error = (text + (f" {json.dumps(fields, ensure_ascii=False)}" if fields else ""))[:4000]
        message.retryable = retryable
        message.next_attempt_at = now + backoff(message.attempts) if retryable else None
    else:
        message.status = InboxStatus.ignored if outcome.ignored else InboxStatus.processed
        message.note = outcome.note[:255]
        message.result = outcome.result
        message.error = ""
        message.processed_at = now
        message.next_attempt_at = None
        if outcome.order_external_id:
            woken = wake_dependants(session, message, outcome.order_external_id, now=now)
    session.add(message)
    session.flush()
    return woken


def wake_dependants(session: Session, message: InboxMessage, subject: str, *, now: datetime) -> list[int]:
    query = select(InboxMessage.id).where(
        InboxMessage.store_id == message.store_id,
        InboxMessage.subject == subject,
        InboxMessage.status == InboxStatus.failed,
        InboxMessage.retryable.is_(True),
        InboxMessage.id != message.id,
    )
    ids = list(session.exec(query))
    if ids:
        session.execute(sa.update(InboxMessage).where(InboxMessage.id.in_(ids)).values(next_attempt_at=now))
    return ids


def process_due(session: Session, *, now: datetime, limit: int = 100) -> int:
    """Claim and process due deliveries in this one session (tests, and replays from a request)."""
    ids, token = claim(session, now=now, limit=limit)
    for message_id in ids:
        process_claimed(session, message_id, token=token, now=now)
    return len(ids)


def replay(session: Session, message: InboxMessage, *, now: datetime) -> InboxMessage:
    """Process a stored delivery again now, whatever its attempts (an admin or the CLI asked)."""
    if message.status == InboxStatus.processed:
        raise InvalidInput("Delivery {id} was processed already.", fields={"id": "processed"}, id=message.id)
    if message.status == InboxStatus.failed and message.error.startswith("malformed JSON"):
        raise InvalidInput(
            "Delivery {id} is not valid JSON; it cannot be processed.",
            fields={"id": "malformed"},
            id=message.id,
        )
    ids, token = claim(session, now=now, ids=[message.id], force=True)
    if not ids:
        raise InvalidInput(
            "Delivery {id} is being processed right now.", fields={"id": "busy"}, id=message.id
        )
    message.status = InboxStatus.received
    session.add(message)
    session.flush()
    process_claimed(session, message.id, token=token, now=now)
    session.refresh(message)
    return message


def get_message(session: Session, message_id: int) -> InboxMessage | None:
    return session.get(InboxMessage, message_id)


def require_message(session: Session, message_id: int) -> InboxMessage:
    message = get_message(session, message_id)
    if message is None:
        raise NotFound("Inbox delivery {id} does not exist.", id=message_id)
    return message


def list_inbox(
    session: Session,
    *,
    cursor: str | None,
    limit: int,
    status: InboxStatus | None = None,
    topic: str | None = None,
    store_id: int | None = None,
) -> Rows[InboxMessage]:
    query = select(InboxMessage)
    if status is not None:
        query = query.where(InboxMessage.status == status)
    if topic:
        query = query.where(InboxMessage.topic == topic.strip()[:64])
    if store_id is not None:
        query = query.where(InboxMessage.store_id == store_id)
    return paginate(session, query, InboxMessage.id, cursor=cursor, limit=limit)


def topics_seen(session: Session) -> list[str]:
    query = select(InboxMessage.topic).distinct().order_by(InboxMessage.topic).limit(200)
    return [t for t in session.exec(query) if t]


def failed_ids(session: Session, *, limit: int = 10_000) -> list[int]:
    """Failed deliveries that can be processed (not malformed JSON), oldest first."""
    query = select(InboxMessage.id).where(
        InboxMessage.status == InboxStatus.failed, sa.not_(InboxMessage.error.startswith("malformed JSON"))
    )
    return list(session.exec(query.order_by(InboxMessage.id).limit(limit)))


def delivery_view(message: InboxMessage) -> dict[str, Any]:
    """A stored delivery for the admin page: its headers and its body pretty-printed if JSON."""
    try:
        pretty = json.dumps(json.loads(message.body), ensure_ascii=False, indent=2)
    except (ValueError, UnicodeDecodeError):
        pretty = message.body.decode("utf-8", errors="replace")
    result = json.dumps(message.result, ensure_ascii=False, indent=2) if message.result else ""
    return {"message": message, "headers": sorted(message.headers.items()), "body": pretty, "result": result}
