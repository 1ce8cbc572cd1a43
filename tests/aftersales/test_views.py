from datetime import timedelta
from decimal import Decimal

import pytest

from app.accounts.models import Role
from app.aftersales.lifecycle import CaseKind, CaseState
from app.aftersales.models import AftersalesCase
from app.audit.service import Actor
from app.orders.lifecycle import Stage
from app.web import templates
from tests.aftersales.helpers import make_case, walk
from tests.factories import T0, count, login, make_agent
from tests.orders.helpers import make_order


@pytest.mark.parametrize("role", [Role.agent, Role.supervisor, Role.admin])
def test_case_list_and_page_render_for_every_role_with_masking(client, db, role):
    case = make_case(db, reason="seven_day_no_reason")
    login(client, make_agent(db, role=role))
    listing = client.get("/cases")
    assert listing.status_code == 200 and f'id="case-row-{case.id}"' in listing.text
    page = client.get(f"/cases/{case.id}")
    assert page.status_code == 200
    text = page.text
    assert f'id="case-card-{case.id}"' in text and f'id="case-actions-{case.id}"' in text
    assert "完好" in text and f'href="/orders/{case.order_id}"' in text
    if role == Role.agent:
        assert "138****5678" in text and "13812345678" not in text and "文三路" not in text
    else:
        assert "13812345678" in text


def test_the_list_puts_overdue_cases_first_and_filters(client, db):
    fresh = make_case(db, now=T0 + timedelta(days=3650))
    late = make_case(db, now=T0)
    login(client, make_agent(db))
    text = client.get("/cases").text
    assert text.index(f"case-row-{late.id}") < text.index(f"case-row-{fresh.id}")
    partial = client.get("/cases?kind=exchange", headers={"HX-Request": "true"})
    assert (
        partial.text.lstrip().startswith('<div id="case-rows"') and f"case-row-{late.id}" not in partial.text
    )
    assert client.get("/cases?state=nope").status_code == 422


def test_agent_moves_a_case_with_htmx_and_gets_the_actions_partial(client, db):
    case = make_case(db)
    token = login(client, make_agent(db))
    response = client.post(
        f"/cases/{case.id}/move",
        data={"to": "approved", "note": "同意退货"},
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    assert response.status_code == 200, response.text
    assert response.text.lstrip().startswith(f'<section id="case-actions-{case.id}"')
    assert case.state == CaseState.approved and "同意退货" in response.text


def test_an_invalid_move_is_an_inline_409(client, db):
    case = make_case(db)
    token = login(client, make_agent(db))
    response = client.post(
        f"/cases/{case.id}/move", data={"to": "closed"}, headers={"HX-Request": "true", "X-CSRF-Token": token}
    )
    assert response.status_code == 409 and response.headers["HX-Retarget"] == "#flash"
    assert case.state == CaseState.requested


def test_move_without_csrf_is_refused(client, db):
    case = make_case(db)
    login(client, make_agent(db))
    assert client.post(f"/cases/{case.id}/move", data={"to": "approved"}).status_code == 403
    assert case.state == CaseState.requested


def test_agent_refund_above_the_limit_shows_the_pending_approval(client, db):
    agent = make_agent(db)
    order = make_order(db, stage=Stage.delivered, unit_price=Decimal("399.00"))
    case = make_case(db, order=order, requested_amount=Decimal("399.00"), actor=Actor.agent(agent))
    walk(db, case, CaseState.return_received, actor=Actor.agent(agent))
    token = login(client, agent)
    response = client.post(
        f"/cases/{case.id}/refund",
        data={"amount": "399.00", "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == f"/cases/{case.id}"
    page = client.get(f"/cases/{case.id}").text
    assert "refund-form" not in page and "399.00" in page
    assert case.state == CaseState.return_received and order.refunded_amount == 0


def test_agent_refund_below_the_limit_with_htmx(client, db):
    agent = make_agent(db)
    order = make_order(db, stage=Stage.delivered, unit_price=Decimal("99.00"))
    case = make_case(
        db,
        order=order,
        kind=CaseKind.refund_only,
        requested_amount=Decimal("99.00"),
        actor=Actor.agent(agent),
    )
    walk(db, case, CaseState.approved, actor=Actor.agent(agent))
    token = login(client, agent)
    response = client.post(
        f"/cases/{case.id}/refund",
        data={"amount": "99.00"},
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    assert response.status_code == 200 and case.state == CaseState.refunded
    assert order.stage == Stage.refunded
    bad = client.post(
        f"/cases/{case.id}/refund",
        data={"amount": "abc"},
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    assert bad.status_code in (409, 422)


def test_opening_a_case_from_the_order_page(client, db):
    order = make_order(db, stage=Stage.delivered)
    token = login(client, make_agent(db))
    response = client.post(
        f"/orders/{order.id}/cases",
        data={
            "kind": "exchange",
            "reason": "size_fit",
            "description": "尺码偏小想换大一号",
            "requested_amount": "",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    case = db.get(AftersalesCase, int(response.headers["location"].rsplit("/", 1)[1]))
    assert case.kind == CaseKind.exchange and case.recommendation == "approve_exchange"
    unpaid = make_order(db, stage=Stage.ordered)
    refused = client.post(
        f"/orders/{unpaid.id}/cases", data={"kind": "exchange", "reason": "size_fit", "csrf_token": token}
    )
    assert refused.status_code == 409 and count(db, AftersalesCase, order_id=unpaid.id) == 0
    over = client.post(
        f"/orders/{order.id}/cases",
        data={"kind": "refund_only", "reason": "quality", "requested_amount": "9999", "csrf_token": token},
    )
    assert over.status_code == 422


def test_the_open_case_form_partial_posts_to_the_order(db):
    order = make_order(db, stage=Stage.delivered)
    html = templates.env.get_template("aftersales/_open_case_form.html").render(order=order, csrf_token="tok")
    assert html.lstrip().startswith(f'<details id="open-case-form-{order.id}"')
    assert f'action="/orders/{order.id}/cases"' in html and 'value="tok"' in html
    for value in (
        "return_refund",
        "exchange",
        "refund_only",
        "resend",
        "price_adjustment",
        "seven_day_no_reason",
    ):
        assert f'value="{value}"' in html


def test_the_customer_page_shows_the_case_card(client, db):
    case = make_case(db)
    login(client, make_agent(db))
    page = client.get(f"/customers/{case.customer_id}")
    assert page.status_code == 200 and f'id="case-card-{case.id}"' in page.text
