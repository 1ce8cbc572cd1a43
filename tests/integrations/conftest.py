"""Webhook test helpers: sign exact bytes as each platform does, post them, process the inbox."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from standardwebhooks.webhooks import Webhook

from app.integrations import inbox
from app.integrations.webhooks import background_processor, in_thread, ingester

# The real storefront samples live in shared/ beside the repository (as in CI's fresh clone).
FIXTURES = Path(
    os.environ.get(
        "HUITOU_WEBHOOK_FIXTURES",
        Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "webhooks",
    )
)
_ids = itertools.count(1)


def fixture_bytes(name: str) -> bytes:
    """A sample as a webhook body: REST envelopes ({"order": {...}}) unwrapped, otherwise the exact bytes."""
    raw = (FIXTURES / name).read_bytes()
    data = json.loads(raw)
    if isinstance(data, dict) and len(data) == 1 and next(iter(data)) in ("order", "fulfillment", "refund"):
        return json.dumps(next(iter(data.values())), indent=2).encode()
    return raw


def hmac_b64(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def shopify_headers(secret: str, body: bytes, topic: str, webhook_id: str | None = None) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": hmac_b64(secret, body),
        "X-Shopify-Webhook-Id": webhook_id or f"wh-{next(_ids)}",
        "X-Shopify-Shop-Domain": "tea.myshopify.com",
    }


def woo_headers(secret: str, body: bytes, topic: str, delivery_id: str | None = None) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Signature": hmac_b64(secret, body),
        "X-WC-Webhook-Delivery-ID": delivery_id or f"d-{next(_ids)}",
    }


def standard_headers(
    secret: str, body: bytes, msg_id: str | None = None, at: datetime | None = None
) -> dict[str, str]:
    msg_id = msg_id or f"msg_{next(_ids)}"
    at = at or datetime.now(UTC)
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, at, body.decode()),
    }


def post_shopify(client, store, secret, topic, body: bytes, webhook_id=None):
    return client.post(
        f"/webhooks/shopify/{store.slug}",
        content=body,
        headers=shopify_headers(secret, body, topic, webhook_id),
    )


def post_woo(client, store, secret, topic, body: bytes, delivery_id=None):
    return client.post(
        f"/webhooks/woocommerce/{store.slug}",
        content=body,
        headers=woo_headers(secret, body, topic, delivery_id),
    )


def post_standard(client, store, secret, event: dict, msg_id=None, at=None):
    body = json.dumps(event, ensure_ascii=False).encode()
    return client.post(
        f"/webhooks/standard/{store.slug}", content=body, headers=standard_headers(secret, body, msg_id, at)
    )


def process(db, now) -> int:
    """Process everything due, as the background task and the dispatch sweep would."""
    done = 0
    for _ in range(10):
        count = inbox.process_due(db, now=now)
        if not count:
            break
        done += count
    return done


@pytest.fixture
def client(app, db):
    # Deliveries are stored in the test's transaction; processing is driven by the tests on
    # that session (process()), not by a background task on another connection.
    def ingest(**values):
        db.commit()
        try:
            receipt = inbox.receive(db, **values)
            db.commit()
            return receipt
        except BaseException:
            db.rollback()
            raise

    app.dependency_overrides[ingester] = lambda: in_thread(ingest)
    app.dependency_overrides[background_processor] = lambda: None
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client


def rows(db, model, **equals):
    from sqlmodel import select

    query = select(model)
    for column, value in equals.items():
        query = query.where(getattr(model, column) == value)
    return list(db.exec(query.order_by(model.id)))


def one(db, model, **equals):
    found = rows(db, model, **equals)
    assert len(found) == 1, f"{len(found)} {model.__name__} rows"
    return found[0]
