from decimal import Decimal

import pytest
from sqlmodel import select

from app.accounts.models import Role
from app.audit.models import AuditEntry
from tests.factories import login, make_agent, make_product, make_store


def _logged_in(client, db, role):
    agent = make_agent(db, role=role)
    db.commit()
    return agent, login(client, agent)


def test_catalog_needs_login(client):
    assert client.get("/catalog", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("role", [Role.agent, Role.supervisor, Role.admin])
def test_catalog_renders_for_every_role_editable_only_for_supervisors(client, db, role):
    store = make_store(db)
    product = make_product(db, store, title="明前龙井礼盒")
    _logged_in(client, db, role)
    response = client.get(f"/catalog?store={store.slug}")
    assert response.status_code == 200 and "明前龙井礼盒" in response.text
    editable = f'id="product-form-{product.id}"' in response.text
    assert editable is (role != Role.agent)


def test_catalog_htmx_filter_returns_the_list_partial(client, db):
    store = make_store(db)
    make_product(db, store, title="紫砂壶", category="茶具")
    make_product(db, store, title="龙井", category="绿茶")
    _logged_in(client, db, Role.agent)
    response = client.get(f"/catalog?store={store.slug}&category=茶具", headers={"HX-Request": "true"})
    assert response.text.lstrip().startswith('<div id="product-list">')
    assert "紫砂壶" in response.text and "龙井" not in response.text


def test_supervisor_edits_floor_inline_and_it_is_audit_logged(client, db):
    product = make_product(db)
    supervisor, token = _logged_in(client, db, Role.supervisor)
    response = client.post(
        f"/catalog/{product.id}",
        data={"list_price": "219.00", "floor_price": "169.00", "care_tips": "冷藏保存"},
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    assert response.status_code == 200 and response.text.startswith(f'<tr id="product-{product.id}">')
    assert (product.list_price, product.floor_price) == (Decimal("219.00"), Decimal("169.00"))
    entry = db.exec(select(AuditEntry).where(AuditEntry.action == "catalog.floor_price_changed")).one()
    assert entry.actor_id == supervisor.id and entry.amount == Decimal("169.00")
    assert entry.detail["old_floor_price"] == "159.00"


def test_plain_form_edit_redirects_to_the_catalog(client, db):
    product = make_product(db)
    _, token = _logged_in(client, db, Role.admin)
    response = client.post(
        f"/catalog/{product.id}",
        data={"list_price": "199.00", "floor_price": "150.00", "care_tips": "", "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/catalog"


def test_agents_cannot_edit_prices(client, db):
    product = make_product(db)
    _, token = _logged_in(client, db, Role.agent)
    response = client.post(
        f"/catalog/{product.id}",
        data={"list_price": "1.00", "floor_price": "1.00"},
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    assert response.status_code == 403 and product.floor_price == Decimal("159.00")
    assert db.exec(select(AuditEntry).where(AuditEntry.subject_id == product.id)).first() is None


def test_floor_above_list_price_in_the_form_is_422_naming_the_field(client, db):
    product = make_product(db)
    _, token = _logged_in(client, db, Role.supervisor)
    response = client.post(
        f"/catalog/{product.id}",
        data={"list_price": "100.00", "floor_price": "120.00"},
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    assert response.status_code == 422 and "floor_price" in response.text
    assert product.floor_price == Decimal("159.00")
