from app.accounts.models import Scope
from app.customers.models import Customer
from tests.factories import bearer, make_api_key, make_customer, make_store


def test_list_requires_a_key(client):
    response = client.get("/api/v1/customers")
    assert response.status_code == 401 and response.json()["error"] == "not_authenticated"


def test_read_key_lists_masked_customers_with_filters_and_cursor(client, db):
    store = make_store(db)
    made = [make_customer(db, store, vip_level=n) for n in range(4)]
    make_customer(db)  # another store
    key = bearer(make_api_key(db, scope=Scope.read))
    first = client.get(f"/api/v1/customers?store={store.slug}&limit=2", headers=key).json()
    assert [c["id"] for c in first["items"]] == [made[3].id, made[2].id]
    assert first["items"][0]["phone"] == "138****5678" and first["items"][0]["masked"] is True
    assert first["items"][0]["total_spent"] == "0.00"
    second = client.get(
        f"/api/v1/customers?store={store.slug}&limit=2&cursor={first['next_cursor']}", headers=key
    ).json()
    assert [c["id"] for c in second["items"]] == [made[1].id, made[0].id] and second["next_cursor"] is None
    vip = client.get(f"/api/v1/customers?store={store.slug}&vip_min=2", headers=key).json()
    assert [c["id"] for c in vip["items"]] == [made[3].id, made[2].id]
    q = client.get(f"/api/v1/customers?q={made[1].external_id}", headers=key).json()
    assert [c["id"] for c in q["items"]] == [made[1].id]
    since = client.get(
        f"/api/v1/customers?store={store.slug}&updated_since=2030-01-01T00:00:00", headers=key
    ).json()
    assert since["items"] == []


def test_list_filter_errors_name_the_field(client, db):
    key = bearer(make_api_key(db, scope=Scope.read))
    db.commit()  # an error response rolls back the request's work, not the test's setup
    for query, field in [
        ("store=nope", "store"),
        ("vip_min=12", "vip_min"),
        ("cursor=garbage", "cursor"),
        ("limit=0", "limit"),
        ("updated_since=yesterday", "updated_since"),
    ]:
        response = client.get(f"/api/v1/customers?{query}", headers=key)
        assert response.status_code == 422, query
        assert field in response.json()["fields"], query


def test_read_one_masked_for_read_key_whole_for_admin_key(client, db):
    customer = make_customer(db)
    read_key, admin_key = make_api_key(db, scope=Scope.read), make_api_key(db, scope=Scope.admin)
    db.commit()
    read = client.get(f"/api/v1/customers/{customer.id}", headers=bearer(read_key))
    assert read.json()["phone"] == "138****5678" and read.json()["address"] == "浙江省杭州市"
    admin = client.get(f"/api/v1/customers/{customer.id}", headers=bearer(admin_key))
    assert admin.json()["phone"] == "13812345678" and admin.json()["street"] == customer.street
    missing = client.get("/api/v1/customers/999999", headers=bearer(read_key))
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


def test_create_needs_write_scope(client, db):
    store = make_store(db)
    body = {"store": store.slug, "nickname": "小王"}
    read_key, write_key = make_api_key(db, scope=Scope.read), make_api_key(db, scope=Scope.write)
    db.commit()
    read = client.post("/api/v1/customers", json=body, headers=bearer(read_key))
    assert read.status_code == 403
    write = client.post("/api/v1/customers", json=body, headers=bearer(write_key))
    assert write.status_code == 201 and write.json()["nickname"] == "小王"


def test_create_returns_masked_record_and_conflicts_on_duplicate_external_id(client, db):
    store = make_store(db)
    key = bearer(make_api_key(db, scope=Scope.write))
    db.commit()
    body = {
        "store": store.slug,
        "nickname": "小王",
        "external_id": "tb-9",
        "phone": "13900001111",
        "tags": ["老客"],
    }
    created = client.post("/api/v1/customers", json=body, headers=key)
    assert created.status_code == 201
    assert created.json()["phone"] == "139****1111" and created.json()["tags"] == ["老客"]
    assert db.get(Customer, created.json()["id"]).phone == "13900001111"
    again = client.post("/api/v1/customers", json=body, headers=key)
    assert again.status_code == 409 and again.json()["error"] == "conflict"


def test_create_with_bad_input_names_every_field(client, db):
    key = bearer(make_api_key(db, scope=Scope.write))
    store = make_store(db)
    db.commit()  # an error response rolls back the request's work, not the test's setup
    bad = client.post(
        "/api/v1/customers",
        json={"store": store.slug, "nickname": "x", "phone": "call me", "email": "nope", "vip_level": 42},
        headers=key,
    )
    assert bad.status_code == 422 and set(bad.json()["fields"]) == {"phone", "email", "vip_level"}
    unknown_store = client.post("/api/v1/customers", json={"store": "nope", "nickname": "x"}, headers=key)
    assert unknown_store.status_code == 422 and "store" in unknown_store.json()["fields"]
    missing = client.post("/api/v1/customers", json={"store": store.slug}, headers=key)
    assert missing.status_code == 422 and "nickname" in missing.json()["fields"]
    wrong_type = client.post(
        "/api/v1/customers", json={"store": store.slug, "nickname": "x", "vip_level": "high"}, headers=key
    )
    assert wrong_type.status_code == 422 and "vip_level" in wrong_type.json()["fields"]


def test_patch_changes_only_sent_fields(client, db):
    customer = make_customer(db, notes="keep me")
    key = bearer(make_api_key(db, scope=Scope.admin))
    read_key = bearer(make_api_key(db, scope=Scope.read))
    db.commit()
    response = client.patch(
        f"/api/v1/customers/{customer.id}", json={"vip_level": 4, "tags": ["爱砍价"]}, headers=key
    )
    assert response.status_code == 200
    assert response.json()["vip_level"] == 4 and response.json()["notes"] == "keep me"
    assert response.json()["tags"] == ["爱砍价"]
    bad = client.patch(f"/api/v1/customers/{customer.id}", json={"email": "x"}, headers=key)
    assert bad.status_code == 422 and "email" in bad.json()["fields"]
    read_only = client.patch(f"/api/v1/customers/{customer.id}", json={"notes": "x"}, headers=read_key)
    assert read_only.status_code == 403


def test_consent_and_opt_out_endpoints(client, db):
    customer = make_customer(db)
    key = bearer(make_api_key(db, scope=Scope.write))
    read_key = bearer(make_api_key(db, scope=Scope.read))
    db.commit()
    granted = client.post(f"/api/v1/customers/{customer.id}/consent", headers=key).json()
    assert granted["marketing_consent"] is True and granted["consent_at"]
    out = client.post(f"/api/v1/customers/{customer.id}/opt-out", headers=key).json()
    assert (
        out["marketing_consent"] is False
        and out["opted_out_at"]
        and out["consent_at"] == granted["consent_at"]
    )
    forbidden = client.post(f"/api/v1/customers/{customer.id}/consent", headers=read_key)
    assert forbidden.status_code == 403
    missing = client.post("/api/v1/customers/999999/opt-out", headers=key)
    assert missing.status_code == 404


def test_openapi_documents_customer_endpoints_with_examples(client):
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/customers"])
    assert {"get", "patch"} <= set(paths["/api/v1/customers/{customer_id}"])
    assert (
        "/api/v1/customers/{customer_id}/consent" in paths
        and "/api/v1/customers/{customer_id}/opt-out" in paths
    )
    assert spec["components"]["schemas"]["CustomerCreate"]["examples"]
    assert spec["components"]["schemas"]["CustomerRead"]["examples"]
