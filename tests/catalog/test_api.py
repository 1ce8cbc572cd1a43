from sqlmodel import select

from app.accounts.models import Scope
from app.audit.models import AuditEntry
from tests.factories import bearer, make_api_key, make_product, make_store


def test_products_need_a_key(client):
    assert client.get("/api/v1/products").status_code == 401


def test_list_products_with_filters_and_cursor(client, db):
    store = make_store(db)
    made = [make_product(db, store) for _ in range(3)]
    key = bearer(make_api_key(db, scope=Scope.read))
    first = client.get(f"/api/v1/products?store={store.slug}&limit=2", headers=key).json()
    assert [p["id"] for p in first["items"]] == [made[2].id, made[1].id]
    assert first["items"][0]["list_price"] == "199.00" and first["items"][0]["floor_price"] == "159.00"
    rest = client.get(
        f"/api/v1/products?store={store.slug}&cursor={first['next_cursor']}", headers=key
    ).json()
    assert [p["id"] for p in rest["items"]] == [made[0].id] and rest["next_cursor"] is None
    one = client.get(f"/api/v1/products/{made[0].id}", headers=key)
    assert one.status_code == 200 and one.json()["sku"] == made[0].sku
    assert client.get("/api/v1/products/999999", headers=key).status_code == 404


def test_create_product_needs_write_scope_and_validates(client, db):
    store = make_store(db)
    read, write = make_api_key(db, scope=Scope.read), make_api_key(db, scope=Scope.write)
    db.commit()
    body = {
        "store": store.slug,
        "sku": "LJ-1",
        "title": "明前龙井",
        "list_price": "398.00",
        "floor_price": "338.00",
    }
    assert client.post("/api/v1/products", json=body, headers=bearer(read)).status_code == 403
    created = client.post("/api/v1/products", json=body, headers=bearer(write))
    assert created.status_code == 201 and created.json()["floor_price"] == "338.00"
    assert client.post("/api/v1/products", json=body, headers=bearer(write)).status_code == 409
    above = client.post(
        "/api/v1/products", json=body | {"sku": "LJ-2", "floor_price": "399.00"}, headers=bearer(write)
    )
    assert above.status_code == 422 and "floor_price" in above.json()["fields"]
    negative = client.post(
        "/api/v1/products", json=body | {"sku": "LJ-3", "list_price": "-5"}, headers=bearer(write)
    )
    assert negative.status_code == 422 and "list_price" in negative.json()["fields"]
    as_float = client.post(
        "/api/v1/products", json=body | {"sku": "LJ-4", "list_price": 398.5}, headers=bearer(write)
    )
    assert as_float.status_code == 422 and "list_price" in as_float.json()["fields"]
    currency = client.post(
        "/api/v1/products", json=body | {"sku": "LJ-5", "currency": "ABC"}, headers=bearer(write)
    )
    assert currency.status_code == 422 and "currency" in currency.json()["fields"]


def test_patch_product_audits_a_new_floor(client, db):
    product = make_product(db)
    write = make_api_key(db, scope=Scope.write)
    read = make_api_key(db, scope=Scope.read)
    db.commit()
    response = client.patch(
        f"/api/v1/products/{product.id}", json={"floor_price": "150.00"}, headers=bearer(write)
    )
    assert response.status_code == 200 and response.json()["floor_price"] == "150.00"
    entry = db.exec(select(AuditEntry).where(AuditEntry.action == "catalog.floor_price_changed")).one()
    assert entry.actor_type == "api_key" and entry.detail["old_floor_price"] == "159.00"
    refused = client.patch(f"/api/v1/products/{product.id}", json={"title": "x"}, headers=bearer(read))
    assert refused.status_code == 403
    bad = client.patch(f"/api/v1/products/{product.id}", json={"list_price": "100.00"}, headers=bearer(write))
    assert bad.status_code == 422 and "floor_price" in bad.json()["fields"]


def test_openapi_documents_product_endpoints(client):
    spec = client.get("/openapi.json").json()
    assert {"get", "post"} <= set(spec["paths"]["/api/v1/products"])
    assert {"get", "patch"} <= set(spec["paths"]["/api/v1/products/{product_id}"])
    assert spec["components"]["schemas"]["ProductCreate"]["examples"]
