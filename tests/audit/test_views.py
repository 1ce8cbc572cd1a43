import pytest

from app.accounts.models import Role
from app.audit.models import ApprovalStatus
from tests.factories import T0, login, make_agent


def test_agents_cannot_open_approvals_or_the_audit_log(client, db, pending):
    login(client, make_agent(db))
    assert client.get("/approvals").status_code == 403
    assert client.get("/settings/audit").status_code == 403


def test_agent_cannot_post_a_decision(client, db, pending):
    token = login(client, make_agent(db))
    response = client.post(f"/approvals/{pending.approval.id}/approve", data={"csrf_token": token})
    assert response.status_code == 403 and pending.approval.status == ApprovalStatus.pending


@pytest.mark.parametrize("role", [Role.supervisor, Role.admin])
def test_supervisor_sees_the_queue_and_approves(client, db, pending, role):
    token = login(client, make_agent(db, role=role))
    page = client.get("/approvals")
    assert page.status_code == 200 and f'id="approval-{pending.approval.id}"' in page.text
    assert "¥150.00" in page.text and "¥159.00" in page.text
    assert f'href="/inquiries/by-round/{pending.round.id}"' in page.text
    response = client.post(
        f"/approvals/{pending.approval.id}/approve",
        data={"csrf_token": token, "note": "可以"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/approvals"
    assert pending.approval.status == ApprovalStatus.approved and pending.round.is_agreed is True
    again = client.post(f"/approvals/{pending.approval.id}/reject", data={"csrf_token": token})
    assert again.status_code == 409


def test_supervisor_rejects(client, db, pending):
    token = login(client, make_agent(db, role=Role.supervisor))
    response = client.post(
        f"/approvals/{pending.approval.id}/reject", data={"csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303 and pending.approval.status == ApprovalStatus.rejected
    assert f'id="approval-{pending.approval.id}"' in client.get("/approvals?status=rejected").text
    assert f'id="approval-{pending.approval.id}"' not in client.get("/approvals").text


def test_supervisor_cannot_decide_own_request_from_the_page(client, db):
    boss = make_agent(db, role=Role.supervisor)
    from decimal import Decimal as D

    from app.audit import service as audit

    approval = audit.request_approval(
        db,
        kind="price_below_floor",
        subject_type="bargain_round",
        subject_id=1,
        amount=D("1"),
        limit_amount=D("2"),
        currency="CNY",
        reason="",
        requested_by_id=boss.id,
        now=T0,
    )
    token = login(client, boss)
    assert f'id="decide-{approval.id}"' not in client.get("/approvals").text
    assert client.post(f"/approvals/{approval.id}/approve", data={"csrf_token": token}).status_code == 403


@pytest.mark.parametrize("role", [Role.supervisor, Role.admin])
def test_audit_log_page_lists_and_filters(client, db, pending, role):
    login(client, make_agent(db, role=role))
    page = client.get("/settings/audit")
    assert page.status_code == 200 and "approval.requested.price_below_floor" in page.text
    assert "presale.inquiry.bargaining" in page.text
    filtered = client.get("/settings/audit?action=approval.&subject_id=abc").text
    assert "approval.requested.price_below_floor" in filtered and "presale.inquiry.bargaining" not in filtered
