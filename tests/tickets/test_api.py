"""The tickets JSON API: keys and scopes, filters and cursor, masking, replies and notes, 422s."""

from app.accounts.models import Scope
from app.tickets import service
from app.tickets.models import TicketMessage, TicketStatus
from tests.factories import bearer, count, make_agent, make_api_key, make_customer
from tests.orders.helpers import make_order
from tests.tickets.helpers import buyer_says, make_ticket


def test_the_api_needs_a_key_and_writes_need_write_scope(client, db):
    ticket = make_ticket(db)
    read = bearer(make_api_key(db, scope=Scope.read))
    db.commit()
    assert client.get("/api/v1/tickets").status_code == 401
    response = client.post(f"/api/v1/tickets/{ticket.id}/messages", json={"body": "hi"}, headers=read)
    assert response.status_code == 403 and response.json()["error"] == "forbidden"
    response = client.post(
        "/api/v1/tickets", json={"customer_id": ticket.customer_id, "subject": "x", "body": "y"}, headers=read
    )
    assert response.status_code == 403


def test_list_filters_and_pages_newest_first(client, db):
    customer = make_customer(db)
    older = make_ticket(db, customer=customer, kind="revisit")
    newer = make_ticket(db, customer=customer, kind="payment_reminder")
    elsewhere = make_ticket(db, kind="revisit")
    service.solve(db, elsewhere, agent=None, now=elsewhere.created_at)
    key = bearer(make_api_key(db, scope=Scope.read))
    db.commit()
    first = client.get(f"/api/v1/tickets?customer_id={customer.id}&limit=1", headers=key).json()
    assert [t["id"] for t in first["items"]] == [newer.id]
    second = client.get(
        f"/api/v1/tickets?customer_id={customer.id}&limit=1&cursor={first['next_cursor']}", headers=key
    ).json()
    assert [t["id"] for t in second["items"]] == [older.id] and second["next_cursor"] is None
    revisits = client.get("/api/v1/tickets?kind=revisit&status=open", headers=key).json()["items"]
    assert older.id in {t["id"] for t in revisits} and elsewhere.id not in {t["id"] for t in revisits}
    item = first["items"][0]
    assert item["status"] == "open" and item["priority"] == "normal" and item["due_at"].endswith("Z")


def test_list_filter_errors_name_the_field(client, db):
    key = bearer(make_api_key(db, scope=Scope.read))
    db.commit()
    for query, field in [
        ("status=lost", "status"),
        ("kind=gossip", "kind"),
        ("assignee_id=0", "assignee_id"),
        ("cursor=garbage", "cursor"),
        ("limit=500", "limit"),
    ]:
        response = client.get(f"/api/v1/tickets?{query}", headers=key)
        assert response.status_code == 422, query
        assert field in response.json()["fields"], query


def test_read_one_with_messages_and_the_customer_masked_by_scope(client, db):
    customer = make_customer(db)
    message = buyer_says(db, customer, "什么时候发货？", external_id="m-9")
    read_key, admin_key = make_api_key(db, scope=Scope.read), make_api_key(db, scope=Scope.admin)
    db.commit()
    read = client.get(f"/api/v1/tickets/{message.ticket_id}", headers=bearer(read_key)).json()
    assert [m["body"] for m in read["messages"]] == ["什么时候发货？"]
    assert read["messages"][0]["direction"] == "inbound" and read["messages"][0]["external_id"] == "m-9"
    assert read["customer"]["phone"] == "138****5678" and read["customer"]["masked"] is True
    admin = client.get(f"/api/v1/tickets/{message.ticket_id}", headers=bearer(admin_key)).json()
    assert admin["customer"]["phone"] == "13812345678"
    missing = client.get("/api/v1/tickets/999999", headers=bearer(read_key))
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


def test_post_a_reply_and_a_note(client, db):
    ticket = make_ticket(db)
    agent = make_agent(db)
    key = bearer(make_api_key(db, scope=Scope.write))
    db.commit()
    response = client.post(
        f"/api/v1/tickets/{ticket.id}/messages",
        json={"type": "reply", "body": "亲，已为您催促仓库", "agent_id": agent.id, "then_status": "pending"},
        headers=key,
    )
    assert response.status_code == 201, response.text
    reply = response.json()
    assert (reply["direction"], reply["channel"], reply["delivery_status"]) == ("outbound", "manual", "sent")
    assert reply["author_id"] == agent.id
    note = client.post(
        f"/api/v1/tickets/{ticket.id}/messages", json={"type": "note", "body": "买家很急"}, headers=key
    )
    assert note.status_code == 201 and note.json()["direction"] == "note"
    db.refresh(ticket)
    assert ticket.status == TicketStatus.pending and ticket.first_response_at is not None


def test_message_errors_are_422_with_fields_and_write_nothing(client, db):
    ticket = make_ticket(db)
    key = bearer(make_api_key(db, scope=Scope.write))
    db.commit()
    for payload, field in [
        ({"body": "   "}, "body"),
        ({"body": "x", "type": "shout"}, "type"),
        ({"body": "x", "channel": "webhook"}, "channel"),
        ({"body": "x", "agent_id": 999999}, "agent_id"),
        ({"body": "x", "then_status": "snoozed"}, "then_status"),
    ]:
        response = client.post(f"/api/v1/tickets/{ticket.id}/messages", json=payload, headers=key)
        assert response.status_code == 422, payload
        assert field in response.json()["fields"], payload
    assert count(db, TicketMessage, ticket_id=ticket.id, direction="outbound") == 0
    assert client.post("/api/v1/tickets/999999/messages", json={"body": "x"}, headers=key).status_code == 404


def test_open_a_ticket_or_join_the_active_one(client, db):
    order = make_order(db)
    key = bearer(make_api_key(db, scope=Scope.write))
    db.commit()
    payload = {
        "customer_id": order.customer_id,
        "kind": "aftersales",
        "subject": "茶叶罐有凹痕",
        "body": "买家发了照片，想换一罐",
        "priority": "high",
        "order_id": order.id,
    }
    created = client.post("/api/v1/tickets", json=payload, headers=key)
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["kind"], body["priority"], body["order_id"]) == ("aftersales", "high", order.id)
    again = client.post("/api/v1/tickets", json=payload | {"body": "又来问了"}, headers=key)
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    assert count(db, TicketMessage, ticket_id=body["id"], direction="note") == 2


def test_open_ticket_errors_are_422_with_fields(client, db):
    customer = make_customer(db)
    other_order = make_order(db)
    key = bearer(make_api_key(db, scope=Scope.write))
    db.commit()
    base = {"customer_id": customer.id, "subject": "x", "body": "y"}
    for payload, field in [
        (base | {"customer_id": 999999}, "customer_id"),
        (base | {"kind": "gossip"}, "kind"),
        (base | {"priority": "asap"}, "priority"),
        (base | {"subject": ""}, "subject"),
        (base | {"body": "  "}, "body"),
        (base | {"order_id": other_order.id}, "order_id"),
        (base | {"team": "没有这个组"}, "team"),
    ]:
        response = client.post("/api/v1/tickets", json=payload, headers=key)
        assert response.status_code == 422, payload
        assert field in response.json()["fields"], payload
