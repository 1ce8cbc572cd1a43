from decimal import Decimal

from app.customers.models import Customer
from app.integrations.models import InboxMessage, InboxStatus
from app.orders.lifecycle import Stage
from app.orders.models import Order, OrderItem, Shipment
from tests.factories import count, make_signed_store
from tests.integrations.conftest import fixture_bytes, one, post_shopify, process, rows


def test_official_sample_creates_cancelled_order_with_exact_64_bit_ids(client, db, now):
    store, secret = make_signed_store(db, platform="shopify")
    body = fixture_bytes("shopify_order_sample_official_1.json")
    response = post_shopify(client, store, secret, "orders/create", body)
    assert response.status_code == 200, response.text
    assert process(db, now) == 1
    order = one(db, Order, store_id=store.id)
    assert order.external_id == "820982911946154508"
    assert order.stage == Stage.cancelled
    assert order.total == Decimal("359.97") and order.currency == "USD"
    customer = db.get(Customer, order.customer_id)
    assert customer.external_id == "115310627314723954"
    assert count(db, OrderItem, order_id=order.id) == 3
    message = db.get(InboxMessage, response.json()["id"])
    assert message.status == InboxStatus.processed and message.subject == "820982911946154508"


def test_rest_fixtures_make_order_parcel_and_refund(client, db, now):
    store, secret = make_signed_store(db, platform="shopify")
    assert (
        post_shopify(
            client, store, secret, "orders/create", fixture_bytes("shopify_rest_order_fixture_1.json")
        ).status_code
        == 200
    )
    assert (
        post_shopify(
            client,
            store,
            secret,
            "fulfillments/create",
            fixture_bytes("shopify_rest_fulfillment_fixture_1.json"),
        ).status_code
        == 200
    )
    assert (
        post_shopify(
            client, store, secret, "refunds/create", fixture_bytes("shopify_rest_refund_fixture_1.json")
        ).status_code
        == 200
    )
    process(db, now)
    order = one(db, Order, store_id=store.id, external_id="450789469")
    shipment = one(db, Shipment, order_id=order.id)
    assert shipment.tracking_number == "1Z2345" and shipment.external_id == "255858046"
    assert order.stage == Stage.shipped
    assert order.refunded_amount == Decimal("209.00")
    customer = db.get(Customer, order.customer_id)
    assert customer.external_id == "207119551" and customer.email == "bob.norman@hostmail.com"
    assert all(m.status == InboxStatus.processed for m in rows(db, InboxMessage, store_id=store.id))


def test_a_stored_delivery_is_handed_to_the_processor_after_the_response_and_a_duplicate_is_not(
    app, client, db
):
    """The route answers once the delivery is stored, then hands its id to the process's inbox
    worker (here a list); a redelivery of a stored one is answered as its duplicate, not handed."""
    from app.integrations.webhooks import background_processor

    handed: list[int] = []
    app.dependency_overrides[background_processor] = lambda: handed.append
    store, secret = make_signed_store(db, platform="shopify")
    body = fixture_bytes("shopify_rest_order_fixture_1.json")
    first = post_shopify(client, store, secret, "orders/create", body, webhook_id="hand-over-1")
    assert first.status_code == 200 and handed == [first.json()["id"]]
    again = post_shopify(client, store, secret, "orders/create", body, webhook_id="hand-over-1")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert handed == [first.json()["id"]]
    assert one(db, InboxMessage, id=first.json()["id"]).status == InboxStatus.received
