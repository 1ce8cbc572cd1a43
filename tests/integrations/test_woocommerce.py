import json
from decimal import Decimal

from app.customers.models import Customer
from app.integrations.models import InboxMessage, InboxStatus
from app.orders.lifecycle import Stage
from app.orders.models import Order
from tests.factories import make_signed_store
from tests.integrations.conftest import FIXTURES, fixture_bytes, one, post_woo, process, rows


def test_created_sample_makes_an_unpaid_order_in_rupees(client, db, now):
    store, secret = make_signed_store(db, platform="woocommerce")
    response = post_woo(
        client, store, secret, "order.created", fixture_bytes("woocommerce_order_created_1.json")
    )
    assert response.status_code == 200
    process(db, now)
    order = one(db, Order, store_id=store.id)
    assert order.external_id == "205" and order.stage == Stage.ordered  # on-hold
    assert order.currency == "INR" and order.total == Decimal("17.70")
    assert order.placed_at.isoformat() == "2021-11-30T07:32:10+00:00"  # date_created_gmt
    customer = db.get(Customer, order.customer_id)
    assert (
        customer.external_id == "1" and customer.email == "strange@erpnext.com" and customer.city == "Mumbai"
    )


def test_completed_sample_is_shipped_with_gmt_times(client, db, now):
    store, secret = make_signed_store(db, platform="woocommerce")
    post_woo(client, store, secret, "order.updated", fixture_bytes("woocommerce_order_updated_docs_1.json"))
    process(db, now)
    order = one(db, Order, store_id=store.id)
    assert order.stage == Stage.shipped
    assert order.paid_at.isoformat() == "2017-03-22T19:28:08+00:00"
    assert order.shipped_at.isoformat() == "2017-03-22T19:30:35+00:00"
    assert order.total == Decimal("29.35") and order.shipping_fee == Decimal("10.00")
    customer = db.get(Customer, order.customer_id)
    assert customer.external_id == "email:john.doe@example.com"  # a guest, known by email


def _variant(**changes) -> bytes:
    data = json.loads((FIXTURES / "woocommerce_order_created_1.json").read_text())
    return json.dumps({**data, **changes}).encode()


def test_status_mapping_processing_refunded_and_cancelled(client, db, now):
    store, secret = make_signed_store(db, platform="woocommerce")
    post_woo(client, store, secret, "order.created", _variant())
    post_woo(
        client,
        store,
        secret,
        "order.updated",
        _variant(
            status="processing", date_paid_gmt="2021-11-30T08:00:00", date_modified_gmt="2021-11-30T08:00:00"
        ),
    )
    process(db, now)
    order = one(db, Order, store_id=store.id)
    assert order.stage == Stage.paid
    post_woo(
        client,
        store,
        secret,
        "order.updated",
        _variant(
            status="refunded", date_paid_gmt="2021-11-30T08:00:00", date_modified_gmt="2021-12-01T08:00:00"
        ),
    )
    process(db, now)
    db.refresh(order)
    assert order.stage == Stage.refunded and order.refunded_amount == Decimal("17.70")

    other, secret2 = make_signed_store(db, platform="woocommerce")
    post_woo(client, other, secret2, "order.updated", _variant(status="cancelled"))
    process(db, now)
    assert one(db, Order, store_id=other.id).stage == Stage.cancelled


def test_deleted_order_is_cancelled_and_unknown_deleted_order_is_a_note(client, db, now):
    store, secret = make_signed_store(db, platform="woocommerce")
    post_woo(client, store, secret, "order.created", _variant())
    post_woo(client, store, secret, "order.deleted", b'{"id": 205}')
    post_woo(client, store, secret, "order.deleted", b'{"id": 999}')
    process(db, now)
    assert one(db, Order, store_id=store.id).stage == Stage.cancelled
    messages = rows(db, InboxMessage, store_id=store.id)
    assert any("never received" in m.note for m in messages)
    assert all(m.status == InboxStatus.processed for m in messages)
