from app.accounts.models import Role
from app.integrations import service
from app.integrations.models import InboxMessage
from tests.factories import login, make_agent, make_signed_store
from tests.integrations.conftest import one, post_shopify


def test_agent_cannot_open_store_settings(client, db):
    login(client, make_agent(db))
    assert client.get("/settings/stores").status_code == 403
    assert client.get("/settings/webhooks").status_code == 403


def test_admin_creates_store_and_sees_secret_once(client, db):
    csrf = login(client, make_agent(db, role=Role.admin))
    response = client.post(
        "/settings/stores",
        data={"slug": "tea-house", "platform": "woocommerce", "name": "茶舍", "csrf_token": csrf},
    )
    assert response.status_code == 201
    store = service.get_store_by_slug(db, "tea-house")
    secret = service.active_secret_values(db, store.id)[0]
    assert secret in response.text
    again = client.get("/settings/stores")
    assert again.status_code == 200 and "tea-house" in again.text and secret not in again.text


def test_admin_rotates_secret_on_store_page_and_edits_settings(client, db):
    store, old = make_signed_store(db, platform="shopify")
    csrf = login(client, make_agent(db, role=Role.admin))
    rotated = client.post(f"/settings/stores/{store.slug}/rotate", data={"csrf_token": csrf})
    assert rotated.status_code == 201
    assert len(service.active_secret_values(db, store.id)) == 2
    saved = client.post(
        f"/settings/stores/{store.slug}",
        data={"auto_confirm_days": "7", "name": store.name, "csrf_token": csrf},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    db.refresh(store)
    assert store.auto_confirm_days == 7
    bad = client.post(f"/settings/stores/{store.slug}", data={"auto_confirm_days": "0", "csrf_token": csrf})
    assert bad.status_code == 422


def test_inbox_page_filters_and_shows_one_delivery(client, db, now):
    store, secret = make_signed_store(db, platform="shopify")
    post_shopify(client, store, secret, "orders/create", b'{"id": 1, "line_items": []}')
    post_shopify(client, store, secret, "carts/create", b'{"id": 2}')
    csrf = login(client, make_agent(db, role=Role.admin))
    page = client.get("/settings/webhooks", params={"topic": "carts/create"}, headers={"HX-Request": "true"})
    assert page.status_code == 200 and page.text.lstrip().startswith('<div id="inbox">')
    assert "carts/create" in page.text and "orders/create" not in page.text
    message = one(db, InboxMessage, topic="orders/create")
    detail = client.get(f"/settings/webhooks/inbox/{message.id}")
    assert detail.status_code == 200 and "x-shopify-topic" in detail.text
    replayed = client.post(
        f"/settings/webhooks/inbox/{message.id}/replay", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert replayed.status_code == 303
    db.refresh(message)
    assert message.attempts == 1 and message.status in ("failed", "processed")


def test_admin_adds_subscription_and_sees_its_log(client, db):
    csrf = login(client, make_agent(db, role=Role.admin))
    response = client.post(
        "/settings/webhooks/subscriptions",
        data={"url": "https://bridge.example.cn/hook", "event_types": ["case.changed"], "csrf_token": csrf},
    )
    assert response.status_code == 201 and "whsec_" in response.text
    listing = client.get("/settings/webhooks")
    assert "bridge.example.cn" in listing.text and "whsec_" not in listing.text
