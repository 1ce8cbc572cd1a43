from app.accounts.models import Scope
from app.integrations import service
from app.integrations.models import StoreSecret
from tests.factories import T0, bearer, make_api_key, make_signed_store
from tests.integrations.conftest import post_shopify, rows

BODY = b'{"id": 1}'


def test_rotation_keeps_old_and_new_valid_until_old_is_retired(client, db):
    store, old = make_signed_store(db, platform="shopify")
    new = service.rotate_secret(db, store, now=T0)
    assert new != old
    assert post_shopify(client, store, old, "carts/update", BODY).status_code == 202
    assert post_shopify(client, store, new, "carts/update", BODY).status_code == 202
    assert service.retire_old_secrets(db, store, now=T0) == 1
    assert post_shopify(client, store, old, "carts/update", BODY).status_code == 401
    assert post_shopify(client, store, new, "carts/update", BODY).status_code == 202


def test_a_third_secret_retires_the_oldest(db):
    store, first = make_signed_store(db, platform="woocommerce")
    second = service.rotate_secret(db, store, now=T0)
    third = service.rotate_secret(db, store, now=T0)
    assert service.active_secret_values(db, store.id) == [third, second]


def test_secrets_are_not_stored_in_clear(db):
    store, secret = make_signed_store(db, platform="shopify")
    stored = rows(db, StoreSecret, store_id=store.id)[0]
    assert secret not in stored.secret_enc and stored.hint == "…" + secret[-4:]


def test_standard_store_needs_a_whsec_secret(client, db):
    admin = make_api_key(db, scope=Scope.admin)
    response = client.post(
        "/api/v1/stores",
        json={"slug": "tmall-bridge", "platform": "standard", "secret": "plain-secret-123"},
        headers=bearer(admin),
    )
    assert response.status_code == 422 and "secret" in response.json()["fields"]
    assert service.get_store_by_slug(db, "tmall-bridge") is None


def test_api_creates_store_shows_secret_once_and_rotates(client, db):
    admin = make_api_key(db, scope=Scope.admin)
    created = client.post(
        "/api/v1/stores",
        json={"slug": "jd-bridge", "platform": "standard", "name": "京东店"},
        headers=bearer(admin),
    )
    assert created.status_code == 201
    secret = created.json()["secret"]
    assert secret.startswith("whsec_")
    settings = client.get("/api/v1/stores/jd-bridge", headers=bearer(admin))
    assert settings.status_code == 200 and secret not in settings.text
    assert settings.json()["auto_confirm_days"] == 10 and len(settings.json()["active_secret_hints"]) == 1
    rotated = client.post("/api/v1/stores/jd-bridge/rotate-secret", json={}, headers=bearer(admin))
    assert rotated.status_code == 200 and rotated.json()["secret"] != secret
    assert len(rotated.json()["store"]["active_secret_hints"]) == 2
    ended = client.post(
        "/api/v1/stores/jd-bridge/rotate-secret", json={"retire_old": True}, headers=bearer(admin)
    )
    assert len(ended.json()["store"]["active_secret_hints"]) == 1


def test_read_key_lists_stores_but_cannot_create_or_read_settings(client, db):
    make_signed_store(db, platform="shopify", slug="listed-shop")
    read = make_api_key(db, scope=Scope.read)
    listed = client.get("/api/v1/stores", headers=bearer(read))
    assert listed.status_code == 200
    item = next(s for s in listed.json()["items"] if s["slug"] == "listed-shop")
    assert "auto_confirm_days" not in item and "secret" not in item
    assert client.get("/api/v1/stores/listed-shop", headers=bearer(read)).status_code == 403
    denied = client.post(
        "/api/v1/stores", json={"slug": "x-shop", "platform": "shopify"}, headers=bearer(read)
    )
    assert denied.status_code == 403


def test_patch_store_settings_names_every_bad_field(client, db):
    store, _ = make_signed_store(db, platform="shopify")
    admin = make_api_key(db, scope=Scope.admin)
    bad = client.patch(
        f"/api/v1/stores/{store.slug}",
        json={"auto_confirm_days": 0, "currency": "XXXX", "timezone": "Mars/Base"},
        headers=bearer(admin),
    )
    assert bad.status_code == 422
    assert {"auto_confirm_days", "currency", "timezone"} <= set(bad.json()["fields"])
    good = client.patch(
        f"/api/v1/stores/{store.slug}",
        json={"auto_confirm_days": 7, "agent_refund_limit": "300.00"},
        headers=bearer(admin),
    )
    assert good.status_code == 200
    assert good.json()["auto_confirm_days"] == 7 and good.json()["agent_refund_limit"] == "300.00"


def test_subscriptions_api_admin_only_with_secret_shown_once(client, db):
    admin = make_api_key(db, scope=Scope.admin)
    write = make_api_key(db, scope=Scope.write)
    body = {"url": "https://im.example.cn/hook", "event_types": ["message.outbound", "case.changed"]}
    assert client.post("/api/v1/webhook-subscriptions", json=body, headers=bearer(write)).status_code == 403
    created = client.post("/api/v1/webhook-subscriptions", json=body, headers=bearer(admin))
    assert created.status_code == 201 and created.json()["secret"].startswith("whsec_")
    listed = client.get("/api/v1/webhook-subscriptions", headers=bearer(admin)).json()
    assert listed["items"][0]["url"] == body["url"] and "secret" not in listed["items"][0]
    bad = client.post(
        "/api/v1/webhook-subscriptions",
        json={"url": "ftp://x", "event_types": ["nope"]},
        headers=bearer(admin),
    )
    assert bad.status_code == 422 and "url" in bad.json()["fields"]
    assert client.get("/api/v1/webhook-deliveries", headers=bearer(admin)).json() == {
        "items": [],
        "next_cursor": None,
    }
