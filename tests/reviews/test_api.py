import pytest

from app.accounts.models import Scope
from app.orders.lifecycle import Stage
from app.reviews.models import Review
from tests.factories import bearer, count, make_api_key, make_customer
from tests.orders.helpers import make_order


@pytest.fixture
def write(db):
    return bearer(make_api_key(db, scope=Scope.write))


@pytest.fixture
def read(db):
    return bearer(make_api_key(db, scope=Scope.read))


def _body(db, order, **overrides):
    from app.integrations.models import Store

    return {
        "store": db.get(Store, order.store_id).slug,
        "customer_id": order.customer_id,
        "order_id": order.id,
        "external_id": "rv-77",
        "rating": 5,
        "text": "茶香很正，包装也用心，回购了！",
        "posted_at": "2026-11-20T08:30:00Z",
    } | overrides


def test_post_read_list_and_followup(client, db, write, read):
    order = make_order(db, stage=Stage.delivered)
    created = client.post("/api/v1/reviews", json=_body(db, order), headers=write)
    assert created.status_code == 201, created.text
    review = created.json()
    assert review["grade"] == "good" and review["needs_bad_review_ticket"] is False
    assert order.stage == Stage.reviewed
    again = client.post("/api/v1/reviews", json=_body(db, order, text="补充：客服很耐心"), headers=write)
    assert again.json()["id"] == review["id"] and count(db, Review, order_id=order.id) == 1
    assert client.get(f"/api/v1/reviews/{review['id']}", headers=read).json()["text"] == "补充：客服很耐心"
    followup = client.post(
        f"/api/v1/reviews/{review['id']}/followup",
        json={"text": "喝了一个月，回甘很好", "at": "2026-12-20T08:00:00Z"},
        headers=write,
    )
    assert followup.status_code == 200 and followup.json()["followup_text"] == "喝了一个月，回甘很好"
    twice = client.post(f"/api/v1/reviews/{review['id']}/followup", json={"text": "再追"}, headers=write)
    assert twice.status_code == 409 and twice.json()["error"] == "conflict"


def test_list_filters_and_cursor(client, db, write, read):
    order = make_order(db, stage=Stage.delivered)
    other = make_order(db, stage=Stage.delivered)
    ids = [
        client.post(
            "/api/v1/reviews", json=_body(db, o, external_id=f"rv-{n}", rating=r), headers=write
        ).json()["id"]
        for n, (o, r) in enumerate([(order, 5), (other, 1), (order, 3)])
    ]
    bad = client.get("/api/v1/reviews?grade=bad", headers=read).json()["items"]
    assert [r["id"] for r in bad] == [ids[1]] and bad[0]["needs_bad_review_ticket"] is True
    low = client.get("/api/v1/reviews?rating_max=3", headers=read).json()["items"]
    assert [r["id"] for r in low] == [ids[2], ids[1]]
    mine = client.get(f"/api/v1/reviews?customer_id={order.customer_id}&limit=1", headers=read).json()
    assert [r["id"] for r in mine["items"]] == [ids[2]] and mine["next_cursor"]
    rest = client.get(
        f"/api/v1/reviews?customer_id={order.customer_id}&limit=1&cursor={mine['next_cursor']}", headers=read
    ).json()
    assert [r["id"] for r in rest["items"]] == [ids[0]]
    by_order = client.get(
        f"/api/v1/reviews?order_id={other.id}&posted_since=2026-11-01T00:00:00Z", headers=read
    )
    assert [r["id"] for r in by_order.json()["items"]] == [ids[1]]
    assert client.get("/api/v1/reviews?grade=meh", headers=read).status_code == 422
    assert client.get("/api/v1/reviews?rating_max=9", headers=read).status_code == 422
    assert client.get("/api/v1/reviews?store=nope", headers=read).status_code == 404


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"rating": 0}, "rating"),
        ({"rating": 6}, "rating"),
        ({"grade": "meh"}, "grade"),
        ({"order_id": 999_999}, "order_id"),
        ({"customer_id": 999_999}, "customer_id"),
    ],
)
def test_bad_input_is_422_naming_the_field(client, db, write, overrides, field):
    order = make_order(db, stage=Stage.delivered)
    response = client.post("/api/v1/reviews", json=_body(db, order, **overrides), headers=write)
    assert response.status_code == 422 and field in response.json()["fields"], response.text
    assert count(db, Review) == 0


def test_someone_elses_order_is_422(client, db, write):
    order = make_order(db, stage=Stage.delivered)
    from app.integrations.models import Store

    stranger = make_customer(db, store=db.get(Store, order.store_id))
    response = client.post("/api/v1/reviews", json=_body(db, order, customer_id=stranger.id), headers=write)
    assert response.status_code == 422 and "order_id" in response.json()["fields"]


def test_scopes_and_missing(client, db, read):
    order = make_order(db, stage=Stage.delivered)
    assert client.post("/api/v1/reviews", json=_body(db, order), headers=read).status_code == 403
    assert client.post("/api/v1/reviews", json=_body(db, order)).status_code == 401
    assert client.post("/api/v1/reviews/1/followup", json={"text": "x"}, headers=read).status_code == 403
    assert client.get("/api/v1/reviews").status_code == 401
    assert client.get("/api/v1/reviews/999999", headers=read).status_code == 404


def test_openapi_documents_the_review_endpoints(client):
    spec = client.get("/openapi.json").json()
    for path in ("/api/v1/reviews", "/api/v1/reviews/{review_id}", "/api/v1/reviews/{review_id}/followup"):
        assert path in spec["paths"]
    assert spec["components"]["schemas"]["ReviewCreate"]["examples"]
    assert spec["components"]["schemas"]["FollowupIn"]["examples"]
