from decimal import Decimal

import pytest

from app.accounts.models import Scope
from app.orders.lifecycle import Stage
from tests.factories import bearer, make_api_key, make_customer, make_product, make_store
from tests.orders.helpers import make_order

BIG_ID = "820982911946154508"  # above 2**53: must stay exact


@pytest.fixture
def shop(db):
    store = make_store(db, slug="cha-shop")
    return store, make_customer(db, store=store), make_product(db, store=store)


def _body(store, customer, product, **overrides):
    return {
        "store": store.slug,
        "customer_id": customer.id,
        "external_id": BIG_ID,
        "items": [
            {
                "product_id": product.id,
                "sku": product.sku,
                "title": product.title,
                "quantity": 2,
                "unit_price": "199.00",
                "agreed_price": "179.00",
            }
        ],
        "shipping_fee": "0.00",
        "discount_total": "10.00",
        "placed_at": "2026-11-11T02:00:00Z",
    } | overrides


def test_create_then_look_up_by_store_and_external_id(client, db, shop):
    store, customer, product = shop
    write = make_api_key(db, scope=Scope.write)
    created = client.post("/api/v1/orders", json=_body(store, customer, product), headers=bearer(write))
    assert created.status_code == 201, created.text
    order = created.json()
    assert order["total"] == "348.00" and order["external_id"] == BIG_ID and order["stage"] == "ordered"
    assert order["allowed_next"] == ["paid", "cancelled"] and order["timeline"][0]["to_stage"] == "ordered"
    read = make_api_key(db, scope=Scope.read)
    found = client.get(f"/api/v1/orders?store=cha-shop&external_id={BIG_ID}", headers=bearer(read)).json()
    assert [o["id"] for o in found["items"]] == [order["id"]] and found["next_cursor"] is None
    assert (
        client.get(f"/api/v1/orders/{order['id']}", headers=bearer(read)).json()["number"] == order["number"]
    )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"currency": "XYZ"}, "currency"),
        ({"shipping_fee": "-1.00"}, "shipping_fee"),
        ({"shipping_fee": 1.5}, "shipping_fee"),
        ({"discount_total": "ten"}, "discount_total"),
        ({"items": []}, "items"),
    ],
)
def test_bad_money_currency_or_items_are_422_naming_the_field(client, db, shop, overrides, field):
    store, customer, product = shop
    response = client.post(
        "/api/v1/orders",
        json=_body(store, customer, product, **overrides),
        headers=bearer(make_api_key(db, scope=Scope.write)),
    )
    assert response.status_code == 422
    assert field in response.json()["fields"]


def test_quantity_zero_is_refused(client, db, shop):
    store, customer, product = shop
    body = _body(store, customer, product)
    body["items"][0]["quantity"] = 0
    response = client.post("/api/v1/orders", json=body, headers=bearer(make_api_key(db, scope=Scope.write)))
    assert response.status_code == 422 and "items.0.quantity" in response.json()["fields"]


def test_read_key_cannot_write_and_no_key_is_401(client, db, shop):
    store, customer, product = shop
    assert client.post("/api/v1/orders", json=_body(store, customer, product)).status_code == 401
    response = client.post(
        "/api/v1/orders",
        json=_body(store, customer, product),
        headers=bearer(make_api_key(db, scope=Scope.read)),
    )
    assert response.status_code == 403


def test_unknown_store_or_order_is_404(client, db):
    read = bearer(make_api_key(db, scope=Scope.read))
    assert client.get("/api/v1/orders?store=nope", headers=read).status_code == 404
    assert client.get("/api/v1/orders/999999", headers=read).json()["error"] == "not_found"


def test_advance_out_of_order_is_409_naming_allowed_stages(client, db):
    order = make_order(db, stage=Stage.ordered)
    write = bearer(make_api_key(db, scope=Scope.write))
    response = client.post(f"/api/v1/orders/{order.id}/advance", json={"stage": "cancelled"}, headers=write)
    assert response.status_code == 200 and response.json()["stage"] == "cancelled"
    again = client.post(f"/api/v1/orders/{order.id}/advance", json={"stage": "paid"}, headers=write)
    assert again.status_code == 409 and "none (final stage)" in again.json()["detail"]
    bad = client.post(f"/api/v1/orders/{order.id}/advance", json={"stage": "teleported"}, headers=write)
    assert bad.status_code == 422 and "stage" in bad.json()["fields"]


def test_shipments_status_and_refunds_through_the_api(client, db):
    order = make_order(db, stage=Stage.paid)
    write = bearer(make_api_key(db, scope=Scope.write))
    shipped = client.post(
        f"/api/v1/orders/{order.id}/shipments",
        json={"carrier": "顺丰速运", "tracking_number": "SF1"},
        headers=write,
    )
    assert shipped.status_code == 201 and shipped.json()["stage"] == "shipped"
    shipment_id = shipped.json()["shipments"][0]["id"]
    delivered = client.post(
        f"/api/v1/orders/{order.id}/shipments/{shipment_id}/status",
        json={"status": "delivered"},
        headers=write,
    )
    assert delivered.json()["stage"] == "delivered"
    refund = client.post(
        f"/api/v1/orders/{order.id}/refunds", json={"amount": "199.00", "reason": "退货"}, headers=write
    )
    assert refund.status_code == 200 and refund.json()["stage"] == "refunded"
    too_much = client.post(f"/api/v1/orders/{order.id}/refunds", json={"amount": "0.01"}, headers=write)
    assert too_much.status_code == 422


def test_list_filters_and_cursor_pagination(client, db):
    store = make_store(db, slug="paging")
    customer = make_customer(db, store=store)
    ids = [
        make_order(db, store=store, customer=customer, stage=Stage.paid if i % 2 else Stage.ordered).id
        for i in range(5)
    ]
    read = bearer(make_api_key(db, scope=Scope.read))
    first = client.get("/api/v1/orders?store=paging&limit=2", headers=read).json()
    second = client.get(
        f"/api/v1/orders?store=paging&limit=2&cursor={first['next_cursor']}", headers=read
    ).json()
    third = client.get(
        f"/api/v1/orders?store=paging&limit=2&cursor={second['next_cursor']}", headers=read
    ).json()
    seen = [o["id"] for page in (first, second, third) for o in page["items"]]
    assert seen == sorted(ids, reverse=True) and third["next_cursor"] is None
    paid = client.get("/api/v1/orders?store=paging&stage=paid", headers=read).json()
    assert {o["stage"] for o in paid["items"]} == {"paid"} and len(paid["items"]) == 2
    assert client.get("/api/v1/orders?cursor=garbage", headers=read).status_code == 422
    assert client.get("/api/v1/orders?stage=flying", headers=read).status_code == 422


def test_money_is_a_decimal_string_in_json(client, db):
    order = make_order(db, unit_price=Decimal("0.10"), quantity=3)
    body = client.get(f"/api/v1/orders/{order.id}", headers=bearer(make_api_key(db))).json()
    assert body["total"] == "0.30" and body["items"][0]["unit_price"] == "0.10"
