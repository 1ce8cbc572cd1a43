from decimal import Decimal as D

import pytest

from app.accounts.models import Role, Scope
from app.audit import service as audit
from app.audit.models import ApprovalStatus
from tests.factories import T0, bearer, make_agent, make_api_key


def test_list_approvals_with_a_read_key_and_status_filter(client, db, pending):
    key = bearer(make_api_key(db, scope=Scope.read))
    data = client.get("/api/v1/approvals?status=pending", headers=key).json()
    assert [a["id"] for a in data["items"]] == [pending.approval.id]
    assert data["items"][0]["amount"] == "150.00" and data["items"][0]["kind"] == "price_below_floor"
    assert client.get("/api/v1/approvals?status=approved", headers=key).json()["items"] == []
    bad = client.get("/api/v1/approvals?status=maybe", headers=key)
    assert bad.status_code == 422 and "status" in bad.json()["fields"]
    assert client.get("/api/v1/approvals").status_code == 401


@pytest.mark.parametrize("scope", [Scope.read, Scope.write])
def test_only_admin_keys_decide(client, db, pending, scope):
    key = bearer(make_api_key(db, scope=scope))
    response = client.post(f"/api/v1/approvals/{pending.approval.id}/approve", json={}, headers=key)
    assert response.status_code == 403 and "admin" in response.json()["detail"]
    assert pending.approval.status == ApprovalStatus.pending


def test_admin_key_approves_once_and_the_agreed_price_stands(client, db, pending):
    key = bearer(make_api_key(db, scope=Scope.admin))
    response = client.post(
        f"/api/v1/approvals/{pending.approval.id}/approve", json={"note": "同意"}, headers=key
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "approved" and body["decision_note"] == "同意" and body["decided_by_id"] is None
    assert pending.round.is_agreed is True
    again = client.post(f"/api/v1/approvals/{pending.approval.id}/reject", headers=key)
    assert again.status_code == 409 and "approved" in again.json()["detail"]
    entry = audit.entries_for(db, "bargain_round", pending.round.id)[-1]
    assert entry.action == "approval.approved.price_below_floor" and entry.actor_type == "api_key"


def test_admin_key_rejects_without_a_body(client, db, pending):
    key = bearer(make_api_key(db, scope=Scope.admin))
    response = client.post(f"/api/v1/approvals/{pending.approval.id}/reject", headers=key)
    assert response.status_code == 200 and response.json()["status"] == "rejected"
    assert pending.round.is_agreed is False


def test_decide_unknown_approval_is_404_and_long_note_is_422(client, db, pending):
    key = bearer(make_api_key(db, scope=Scope.admin))
    assert client.post("/api/v1/approvals/999999/approve", headers=key).status_code == 404
    long = client.post(
        f"/api/v1/approvals/{pending.approval.id}/approve", json={"note": "x" * 501}, headers=key
    )
    assert long.status_code == 422 and "note" in long.json()["fields"]


def test_audit_log_is_admin_only_and_filterable(client, db, pending):
    boss = make_agent(db, role=Role.supervisor)
    audit.decide(db, pending.approval, approve=True, decided_by=boss, now=T0)
    audit.record(
        db,
        action="customer.exported",
        actor=audit.Actor.agent(boss),
        subject_type="customer",
        subject_id=1,
        now=T0,
    )
    assert (
        client.get("/api/v1/audit-log", headers=bearer(make_api_key(db, scope=Scope.write))).status_code
        == 403
    )
    key = bearer(make_api_key(db, scope=Scope.admin))
    everything = client.get("/api/v1/audit-log", headers=key).json()["items"]
    assert everything[0]["action"] == "customer.exported"  # newest first
    approvals = client.get("/api/v1/audit-log?action=approval.", headers=key).json()["items"]
    assert {e["action"] for e in approvals} == {
        "approval.requested.price_below_floor",
        "approval.approved.price_below_floor",
    }
    assert approvals[0]["amount"] == "150.00"
    url = f"/api/v1/audit-log?subject_type=bargain_round&subject_id={pending.round.id}&limit=1"
    page = client.get(url, headers=key).json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = client.get(f"{url}&cursor={page['next_cursor']}", headers=key).json()
    assert len(rest["items"]) == 1 and rest["items"][0]["id"] < page["items"][0]["id"]


def test_request_approval_by_api_key_names_the_key(db):
    key_actor = audit.Actor("api_key", 42)
    approval = audit.request_approval(
        db,
        kind="refund_over_limit",
        subject_type="aftersales_case",
        subject_id=9,
        amount=D("300"),
        limit_amount=D("200"),
        currency="CNY",
        reason="",
        requested_by_id=None,
        actor=key_actor,
        now=T0,
    )
    entry = audit.entries_for(db, "aftersales_case", 9)[0]
    assert (entry.actor_type, entry.actor_id) == ("api_key", 42) and approval.status == ApprovalStatus.pending
