from decimal import Decimal

import pytest

from app.accounts.models import Scope
from app.aftersales.lifecycle import CaseKind, CaseState
from app.aftersales.models import AftersalesCase
from app.orders.lifecycle import Stage
from tests.factories import bearer, count, make_api_key
from tests.orders.helpers import make_order


@pytest.fixture
def write(db):
    return bearer(make_api_key(db, scope=Scope.write))


@pytest.fixture
def read(db):
    return bearer(make_api_key(db, scope=Scope.read))


def _open(client, headers, order, **overrides):
    body = {
        "order_id": order.id,
        "kind": "return_refund",
        "reason": "damaged_in_transit",
        "description": "收到时外包装破损",
        "requested_amount": "199.00",
    } | overrides
    return client.post("/api/v1/cases", json=body, headers=headers)


def _to_return_received(client, headers, case_id):
    for state in ("approved", "awaiting_return", "return_received"):
        assert (
            client.post(f"/api/v1/cases/{case_id}/move", json={"to": state}, headers=headers).status_code
            == 200
        )


def test_open_read_and_list_a_case(client, db, write, read):
    order = make_order(db, stage=Stage.delivered)
    created = _open(client, write, order)
    assert created.status_code == 201, created.text
    case = created.json()
    assert case["state"] == "requested" and case["allowed_next"] == ["approved", "rejected"]
    assert case["requested_amount"] == "199.00" and case["currency"] == "CNY"
    assert case["recommendation"] == "shop_takes_responsibility" and case["recommendation_text"]
    assert case["respond_by_at"] and case["order_number"] == order.number
    assert [h["to_state"] for h in case["history"]] == ["requested"]
    one = client.get(f"/api/v1/cases/{case['id']}", headers=read).json()
    assert one["id"] == case["id"] and len(one["history"]) == 1
    listed = client.get(f"/api/v1/cases?order_id={order.id}", headers=read).json()
    assert [c["id"] for c in listed["items"]] == [case["id"]] and listed["items"][0]["history"] is None


def test_list_filters_and_cursor(client, db, write, read):
    order = make_order(db, stage=Stage.delivered, unit_price=Decimal("500.00"))
    ids = [
        _open(client, write, order, kind=kind, requested_amount="0").json()["id"]
        for kind in ("exchange", "resend", "exchange")
    ]
    page = client.get(f"/api/v1/cases?order_id={order.id}&limit=2", headers=read).json()
    assert [c["id"] for c in page["items"]] == ids[:0:-1] and page["next_cursor"]
    rest = client.get(f"/api/v1/cases?order_id={order.id}&limit=2&cursor={page['next_cursor']}", headers=read)
    assert [c["id"] for c in rest.json()["items"]] == [ids[0]]
    exchanges = client.get(
        f"/api/v1/cases?kind=exchange&customer_id={order.customer_id}", headers=read
    ).json()
    assert sorted(c["id"] for c in exchanges["items"]) == [ids[0], ids[2]]
    assert client.get("/api/v1/cases?state=approved&store=nope", headers=read).status_code == 404
    bad = client.get("/api/v1/cases?state=teleported", headers=read)
    assert bad.status_code == 422 and "state" in bad.json()["fields"]
    assert client.get("/api/v1/cases?updated_since=2026-11-11T00:00:00Z", headers=read).status_code == 200


def test_unpaid_order_is_409_and_nothing_is_written(client, db, write):
    order = make_order(db, stage=Stage.ordered)
    response = _open(client, write, order)
    assert response.status_code == 409 and response.json()["error"] == "conflict"
    assert "paid order" in response.json()["detail"]
    assert count(db, AftersalesCase, order_id=order.id) == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"requested_amount": "199.01"}, "requested_amount"),
        ({"requested_amount": "-1"}, "requested_amount"),
        ({"requested_amount": 12.5}, "requested_amount"),
        ({"kind": "swap"}, "kind"),
        ({"reason": "bored"}, "reason"),
        ({"order_id": 999_999}, "order_id"),
    ],
)
def test_bad_input_is_422_naming_the_field(client, db, write, overrides, field):
    order = make_order(db, stage=Stage.delivered)
    response = _open(client, write, order, **overrides)
    assert response.status_code == 422 and field in response.json()["fields"], response.text
    assert count(db, AftersalesCase, order_id=order.id) == 0


def test_scopes_are_enforced(client, db, read):
    order = make_order(db, stage=Stage.delivered)
    assert _open(client, read, order).status_code == 403
    assert _open(client, {}, order).status_code == 401
    assert client.get("/api/v1/cases").status_code == 401
    assert client.post("/api/v1/cases/1/move", json={"to": "approved"}, headers=read).status_code == 403
    assert client.post("/api/v1/cases/1/refund", json={"amount": "1.00"}, headers=read).status_code == 403


def test_move_and_invalid_move(client, db, write):
    case_id = _open(client, write, make_order(db, stage=Stage.delivered)).json()["id"]
    moved = client.post(
        f"/api/v1/cases/{case_id}/move", json={"to": "approved", "note": "同意"}, headers=write
    )
    assert moved.status_code == 200 and moved.json()["state"] == "approved"
    assert moved.json()["history"][-1]["note"] == "同意"
    wrong = client.post(f"/api/v1/cases/{case_id}/move", json={"to": "closed"}, headers=write)
    assert wrong.status_code == 409 and "Allowed next: awaiting_return" in wrong.json()["detail"]
    unknown = client.post(f"/api/v1/cases/{case_id}/move", json={"to": "nope"}, headers=write)
    assert unknown.status_code == 422 and "to" in unknown.json()["fields"]
    assert client.post("/api/v1/cases/999999/move", json={"to": "approved"}, headers=write).status_code == 404
    assert client.get("/api/v1/cases/999999", headers=write).status_code == 404


def test_write_key_refund_above_the_limit_waits_for_approval(client, db, write):
    order = make_order(db, stage=Stage.delivered, unit_price=Decimal("399.00"))
    case_id = _open(client, write, order, requested_amount="399.00").json()["id"]
    _to_return_received(client, write, case_id)
    response = client.post(f"/api/v1/cases/{case_id}/refund", json={"amount": "399.00"}, headers=write)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["state"] == "return_received" and body["pending_approval"]["amount"] == "399.00"
    assert body["pending_approval"]["limit_amount"] == "200.00" and order.refunded_amount == 0


def test_admin_key_refunds_above_the_limit_directly(client, db, write):
    admin = bearer(make_api_key(db, scope=Scope.admin))
    order = make_order(db, stage=Stage.delivered, unit_price=Decimal("399.00"))
    case_id = _open(client, write, order, requested_amount="399.00").json()["id"]
    _to_return_received(client, write, case_id)
    response = client.post(f"/api/v1/cases/{case_id}/refund", json={"amount": "399.00"}, headers=admin)
    assert response.status_code == 200 and response.json()["state"] == CaseState.refunded
    assert response.json()["refunded_amount"] == "399.00"
    db.refresh(order)
    assert order.stage == Stage.refunded


def test_refund_errors(client, db, write):
    order = make_order(db, stage=Stage.delivered, unit_price=Decimal("99.00"))
    case_id = _open(client, write, order, kind=CaseKind.refund_only, requested_amount="99.00").json()["id"]
    early = client.post(f"/api/v1/cases/{case_id}/refund", json={"amount": "10.00"}, headers=write)
    assert early.status_code == 409 and "Allowed next: approved, rejected" in early.json()["detail"]
    client.post(f"/api/v1/cases/{case_id}/move", json={"to": "approved"}, headers=write)
    too_much = client.post(f"/api/v1/cases/{case_id}/refund", json={"amount": "99.01"}, headers=write)
    assert too_much.status_code == 422 and "amount" in too_much.json()["fields"]
    ok = client.post(f"/api/v1/cases/{case_id}/refund", json={"amount": "99.00"}, headers=write)
    assert ok.status_code == 200 and ok.json()["state"] == "refunded"


def test_openapi_documents_the_case_endpoints_with_examples(client):
    spec = client.get("/openapi.json").json()
    for path in (
        "/api/v1/cases",
        "/api/v1/cases/{case_id}",
        "/api/v1/cases/{case_id}/move",
        "/api/v1/cases/{case_id}/refund",
    ):
        assert path in spec["paths"]
    schemas = spec["components"]["schemas"]
    assert schemas["CaseCreate"]["examples"] and schemas["CaseRead"]["examples"]
    assert schemas["MoveIn"]["examples"] and schemas["CaseRefundIn"]["examples"]
