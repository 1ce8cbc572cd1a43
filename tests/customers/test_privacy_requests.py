"""A buyer's PIPL / GDPR requests from the UI and the API: export (JSON, CSV) and erasure."""

import csv
import io
import json

import pytest
from sqlmodel import select

from app.accounts.models import Role, Scope
from app.audit.models import AuditEntry
from app.customers.models import Customer
from app.reviews.models import Grade, Review
from app.tickets.models import MessageDirection, Ticket, TicketKind, TicketMessage
from tests.factories import T0, bearer, login, make_agent, make_api_key, make_customer, make_store
from tests.orders.helpers import make_order


def _buyer_with_history(db):
    store = make_store(db)
    customer = make_customer(db, store, nickname="爱喝茶的小王")
    order = make_order(db, store=store, customer=customer)
    ticket = Ticket(
        kind=TicketKind.buyer_message,
        customer_id=customer.id,
        order_id=order.id,
        subject="物流问题",
        created_at=T0,
        updated_at=T0,
    )
    db.add(ticket)
    db.flush()
    for direction, body in (
        (MessageDirection.inbound, "我的电话是13812345678，快递到了吗"),
        (MessageDirection.outbound, "亲，已经帮您查询了"),
        (MessageDirection.note, "买家很着急"),
    ):
        db.add(TicketMessage(ticket_id=ticket.id, direction=direction, body=body, created_at=T0))
    db.add(
        Review(
            store_id=store.id,
            order_id=order.id,
            customer_id=customer.id,
            rating=5,
            grade=Grade.good,
            text="茶很香，包装好",
            posted_at=T0,
            created_at=T0,
            updated_at=T0,
        )
    )
    db.commit()
    return customer, order, ticket


def _audit(db, action, customer):
    return db.exec(
        select(AuditEntry).where(AuditEntry.action == action, AuditEntry.subject_id == customer.id)
    ).all()


def test_admin_key_exports_the_whole_buyer_as_json_and_csv(client, db):
    customer, order, _ = _buyer_with_history(db)
    key = make_api_key(db, Scope.admin)
    db.commit()
    response = client.get(f"/api/v1/customers/{customer.id}/export", headers=bearer(key))
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    document = response.json()
    assert document["customer"]["phone"] == "13812345678"  # whole: this is the buyer's own copy
    assert document["orders"][0]["id"] == order.id
    messages = document["tickets"][0]["messages"]
    assert [m["direction"] for m in messages] == ["inbound", "outbound"]  # internal notes stay the shop's
    assert document["reviews"][0]["text"] == "茶很香，包装好"

    response = client.get(f"/api/v1/customers/{customer.id}/export?format=csv", headers=bearer(key))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert {"section": "customer", "record": "1", "field": "phone", "value": "13812345678"} in rows
    assert any(r["section"] == "tickets.messages" and "快递到了吗" in r["value"] for r in rows)
    assert len(_audit(db, "customer.exported", customer)) == 2


@pytest.mark.parametrize("scope", [Scope.read, Scope.write])
def test_export_and_erase_need_an_admin_key(client, db, scope):
    customer, _, _ = _buyer_with_history(db)
    key = make_api_key(db, scope)
    db.commit()
    assert client.get(f"/api/v1/customers/{customer.id}/export", headers=bearer(key)).status_code == 403
    assert client.post(f"/api/v1/customers/{customer.id}/erase", headers=bearer(key)).status_code == 403
    db.refresh(customer)
    assert customer.erased_at is None and not _audit(db, "customer.exported", customer)


def test_unknown_format_or_customer_is_a_clear_4xx(client, db):
    customer, _, _ = _buyer_with_history(db)
    key = make_api_key(db, Scope.admin)
    db.commit()
    response = client.get(f"/api/v1/customers/{customer.id}/export?format=xml", headers=bearer(key))
    assert response.status_code == 422
    assert client.get("/api/v1/customers/999999/export", headers=bearer(key)).status_code == 404
    assert client.post("/api/v1/customers/999999/erase", headers=bearer(key)).status_code == 404


def test_api_erase_scrubs_fields_and_texts_keeps_aggregates(client, db):
    customer, order, ticket = _buyer_with_history(db)
    orders_before = customer.orders_count
    key = make_api_key(db, Scope.admin)
    db.commit()
    response = client.post(f"/api/v1/customers/{customer.id}/erase", headers=bearer(key))
    assert response.status_code == 200 and response.json()["phone"] == ""
    db.expire_all()
    customer = db.get(Customer, customer.id)
    assert customer.erased_at is not None and customer.phone == "" and customer.nickname.startswith("erased-")
    assert customer.orders_count == orders_before
    bodies = db.exec(select(TicketMessage.body).where(TicketMessage.ticket_id == ticket.id)).all()
    assert bodies and set(bodies) == {"[erased]"}
    review = db.exec(select(Review).where(Review.customer_id == customer.id)).one()
    assert review.text == "" and review.rating == 5  # the rating still counts in 好评率
    assert len(_audit(db, "customer.erased", customer)) == 1
    export = client.get(f"/api/v1/customers/{customer.id}/export", headers=bearer(key)).json()
    assert "13812345678" not in json.dumps(export, ensure_ascii=False)


def test_agents_may_neither_export_nor_erase_in_the_ui(client, db):
    customer, _, _ = _buyer_with_history(db)
    agent = make_agent(db, role=Role.agent)
    db.commit()
    token = login(client, agent)
    page = client.get(f"/customers/{customer.id}")
    assert page.status_code == 200 and "/erase" not in page.text
    assert client.get(f"/customers/{customer.id}/export").status_code == 403
    response = client.post(f"/customers/{customer.id}/erase", data={"csrf_token": token, "confirm": "yes"})
    assert response.status_code == 403
    db.refresh(customer)
    assert customer.erased_at is None


def test_supervisor_exports_and_erases_with_confirmation(client, db):
    customer, _, _ = _buyer_with_history(db)
    supervisor = make_agent(db, role=Role.supervisor)
    db.commit()
    token = login(client, supervisor)
    page = client.get(f"/customers/{customer.id}")
    assert f"/customers/{customer.id}/erase" in page.text
    download = client.get(f"/customers/{customer.id}/export?format=csv")
    assert download.status_code == 200 and "attachment" in download.headers["content-disposition"]

    unconfirmed = client.post(f"/customers/{customer.id}/erase", data={"csrf_token": token})
    assert unconfirmed.status_code == 422 and "confirm" in unconfirmed.text
    no_csrf = client.post(f"/customers/{customer.id}/erase", data={"confirm": "yes"})
    assert no_csrf.status_code == 403
    db.refresh(customer)
    assert customer.erased_at is None

    done = client.post(
        f"/customers/{customer.id}/erase",
        data={"csrf_token": token, "confirm": "yes"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    db.refresh(customer)
    assert customer.erased_at is not None and customer.phone == ""
    entry = _audit(db, "customer.erased", customer)[0]
    assert entry.actor_id == supervisor.id
    assert "13812345678" not in client.get(f"/customers/{customer.id}").text
