"""Deliveries arrive out of order and more than once: the end state must not depend on it."""

import itertools
import json

from app.integrations.models import InboxMessage, InboxStatus
from app.orders.models import Order, OrderItem, Shipment
from tests.factories import make_signed_store
from tests.integrations.conftest import FIXTURES, one, post_shopify, process, rows

BASE = json.loads((FIXTURES / "shopify_rest_order_fixture_1.json").read_text())["order"]
FULFILLMENT = {
    "id": 255858046,
    "order_id": BASE["id"],
    "status": "success",
    "tracking_company": "SF Express",
    "tracking_number": "SF1234567890",
    "tracking_url": "https://www.sf-express.com/track?n=SF1234567890",
    "created_at": "2026-11-11T12:00:00+08:00",
    "updated_at": "2026-11-11T12:00:00+08:00",
    "shipment_status": None,
}


def _order(**changes) -> dict:
    return {**BASE, "fulfillments": [], "refunds": [], **changes}


EVENTS = {
    "created": (
        "orders/create",
        _order(financial_status="pending", updated_at="2026-11-11T10:00:00+08:00", note=None),
    ),
    "paid": (
        "orders/paid",
        _order(financial_status="paid", updated_at="2026-11-11T10:05:00+08:00", note="please hurry"),
    ),
    "fulfilled": (
        "orders/fulfilled",
        _order(
            financial_status="paid",
            fulfillment_status="fulfilled",
            updated_at="2026-11-11T12:00:00+08:00",
            note="gift wrap",
            total_price="399.94",
            fulfillments=[FULFILLMENT],
        ),
    ),
    "delivered": (
        "fulfillments/update",
        {**FULFILLMENT, "shipment_status": "delivered", "updated_at": "2026-11-13T09:30:00+08:00"},
    ),
}


def _state(db, store) -> dict:
    order = one(db, Order, store_id=store.id)
    return {
        "order": {
            k: getattr(order, k)
            for k in (
                "stage",
                "placed_at",
                "paid_at",
                "shipped_at",
                "delivered_at",
                "total",
                "note",
                "source_updated_at",
            )
        },
        "items": len(rows(db, OrderItem, order_id=order.id)),
        "shipments": [
            (s.external_id, s.tracking_number, s.carrier_status, s.shipped_at, s.delivered_at)
            for s in rows(db, Shipment, order_id=order.id)
        ],
        "inbox": sorted(m.status for m in rows(db, InboxMessage, store_id=store.id)),
    }


def test_every_order_of_created_paid_fulfilled_delivered_ends_in_the_same_state(client, db, now):
    states = {}
    for permutation in itertools.permutations(EVENTS):
        store, secret = make_signed_store(db, platform="shopify")
        for name in permutation:
            topic, payload = EVENTS[name]
            assert post_shopify(client, store, secret, topic, json.dumps(payload).encode()).status_code == 200
            process(db, now)  # as the background task would, right after each response
        process(db, now)
        states[permutation] = _state(db, store)
    reference = states[("created", "paid", "fulfilled", "delivered")]
    assert reference["order"]["stage"] == "delivered"
    assert reference["order"]["note"] == "gift wrap" and str(reference["order"]["total"]) == "399.94"
    assert reference["inbox"] == [InboxStatus.processed] * 4
    assert reference["shipments"][0][2] == "delivered"
    for permutation, state in states.items():
        assert state == reference, permutation


def test_repeated_deliveries_with_new_ids_have_one_effect(client, db, now):
    store, secret = make_signed_store(db, platform="shopify")
    for _ in range(3):
        for topic, payload in EVENTS.values():
            post_shopify(client, store, secret, topic, json.dumps(payload).encode())
            process(db, now)
    assert len(rows(db, Order, store_id=store.id)) == 1
    order = one(db, Order, store_id=store.id)
    assert len(rows(db, Shipment, order_id=order.id)) == 1
    assert order.stage == "delivered"


def test_late_paid_event_does_not_move_stage_back(client, db, now):
    store, secret = make_signed_store(db, platform="shopify")
    for name in ("fulfilled", "delivered", "paid"):
        topic, payload = EVENTS[name]
        post_shopify(client, store, secret, topic, json.dumps(payload).encode())
        process(db, now)
    order = one(db, Order, store_id=store.id)
    assert order.stage == "delivered"
    assert order.paid_at.isoformat() == "2026-11-11T02:05:00+00:00"  # the earliest paid report wins
    assert order.note == "gift wrap"  # the older paid delivery did not overwrite newer data
