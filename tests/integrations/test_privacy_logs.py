"""Logs never hold a buyer's phone number, address or message text — not in request lines, not in
processing errors, not in a database error's message."""

import logging

import pytest
import sqlalchemy as sa

from app.accounts.models import Role, Scope
from app.customers.models import Customer
from tests.factories import (
    bearer,
    login,
    make_agent,
    make_api_key,
    make_customer,
    make_signed_store,
    make_store,
)
from tests.integrations.conftest import fixture_bytes, post_shopify, post_standard, process

PHONE = "13955501234"
STREET = "文三路 477 号"
MESSAGE = "我家门口有只黄狗，快递放门卫就行"
SECRETS = (PHONE, STREET, MESSAGE, "555-625-1199", "Chestnut Street", "bob.norman@hostmail.com")


def _buyer_event(kind: str, data: dict) -> dict:
    return {"type": kind, "timestamp": "2026-11-11T00:01:00+08:00", "data": data}


def test_a_database_error_does_not_carry_the_values_it_was_writing(db):
    store = make_store(db)
    make_customer(db, store, external_id="dup-1", phone=PHONE)
    with pytest.raises(sa.exc.IntegrityError) as caught, db.begin_nested():
        db.add(
            Customer(
                store_id=store.id,
                external_id="dup-1",
                nickname="同一个人",
                phone=PHONE,
                street=STREET,
                created_at=store.created_at,
                updated_at=store.created_at,
            )
        )
        db.flush()
    assert PHONE not in str(caught.value) and STREET not in str(caught.value)


def test_webhooks_pages_and_api_log_no_buyer_data(client, db, now, caplog):
    caplog.set_level(logging.DEBUG)
    shop, shop_secret = make_signed_store(db, platform="shopify")
    standard, standard_secret = make_signed_store(db, platform="standard")
    buyer = {"id": "tb-log-1", "nickname": "小黄", "phone": PHONE, "street": STREET}
    # Accepted, malformed and failing deliveries, all carrying buyer data.
    post_shopify(
        client, shop, shop_secret, "orders/create", fixture_bytes("shopify_rest_order_fixture_1.json")
    )
    post_shopify(client, shop, shop_secret, "orders/create", b'{"phone": "' + PHONE.encode() + b'", ')
    post_standard(client, standard, standard_secret, _buyer_event("message.received", {
        "id": "m-log-1", "customer": buyer, "text": MESSAGE,
    }))  # fmt: skip
    post_standard(client, standard, standard_secret, _buyer_event("inquiry.created", {
        "id": "i-log-1", "customer": buyer, "skus": ["NO-SUCH-SKU"], "question": MESSAGE,
    }))  # fmt: skip
    process(db, now)
    customer = db.exec(sa.select(Customer).where(Customer.external_id == "tb-log-1")).scalar_one()

    agent = make_agent(db, role=Role.agent)
    key = make_api_key(db, Scope.admin)
    db.commit()
    login(client, agent)
    assert client.get(f"/customers/{customer.id}").status_code == 200
    assert client.get(f"/customers?q={PHONE}").status_code == 200  # a search for a phone number
    assert client.get(f"/api/v1/customers/{customer.id}", headers=bearer(key)).status_code == 200

    # The test's own HTTP client (httpx) logs the URLs it requests; those lines are not the server's.
    records = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    logged = "\n".join(f"{r.getMessage()} {r.__dict__!r} {r.exc_text or ''}" for r in records)
    assert records, "the flow wrote no log records at all: the assertion below would prove nothing"
    for secret in SECRETS:
        assert secret not in logged, secret
