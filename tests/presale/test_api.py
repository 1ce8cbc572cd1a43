from datetime import timedelta

import pytest

from app.accounts.models import Scope
from app.presale.models import BargainRound, Inquiry, InquiryStatus
from tests.factories import (
    T0,
    bearer,
    count,
    make_agent,
    make_api_key,
    make_customer,
    make_product,
    make_store,
)
from tests.presale.helpers import make_inquiry, place_order, setup


@pytest.fixture
def world(db):
    store, product, customer = setup(db)
    return {"store": store, "product": product, "customer": customer, "agent": make_agent(db)}


def test_inquiry_endpoints_need_a_key(client):
    assert client.get("/api/v1/inquiries").status_code == 401
    assert client.post("/api/v1/inquiries", json={}).status_code == 401


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/v1/inquiries"),
        ("post", "/api/v1/inquiries/1/rounds"),
        ("post", "/api/v1/inquiries/1/lose"),
        ("post", "/api/v1/inquiries/1/win"),
    ],
)
def test_read_key_cannot_write(client, db, method, path):
    response = getattr(client, method)(path, json={}, headers=bearer(make_api_key(db, scope=Scope.read)))
    assert response.status_code == 403 and "write" in response.json()["detail"]


def test_create_inquiry_then_read_it(client, db, world):
    key = bearer(make_api_key(db, scope=Scope.write))
    body = {
        "customer_id": world["customer"].id,
        "product_ids": [world["product"].id],
        "question": "有现货吗？",
        "agent_id": world["agent"].id,
    }
    created = client.post("/api/v1/inquiries", json=body, headers=key)
    assert created.status_code == 201, created.text
    data = created.json()
    assert data["status"] == "open" and data["product_ids"] == [world["product"].id]
    assert (
        data["products"][0]["suggested_counter"] == "199.00"
        and data["products"][0]["floor_price"] == "159.00"
    )
    read = client.get(f"/api/v1/inquiries/{data['id']}", headers=key)
    assert read.status_code == 200 and read.json()["question"] == "有现货吗？"


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"customer_id": 999999}, "customer_id"),
        ({"product_ids": []}, "product_ids"),
        ({"product_ids": [999999]}, "product_ids"),
        ({"agent_id": 999999}, "agent_id"),
        ({"question": "x" * 4001}, "question"),
    ],
)
def test_create_inquiry_errors_name_the_field(client, db, world, patch, field):
    key = bearer(make_api_key(db, scope=Scope.write))
    body = {"customer_id": world["customer"].id, "product_ids": [world["product"].id]} | patch
    response = client.post("/api/v1/inquiries", json=body, headers=key)
    assert response.status_code == 422, response.text
    assert field in response.json()["fields"]
    assert count(db, Inquiry) == 0


def test_list_filters_and_cursor(client, db, world):
    other_store = make_store(db)
    mine = [
        make_inquiry(db, world["store"], world["customer"], [world["product"]], agent=world["agent"])
        for _ in range(3)
    ]
    make_inquiry(db, other_store, make_customer(db, other_store), [make_product(db, other_store)])
    key = bearer(make_api_key(db))
    page = client.get(f"/api/v1/inquiries?store={world['store'].slug}&limit=2", headers=key).json()
    assert [i["id"] for i in page["items"]] == [mine[2].id, mine[1].id] and page["next_cursor"]
    rest = client.get(
        f"/api/v1/inquiries?store={world['store'].slug}&limit=2&cursor={page['next_cursor']}", headers=key
    )
    assert [i["id"] for i in rest.json()["items"]] == [mine[0].id] and rest.json()["next_cursor"] is None
    by_agent = client.get(f"/api/v1/inquiries?agent_id={world['agent'].id}", headers=key).json()
    assert len(by_agent["items"]) == 3
    by_customer = client.get(
        f"/api/v1/inquiries?customer_id={world['customer'].id}&status=open", headers=key
    ).json()
    assert len(by_customer["items"]) == 3
    assert client.get("/api/v1/inquiries?status=won", headers=key).json()["items"] == []
    since = (T0 + timedelta(days=1)).isoformat().replace("+00:00", "Z")
    assert client.get(f"/api/v1/inquiries?updated_since={since}", headers=key).json()["items"] == []
    bad = client.get("/api/v1/inquiries?status=maybe", headers=key)
    assert bad.status_code == 422 and "status" in bad.json()["fields"]
    assert client.get("/api/v1/inquiries?store=nope", headers=key).status_code == 404
    assert client.get("/api/v1/inquiries?cursor=zzz", headers=key).status_code == 422


def test_unknown_inquiry_is_json_404(client, db):
    response = client.get("/api/v1/inquiries/999999", headers=bearer(make_api_key(db)))
    assert response.status_code == 404 and response.json()["error"] == "not_found"


def test_round_below_floor_by_api_key_returns_pending_approval(client, db, world):
    inquiry = make_inquiry(db, world["store"], world["customer"], [world["product"]])
    key = bearer(make_api_key(db, scope=Scope.write))
    body = {
        "product_id": world["product"].id,
        "speaker": "agent",
        "offered_price": "160.00",
        "concessions": [{"kind": "free_shipping", "value": "8.00", "note": "包邮"}],
        "note": "最低价了",
        "is_agreed": True,
    }
    response = client.post(f"/api/v1/inquiries/{inquiry.id}/rounds", json=body, headers=key)
    assert response.status_code == 201, response.text
    data = response.json()
    assert data["round"]["seq"] == 1 and data["round"]["effective_price"] == "152.00"
    assert (
        data["round"]["is_agreed"] is False and data["round"]["pending_approval_id"] == data["approval"]["id"]
    )
    assert data["approval"]["status"] == "pending" and data["approval"]["limit_amount"] == "159.00"
    detail = client.get(f"/api/v1/inquiries/{inquiry.id}", headers=key).json()
    assert detail["status"] == "bargaining" and len(detail["pending_approvals"]) == 1
    assert detail["discount_so_far"] == "47.00"  # 199 − 160 + 8


def test_round_within_floor_has_no_approval(client, db, world):
    inquiry = make_inquiry(db, world["store"], world["customer"], [world["product"]])
    key = bearer(make_api_key(db, scope=Scope.write))
    body = {"product_id": world["product"].id, "speaker": "buyer", "offered_price": "150"}
    response = client.post(f"/api/v1/inquiries/{inquiry.id}/rounds", json=body, headers=key)
    assert response.status_code == 201 and response.json()["approval"] is None


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"offered_price": "-1"}, "offered_price"),
        ({"offered_price": 12.5}, "offered_price"),
        ({"offered_price": "1.234"}, "offered_price"),
        ({"speaker": "boss"}, "speaker"),
        ({"product_id": 999999}, "product_id"),
        ({"concessions": [{"kind": "cash", "value": "1"}]}, "concessions.0.kind"),
        ({"concessions": [{"kind": "gift", "value": "-1"}]}, "concessions.0.value"),
    ],
)
def test_round_errors_name_the_field_and_write_nothing(client, db, world, patch, field):
    inquiry = make_inquiry(db, world["store"], world["customer"], [world["product"]])
    key = bearer(make_api_key(db, scope=Scope.write))
    body = {"product_id": world["product"].id, "speaker": "agent", "offered_price": "180"} | patch
    response = client.post(f"/api/v1/inquiries/{inquiry.id}/rounds", json=body, headers=key)
    assert response.status_code == 422, response.text
    assert field in response.json()["fields"]
    assert count(db, BargainRound) == 0


def test_round_on_closed_inquiry_is_409(client, db, world):
    inquiry = make_inquiry(db, world["store"], world["customer"], [world["product"]])
    key = bearer(make_api_key(db, scope=Scope.write))
    assert (
        client.post(f"/api/v1/inquiries/{inquiry.id}/lose", json={"reason": "stock"}, headers=key).status_code
        == 200
    )
    body = {"product_id": world["product"].id, "speaker": "agent", "offered_price": "180"}
    response = client.post(f"/api/v1/inquiries/{inquiry.id}/rounds", json=body, headers=key)
    assert response.status_code == 409 and response.json()["error"] == "conflict"
    assert count(db, BargainRound) == 0


def test_lose_and_its_errors(client, db, world):
    inquiry = make_inquiry(db, world["store"], world["customer"], [world["product"]])
    key = bearer(make_api_key(db, scope=Scope.write))
    bad = client.post(f"/api/v1/inquiries/{inquiry.id}/lose", json={"reason": "bored"}, headers=key)
    assert bad.status_code == 422 and "reason" in bad.json()["fields"]
    ok = client.post(
        f"/api/v1/inquiries/{inquiry.id}/lose",
        json={"reason": "chose_another_shop", "note": "别家便宜"},
        headers=key,
    )
    assert ok.status_code == 200 and ok.json()["status"] == "lost" and ok.json()["lost_note"] == "别家便宜"
    again = client.post(f"/api/v1/inquiries/{inquiry.id}/lose", json={"reason": "price"}, headers=key)
    assert again.status_code == 409 and "lost" in again.json()["detail"]


def test_win_links_the_order_and_checks_it(client, db, world):
    inquiry = make_inquiry(db, world["store"], world["customer"], [world["product"]])
    stranger = make_customer(db, world["store"])
    foreign = place_order(db, world["store"], stranger, [make_product(db, world["store"])], placed_at=T0)
    key = bearer(make_api_key(db, scope=Scope.write))
    missing = client.post(f"/api/v1/inquiries/{inquiry.id}/win", json={"order_id": 999999}, headers=key)
    assert missing.status_code == 422 and "order_id" in missing.json()["fields"]
    no_body = client.post(f"/api/v1/inquiries/{inquiry.id}/win", json={}, headers=key)
    assert no_body.status_code == 422 and "order_id" in no_body.json()["fields"]
    order = place_order(
        db, world["store"], world["customer"], [make_product(db, world["store"])], placed_at=T0
    )
    other = client.post(f"/api/v1/inquiries/{inquiry.id}/win", json={"order_id": foreign.id}, headers=key)
    assert other.status_code == 422 and "order_id" in other.json()["fields"]
    ok = client.post(f"/api/v1/inquiries/{inquiry.id}/win", json={"order_id": order.id}, headers=key)
    assert ok.status_code == 200, ok.text
    assert ok.json()["status"] == "won" and ok.json()["won_order_id"] == order.id
    assert db.get(Inquiry, inquiry.id).status == InquiryStatus.won


def test_openapi_documents_presale_and_audit_with_examples(client):
    spec = client.get("/openapi.json").json()
    for path in (
        "/api/v1/inquiries",
        "/api/v1/inquiries/{inquiry_id}/rounds",
        "/api/v1/approvals",
        "/api/v1/audit-log",
    ):
        assert path in spec["paths"]
    schemas = spec["components"]["schemas"]
    assert schemas["RoundCreate"].get("examples") and schemas["InquiryCreate"].get("examples")
    assert schemas["RoundCreate"]["properties"]["offered_price"]["type"] == "string"
