from app.accounts.models import Scope
from tests.factories import bearer, make_api_key


def test_api_without_key_is_401_json(client):
    response = client.get("/api/v1/teams")
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"


def test_api_with_read_key_lists_teams(client, db):
    secret = make_api_key(db, scope=Scope.read)
    response = client.get("/api/v1/teams", headers=bearer(secret))
    assert response.status_code == 200 and isinstance(response.json(), list)


def test_read_key_cannot_manage_api_keys(client, db):
    secret = make_api_key(db, scope=Scope.read)
    response = client.get("/api/v1/api-keys", headers=bearer(secret))
    assert response.status_code == 403
    assert "admin" in response.json()["detail"]


def test_admin_key_creates_and_revokes_keys_secret_shown_once(client, db):
    admin = make_api_key(db, scope=Scope.admin)
    created = client.post("/api/v1/api-keys", json={"name": "bridge", "scope": "read"}, headers=bearer(admin))
    assert created.status_code == 201
    body = created.json()
    assert body["secret"].startswith("hk_")
    listed = client.get("/api/v1/api-keys", headers=bearer(admin)).json()
    assert all("secret" not in k and "key_hash" not in k for k in listed)
    assert client.get("/api/v1/teams", headers=bearer(body["secret"])).status_code == 200
    revoked = client.post(f"/api/v1/api-keys/{body['id']}/revoke", headers=bearer(admin))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    again = client.get("/api/v1/teams", headers=bearer(body["secret"]))
    assert again.status_code == 401 and "revoked" in again.json()["detail"]


def test_validation_error_names_the_field(client, db):
    admin = make_api_key(db, scope=Scope.admin)
    response = client.post("/api/v1/api-keys", json={"name": "", "scope": "root"}, headers=bearer(admin))
    assert response.status_code == 422
    fields = response.json()["fields"]
    assert "name" in fields and "scope" in fields


def test_unknown_api_path_is_json_404(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.json()["error"] == "not_found"
