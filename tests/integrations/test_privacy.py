import json

from app.audit.models import AuditEntry
from app.customers.models import Customer
from app.integrations.models import InboxMessage, InboxStatus
from tests.factories import make_signed_store
from tests.integrations.conftest import fixture_bytes, one, post_shopify, process, rows


def _with_order(client, db, now):
    store, secret = make_signed_store(db, platform="shopify")
    post_shopify(client, store, secret, "orders/create", fixture_bytes("shopify_rest_order_fixture_1.json"))
    process(db, now)
    return store, secret, one(db, Customer, store_id=store.id, external_id="207119551")


def test_data_request_produces_an_export_of_the_buyer(client, db, now):
    store, secret, customer = _with_order(client, db, now)
    body = json.dumps(
        {
            "shop_id": 954889,
            "shop_domain": "tea.myshopify.com",
            "orders_requested": [450789469],
            "customer": {"id": 207119551, "email": "bob.norman@hostmail.com"},
            "data_request": {"id": 9999},
        }
    ).encode()
    assert post_shopify(client, store, secret, "customers/data_request", body).status_code == 200
    process(db, now)
    message = one(db, InboxMessage, topic="customers/data_request")
    assert message.status == InboxStatus.processed
    export = message.result
    assert export["found"] and export["data_request_id"] == "9999"
    assert export["data"]["customer"]["email"] == "bob.norman@hostmail.com"
    assert export["data"]["orders"][0]["external_id"] == "450789469"
    assert len(export["data"]["orders"][0]["items"]) == 3
    assert any(e.action == "customer.exported" for e in rows(db, AuditEntry, subject_id=customer.id))


def test_customer_redact_erases_personal_fields_keeps_aggregates_and_is_audited(client, db, now):
    store, secret, customer = _with_order(client, db, now)
    orders_before = customer.orders_count
    body = json.dumps({"shop_id": 1, "customer": {"id": 207119551}, "orders_to_redact": [450789469]}).encode()
    post_shopify(client, store, secret, "customers/redact", body)
    process(db, now)
    db.refresh(customer)
    assert customer.erased_at is not None
    assert (customer.name, customer.phone, customer.email, customer.street, customer.district) == (
        "",
        "",
        "",
        "",
        "",
    )
    assert customer.nickname == f"erased-{customer.id}"
    assert customer.orders_count == orders_before
    entry = one(db, AuditEntry, action="customer.erased", subject_id=customer.id)
    assert entry.actor_type == "storefront"
    order_delivery = one(db, InboxMessage, topic="orders/create")
    assert order_delivery.body == b'{"redacted": true}'  # raw copies of the buyer's data are gone too


def test_shop_redact_erases_every_buyer_of_the_store(client, db, now):
    store, secret, customer = _with_order(client, db, now)
    post_shopify(
        client, store, secret, "orders/create", fixture_bytes("shopify_order_sample_official_1.json")
    )
    process(db, now)
    post_shopify(
        client, store, secret, "shop/redact", b'{"shop_id": 954889, "shop_domain": "tea.myshopify.com"}'
    )
    process(db, now)
    assert all(c.erased_at is not None for c in rows(db, Customer, store_id=store.id))
    assert len(rows(db, Customer, store_id=store.id)) == 2


def test_redact_of_unknown_buyer_is_processed_with_a_note(client, db, now):
    store, secret = make_signed_store(db, platform="shopify")
    post_shopify(client, store, secret, "customers/redact", b'{"customer": {"id": 1}}')
    process(db, now)
    message = one(db, InboxMessage, store_id=store.id)
    assert message.status == InboxStatus.processed and "no such customer" in message.note
