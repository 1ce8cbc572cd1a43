import csv
import io
from decimal import Decimal

import pytest
from sqlmodel import select

from app.accounts.models import Role
from app.audit.models import AuditEntry
from app.audit.service import STOREFRONT
from app.orders import service as orders
from app.presale import service as presale
from tests.factories import login, make_agent, make_customer, make_product, make_store

ROLES = [Role.agent, Role.supervisor, Role.admin]


def _logged_in(client, db, role):
    agent = make_agent(db, role=role)
    db.commit()
    return agent, login(client, agent)


def test_customer_pages_need_login(client):
    assert client.get("/customers", follow_redirects=False).status_code == 303
    assert client.get("/customers/1", follow_redirects=False).status_code == 303
    assert client.get("/customers/export.csv", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("role", ROLES)
def test_customer_list_renders_masked_only_for_agents(client, db, role):
    store = make_store(db)
    make_customer(db, store, nickname="爱喝茶的小王", vip_level=3)
    _logged_in(client, db, role)
    response = client.get(f"/customers?store={store.slug}")
    assert response.status_code == 200 and "爱喝茶的小王" in response.text and "杭州市" in response.text
    if role == Role.agent:
        assert "138****5678" in response.text and "13812345678" not in response.text
    else:
        assert "13812345678" in response.text


def test_customer_list_htmx_returns_only_the_list_partial(client, db):
    store = make_store(db)
    make_customer(db, store, nickname="小王")
    make_customer(db, store, nickname="老李")
    _logged_in(client, db, Role.agent)
    response = client.get(f"/customers?store={store.slug}&q=小王", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="customer-list">')
    assert "小王" in response.text and "老李" not in response.text and "<html" not in response.text


def test_customer_list_pages_with_a_cursor(client, db):
    store = make_store(db)
    made = [make_customer(db, store, nickname=f"买家-{n:02d}") for n in range(55)]
    _logged_in(client, db, Role.agent)
    first = client.get(f"/customers?store={store.slug}")
    assert "买家-54" in first.text and "买家-04" not in first.text and "cursor=" in first.text
    cursor = first.text.split("cursor=", 1)[1].split('"', 1)[0]
    second = client.get(f"/customers?store={store.slug}&cursor={cursor}")
    assert "买家-04" in second.text and "买家-54" not in second.text
    assert len(made) == 55


def test_bad_filter_on_the_list_is_a_422_page(client, db):
    _logged_in(client, db, Role.agent)
    assert client.get("/customers?vip_min=abc").status_code == 422


@pytest.mark.parametrize("role", ROLES)
def test_customer_page_renders_profile_and_orders_for_each_role(client, db, role, now):
    store = make_store(db)
    customer = make_customer(db, store, nickname="爱喝茶的小王", notes="只在晚上回消息")
    item = orders.NewItem(
        product_id=None, sku="LJ-1", title="明前龙井礼盒", quantity=1, unit_price=Decimal("99.00")
    )
    orders.create_order(
        db, store=store, customer=customer, items=[item], placed_at=now, actor=STOREFRONT, now=now
    )
    _logged_in(client, db, role)
    response = client.get(f"/customers/{customer.id}")
    assert response.status_code == 200
    text = response.text
    assert f'id="customer-card-{customer.id}"' in text and "只在晚上回消息" in text
    assert "明前龙井礼盒" in text  # the order card
    if role == Role.agent:
        assert "138****5678" in text and "13812345678" not in text
        assert "文三路" not in text and "西湖区" not in text
    else:
        assert "13812345678" in text and "文三路" in text


def test_missing_customer_page_is_404(client, db):
    _logged_in(client, db, Role.agent)
    assert client.get("/customers/999999").status_code == 404


def test_consent_and_opt_out_buttons_return_the_consent_partial(client, db):
    customer = make_customer(db)
    _, token = _logged_in(client, db, Role.agent)
    headers = {"HX-Request": "true", "X-CSRF-Token": token}
    granted = client.post(f"/customers/{customer.id}/consent", headers=headers)
    assert granted.status_code == 200 and granted.text.startswith('<section id="customer-consent">')
    assert customer.marketing_consent is True
    out = client.post(f"/customers/{customer.id}/opt-out", headers=headers)
    assert out.status_code == 200 and customer.marketing_consent is False and customer.opted_out_at


def test_plain_form_consent_redirects_back_to_the_customer(client, db):
    customer = make_customer(db)
    _, token = _logged_in(client, db, Role.agent)
    response = client.post(
        f"/customers/{customer.id}/consent", data={"csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == f"/customers/{customer.id}"


def test_consent_without_csrf_is_refused(client, db):
    customer = make_customer(db)
    _logged_in(client, db, Role.agent)
    assert client.post(f"/customers/{customer.id}/consent").status_code == 403
    assert customer.marketing_consent is False


def test_profile_form_saves_tags_vip_and_notes(client, db):
    customer = make_customer(db)
    _, token = _logged_in(client, db, Role.agent)
    response = client.post(
        f"/customers/{customer.id}/profile",
        data={"tags": "老客，爱砍价", "vip_level": "2", "notes": "怕苦"},
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    assert response.status_code == 200 and response.text.startswith('<section id="customer-profile">')
    assert customer.tags == ["老客", "爱砍价"] and customer.vip_level == 2 and customer.notes == "怕苦"


def test_profile_form_with_bad_vip_is_422_naming_the_field(client, db):
    customer = make_customer(db)
    _, token = _logged_in(client, db, Role.agent)
    response = client.post(
        f"/customers/{customer.id}/profile",
        data={"tags": "", "vip_level": "12", "notes": ""},
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    assert response.status_code == 422 and "vip_level" in response.text
    assert customer.vip_level == 0


@pytest.mark.parametrize("role", ROLES)
def test_csv_export_is_masked_for_agents_and_audit_logged(client, db, role):
    store = make_store(db)
    make_customer(db, store, nickname="小王", tags=["老客"])
    make_customer(db, store, nickname="老李")
    agent, _ = _logged_in(client, db, role)
    response = client.get(f"/customers/export.csv?store={store.slug}&q=小王")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert [r["nickname"] for r in rows] == ["小王"] and rows[0]["tags"] == "老客"
    if role == Role.agent:
        assert rows[0]["phone"] == "138****5678" and rows[0]["street"] == "****" and rows[0]["district"] == ""
    else:
        assert rows[0]["phone"] == "13812345678" and rows[0]["street"].startswith("文三路")
    entry = db.exec(select(AuditEntry).where(AuditEntry.action == "customers.exported")).one()
    assert entry.actor_id == agent.id and entry.detail["rows"] == 1
    assert entry.detail["masked"] is (role == Role.agent)


def test_customer_page_shows_the_buyers_inquiries(client, db, now):
    store = make_store(db)
    customer = make_customer(db, store)
    product = make_product(db, store, title="武夷大红袍礼盒")
    presale.open_inquiry(
        db, store=store, customer=customer, product_ids=[product.id], question="能便宜点吗", now=now
    )
    _logged_in(client, db, Role.agent)
    response = client.get(f"/customers/{customer.id}")
    assert response.status_code == 200 and "武夷大红袍礼盒" in response.text
