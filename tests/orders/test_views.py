import pytest

from app.accounts.models import Role
from app.orders.lifecycle import Stage
from tests.factories import login, make_agent
from tests.orders.helpers import make_order


@pytest.mark.parametrize("role", [Role.agent, Role.supervisor, Role.admin])
def test_order_list_and_page_render_for_every_role_with_masking(client, db, role):
    order = make_order(db, stage=Stage.shipped)
    login(client, make_agent(db, role=role))
    listing = client.get("/orders")
    assert listing.status_code == 200 and order.number in listing.text
    page = client.get(f"/orders/{order.id}")
    assert page.status_code == 200 and "已发货" in page.text and 'class="stepper"' in page.text
    if role == Role.agent:
        assert "138****5678" in page.text and "13812345678" not in page.text and "文三路" not in page.text
    else:
        assert "13812345678" in page.text


def test_agent_advances_an_order_with_htmx_and_gets_the_lifecycle_partial(client, db):
    order = make_order(db, stage=Stage.shipped)
    token = login(client, make_agent(db))
    response = client.post(
        f"/orders/{order.id}/advance",
        data={"stage": "delivered", "reason": "买家已签收"},
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith(f'<section id="order-lifecycle-{order.id}"')
    assert order.stage == Stage.delivered


def test_an_invalid_move_is_an_inline_409_and_changes_nothing(client, db):
    order = make_order(db, stage=Stage.ordered)
    token = login(client, make_agent(db))
    response = client.post(
        f"/orders/{order.id}/advance",
        data={"stage": "reviewed"},
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    assert response.status_code == 409 and response.headers["HX-Retarget"] == "#flash"
    assert order.stage == Stage.ordered


def test_advance_without_csrf_is_refused(client, db):
    order = make_order(db, stage=Stage.paid)
    login(client, make_agent(db))
    assert client.post(f"/orders/{order.id}/advance", data={"stage": "shipped"}).status_code == 403
    assert order.stage == Stage.paid


def test_plain_form_shipment_then_delivery_redirects_back(client, db):
    order = make_order(db, stage=Stage.paid)
    token = login(client, make_agent(db))
    response = client.post(
        f"/orders/{order.id}/shipments",
        data={"carrier": "京东物流", "tracking_number": "JDV1", "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == f"/orders/{order.id}"
    assert order.stage == Stage.shipped


def test_order_search_by_number(client, db):
    order = make_order(db)
    login(client, make_agent(db))
    found = client.get(f"/orders?q={order.number}", headers={"HX-Request": "true"})
    assert found.status_code == 200 and order.number in found.text and "<html" not in found.text
    assert client.get("/orders?stage=nope").status_code == 422
