import json
from datetime import UTC, datetime, timedelta

from app.integrations.models import InboxMessage, InboxStatus
from tests.factories import count, make_signed_store
from tests.integrations.conftest import (
    one,
    post_shopify,
    post_standard,
    process,
    shopify_headers,
    standard_headers,
)

ORDER = b'{"id": 9007199254740993, "line_items": []}'


def test_bad_signature_is_401_and_nothing_stored(client, db):
    store, _secret = make_signed_store(db, platform="shopify")
    for topic in ("orders/create", "customers/data_request", "customers/redact", "shop/redact"):
        response = post_shopify(client, store, "not-the-secret-at-all", topic, ORDER)
        assert response.status_code == 401, topic
        assert response.json()["error"] == "not_authenticated"
    assert count(db, InboxMessage, store_id=store.id) == 0


def test_signature_over_other_bytes_is_refused(client, db):
    store, secret = make_signed_store(db, platform="shopify")
    headers = shopify_headers(secret, ORDER, "orders/create")
    reformatted = json.dumps(json.loads(ORDER)).encode()  # same JSON, different bytes
    response = client.post(f"/webhooks/shopify/{store.slug}", content=reformatted + b" ", headers=headers)
    assert response.status_code == 401


def test_unknown_store_is_404(client, db):
    response = post_shopify(client, type("S", (), {"slug": "nobody"}), "x" * 20, "orders/create", ORDER)
    assert response.status_code == 404 and response.json()["error"] == "not_found"


def test_store_of_another_platform_is_404(client, db):
    store, secret = make_signed_store(db, platform="woocommerce")
    assert post_shopify(client, store, secret, "orders/create", ORDER).status_code == 404


def test_body_over_one_megabyte_is_413(client, db):
    store, secret = make_signed_store(db, platform="shopify")
    big = b'{"id": 1, "pad": "' + b"x" * (1024 * 1024) + b'"}'
    response = post_shopify(client, store, secret, "orders/create", big)
    assert response.status_code == 413
    assert count(db, InboxMessage, store_id=store.id) == 0


def test_malformed_json_with_good_signature_is_400_and_recorded(client, db):
    store, secret = make_signed_store(db, platform="shopify")
    response = post_shopify(client, store, secret, "orders/create", b'{"id": 1,')
    assert response.status_code == 400
    message = one(db, InboxMessage, store_id=store.id)
    assert message.status == InboxStatus.failed and "malformed JSON" in message.error
    assert message.body == b'{"id": 1,'


def test_unknown_topic_is_202_recorded_and_ignored(client, db, now):
    store, secret = make_signed_store(db, platform="shopify")
    response = post_shopify(client, store, secret, "carts/update", b'{"id": 5}')
    assert response.status_code == 202
    message = one(db, InboxMessage, store_id=store.id)
    assert message.status == InboxStatus.ignored and message.topic == "carts/update"
    assert process(db, now) == 0


def test_woocommerce_ping_gets_exactly_200_and_nothing_is_stored(client, db):
    store, _secret = make_signed_store(db, platform="woocommerce")
    response = client.post(
        f"/webhooks/woocommerce/{store.slug}",
        content=b"webhook_id=15",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    assert count(db, InboxMessage) == 0


def test_woocommerce_unsigned_json_is_401(client, db):
    store, _secret = make_signed_store(db, platform="woocommerce")
    response = client.post(
        f"/webhooks/woocommerce/{store.slug}",
        content=b'{"id": 1}',
        headers={"content-type": "application/json", "X-WC-Webhook-Topic": "order.created"},
    )
    assert response.status_code == 401


def test_standard_timestamp_outside_five_minutes_is_401(client, db):
    store, secret = make_signed_store(db, platform="standard")
    event = {"type": "order.paid", "timestamp": "2026-11-11T02:00:00Z", "data": {"id": "1"}}
    old = datetime.now(UTC) - timedelta(minutes=6)
    future = datetime.now(UTC) + timedelta(minutes=6)
    assert post_standard(client, store, secret, event, at=old).status_code == 401
    assert post_standard(client, store, secret, event, at=future).status_code == 401
    assert (
        post_standard(client, store, secret, event, at=datetime.now(UTC) - timedelta(minutes=4)).status_code
        == 200
    )


def test_standard_signature_with_wrong_secret_is_401(client, db):
    store, _secret = make_signed_store(db, platform="standard")
    other, other_secret = make_signed_store(db, platform="standard")
    body = b'{"type": "order.paid"}'
    response = client.post(
        f"/webhooks/standard/{store.slug}", content=body, headers=standard_headers(other_secret, body)
    )
    assert response.status_code == 401


def test_same_delivery_twice_is_stored_and_processed_once(client, db, now):
    store, secret = make_signed_store(db, platform="shopify")
    from tests.integrations.conftest import fixture_bytes

    body = fixture_bytes("shopify_rest_order_fixture_1.json")
    first = post_shopify(client, store, secret, "orders/create", body, webhook_id="same-id")
    again = post_shopify(client, store, secret, "orders/create", body, webhook_id="same-id")
    assert first.status_code == again.status_code == 200
    assert again.json()["status"] == "duplicate" and again.json()["id"] == first.json()["id"]
    assert count(db, InboxMessage, store_id=store.id) == 1
    assert process(db, now) == 1
