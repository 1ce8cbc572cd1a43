"""Inputs that once slipped past validation: each now gets a clear 4xx, never a 500."""

from decimal import Decimal

import pytest

from app.accounts.models import Role, Scope
from app.aftersales import refunds
from app.aftersales.lifecycle import CaseKind, CaseState
from app.audit import service as audit
from app.audit.models import ApprovalStatus
from app.audit.service import Actor
from app.errors import InvalidInput
from app.money import parse_money
from app.orders.lifecycle import Stage
from tests.aftersales.helpers import make_case, walk
from tests.factories import bearer, csrf_from, login, make_agent, make_api_key, make_store
from tests.orders.helpers import make_order


@pytest.mark.parametrize("value", ["1e30", "1E+40", "-1e30", "Infinity", "12345678901.00"])
def test_money_with_an_exponent_or_too_large_is_invalid_input(value):
    with pytest.raises(InvalidInput):
        parse_money(value)


def test_money_with_an_exponent_through_the_api_is_422(client, db):
    store = make_store(db)
    body = {"store": store.slug, "sku": "X1", "title": "茶", "list_price": "1e30", "floor_price": "1.00"}
    response = client.post("/api/v1/products", json=body, headers=bearer(make_api_key(db, scope=Scope.write)))
    assert response.status_code == 422


def test_an_id_beyond_what_the_database_stores_is_422_not_500(client, db):
    login(client, make_agent(db))
    assert client.get("/customers/99999999999999999999999").status_code == 422
    read = bearer(make_api_key(db))
    assert client.get("/api/v1/orders/99999999999999999999999", headers=read).status_code == 422


def test_unicode_digits_in_a_number_filter_are_refused_cleanly(client, db):
    login(client, make_agent(db))
    assert client.get("/customers?vip_min=²").status_code == 422


def test_login_refuses_a_backslash_redirect(client, db):
    agent = make_agent(db)
    token = csrf_from(client)
    response = client.post(
        "/login",
        data={
            "username": agent.username,
            "password": "correct horse battery",
            "csrf_token": token,
            "next": "/\\evil.example",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


def test_splitting_a_refund_over_several_cases_still_needs_a_supervisor(db, now):
    order = make_order(db, stage=Stage.delivered, quantity=5)  # 995.00, agent limit 200.00
    agent = Actor.agent(make_agent(db))
    first = make_case(
        db, order=order, kind=CaseKind.refund_only, requested_amount=Decimal("150.00"), actor=agent
    )
    walk(db, first, CaseState.approved, actor=agent)
    refunds.refund(db, first, amount=Decimal("150.00"), actor=agent, now=now)
    assert order.refunded_amount == Decimal("150.00")
    second = make_case(
        db, order=order, kind=CaseKind.refund_only, requested_amount=Decimal("150.00"), actor=agent
    )
    walk(db, second, CaseState.approved, actor=agent)
    refunds.refund(db, second, amount=Decimal("150.00"), actor=agent, now=now)
    assert order.refunded_amount == Decimal("150.00")  # waits for a supervisor
    assert refunds.pending_approval(db, second) is not None


def test_an_approval_for_a_case_that_moved_on_is_recorded_without_an_error(db, now):
    order = make_order(db, stage=Stage.delivered, quantity=5)
    agent = Actor.agent(make_agent(db))
    case = make_case(
        db, order=order, kind=CaseKind.refund_only, requested_amount=Decimal("500.00"), actor=agent
    )
    walk(db, case, CaseState.approved, actor=agent)
    refunds.refund(db, case, amount=Decimal("500.00"), actor=agent, now=now)
    approval = refunds.pending_approval(db, case)
    supervisor = make_agent(db, role=Role.supervisor)
    # Meanwhile the storefront refunded the whole order itself.
    from app.orders import service as orders

    orders.record_refund(db, order, amount=order.total, actor=audit.STOREFRONT, reason="platform", now=now)
    audit.decide(db, approval, approve=True, decided_by=supervisor, now=now)
    assert approval.status == ApprovalStatus.approved and order.refunded_amount == order.total
