from decimal import Decimal
from pathlib import Path

from app.customers.models import Customer
from app.integrations import event_schema
from app.integrations.models import InboxMessage, InboxStatus
from app.orders.lifecycle import Stage
from app.orders.models import Order, Shipment
from app.presale.models import Inquiry
from app.reviews.models import Review
from app.tickets.models import Ticket, TicketMessage
from tests.factories import make_product, make_signed_store
from tests.integrations.conftest import one, post_standard, process

DOCS = Path(__file__).resolve().parents[2] / "docs" / "event-schema.json"
BUYER = {
    "id": "tb_8812",
    "nickname": "茶友小王",
    "phone": "13812345678",
    "province": "浙江省",
    "city": "杭州市",
}


def _order(**extra):
    return {
        "id": 4102938475610293847,
        "number": "T20261111000123",
        "currency": "CNY",
        "total": "268.00",
        "placed_at": "2026-11-11T00:01:00+08:00",
        "updated_at": "2026-11-11T00:01:00+08:00",
        "customer": BUYER,
        "items": [{"sku": "LJ-250", "title": "明前龙井 250g", "quantity": 2, "unit_price": "134.00"}],
        **extra,
    }


def _event(kind, data, ts="2026-11-11T00:01:00+08:00"):
    return {"type": kind, "timestamp": ts, "data": data}


def test_order_events_walk_the_lifecycle_with_exact_ids(client, db, now):
    store, secret = make_signed_store(db, platform="standard")
    events = [
        _event("order.created", _order()),
        _event("order.paid", _order(paid_at="2026-11-11T00:02:00+08:00")),
        _event(
            "order.shipped",
            _order(shipment={"id": "sf-1", "carrier": "顺丰速运", "tracking_number": "SF1234567890"}),
            "2026-11-11T09:00:00+08:00",
        ),
        _event(
            "order.delivered",
            _order(shipment={"id": "sf-1", "tracking_number": "SF1234567890"}),
            "2026-11-12T15:00:00+08:00",
        ),
        _event(
            "refund.created",
            {"id": "r-1", "order_id": "4102938475610293847", "amount": "34.00", "reason": "少发一包"},
        ),
    ]
    for event in events:
        assert post_standard(client, store, secret, event).status_code == 200
        process(db, now)
    order = one(db, Order, store_id=store.id)
    assert order.external_id == "4102938475610293847"
    assert order.stage == Stage.delivered and order.refunded_amount == Decimal("34.00")
    assert order.paid_at.isoformat() == "2026-11-10T16:02:00+00:00"
    shipment = one(db, Shipment, order_id=order.id)
    assert shipment.carrier == "顺丰速运" and shipment.carrier_status == "delivered"
    assert one(db, Customer, store_id=store.id).external_id == "tb_8812"


def test_event_not_matching_the_schema_fails_with_the_field_named(client, db, now):
    store, secret = make_signed_store(db, platform="standard")
    post_standard(
        client,
        store,
        secret,
        _event("order.created", {"id": "1", "items": [{"title": "x", "quantity": 0, "unit_price": "1"}]}),
    )
    process(db, now)
    message = one(db, InboxMessage, store_id=store.id)
    assert message.status == InboxStatus.failed and not message.retryable
    assert "quantity" in message.error


def test_refund_before_its_order_waits_and_is_applied_once_the_order_arrives(client, db, now):
    store, secret = make_signed_store(db, platform="standard")
    post_standard(
        client,
        store,
        secret,
        _event("refund.created", {"id": "r-9", "order_id": "4102938475610293847", "amount": "10.00"}),
    )
    process(db, now)
    refund = one(db, InboxMessage, topic="refund.created")
    assert refund.status == InboxStatus.failed and refund.retryable and "has not arrived" in refund.error
    post_standard(client, store, secret, _event("order.paid", _order(paid_at="2026-11-11T00:02:00+08:00")))
    process(db, now)
    db.refresh(refund)
    assert refund.status == InboxStatus.processed
    assert one(db, Order, store_id=store.id).refunded_amount == Decimal("10.00")


def test_review_inquiry_and_message_events(client, db, now):
    store, secret = make_signed_store(db, platform="standard")
    product = make_product(db, store=store, sku="LJ-250")
    post_standard(client, store, secret, _event("order.paid", _order(paid_at="2026-11-11T00:02:00+08:00")))
    post_standard(
        client,
        store,
        secret,
        _event(
            "review.posted",
            {
                "id": "rv-1",
                "order_id": "4102938475610293847",
                "customer": BUYER,
                "rating": 1,
                "text": "茶叶碎了",
            },
        ),
    )
    post_standard(
        client,
        store,
        secret,
        _event(
            "inquiry.created",
            {"id": "iq-1", "customer": BUYER, "skus": ["LJ-250"], "question": "是今年的新茶吗？"},
        ),
    )
    post_standard(
        client,
        store,
        secret,
        _event("message.received", {"id": "m-1", "customer": BUYER, "text": "什么时候发货？"}),
    )
    process(db, now)
    review = one(db, Review, store_id=store.id)
    assert review.rating == 1 and review.grade == "bad"
    inquiry = one(db, Inquiry, store_id=store.id)
    assert inquiry.external_id == "iq-1" and inquiry.question == "是今年的新茶吗？"
    message = one(db, InboxMessage, topic="message.received")
    ticket = one(db, Ticket, customer_id=review.customer_id, kind="buyer_message")
    assert message.status == InboxStatus.processed and f"on ticket {ticket.id}" in message.note
    assert one(db, TicketMessage, ticket_id=ticket.id).body == "什么时候发货？"
    assert product.id


def test_event_schema_doc_is_current_and_published_in_openapi(client):
    assert DOCS.read_text() == event_schema.render(), (
        "run: python -m app.integrations.event_schema > docs/event-schema.json"
    )
    spec = client.get("/openapi.json").json()
    body = spec["paths"]["/webhooks/standard/{store_slug}"]["post"]["requestBody"]["content"][
        "application/json"
    ]["schema"]
    kinds = {variant["properties"]["type"]["const"] for variant in body["oneOf"]}
    assert kinds == set(event_schema.EVENT_TYPES)
