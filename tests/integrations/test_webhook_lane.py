"""The webhook routes are answered by `WebhookLane` before FastAPI routes the request: the same
code, dependencies and error handlers as the routes, without the routing and dependency solving.
Anything the routes would refuse on their path or method still goes on to them."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from app.integrations.models import InboxMessage, InboxStatus
from app.integrations.webhooks import background_processor, in_thread, ingester
from tests.factories import make_signed_store
from tests.integrations.conftest import fixture_bytes, one, post_shopify, shopify_headers

ORDER = "shopify_rest_order_fixture_1.json"


def _count_routed(monkeypatch) -> list[str]:
    routed: list[str] = []
    handle = APIRoute.handle

    async def counting(self, scope, receive, send):
        routed.append(self.path)
        await handle(self, scope, receive, send)

    monkeypatch.setattr(APIRoute, "handle", counting)
    return routed


def test_a_delivery_is_stored_and_answered_without_routing_with_the_request_context(
    app, client, db, monkeypatch
):
    routed = _count_routed(monkeypatch)
    handed: list[int] = []
    app.dependency_overrides[background_processor] = lambda: handed.append
    store, secret = make_signed_store(db, platform="shopify")
    body = fixture_bytes(ORDER)

    response = post_shopify(client, store, secret, "orders/create", body, webhook_id="lane-1")

    assert response.status_code == 200 and response.json()["status"] == "received"
    assert routed == []  # no route handled it
    assert handed == [response.json()["id"]]  # handed to the processor after the response
    assert one(db, InboxMessage, id=response.json()["id"]).status == InboxStatus.received
    # The request context outside the lane still marks the answer.
    assert response.headers["X-Request-ID"] and response.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/healthz").status_code == 200 and routed == ["/healthz"]


def test_what_the_lane_does_not_take_goes_on_to_the_routes(app, client, db, monkeypatch):
    routed = _count_routed(monkeypatch)
    store, secret = make_signed_store(db, platform="shopify")
    body = fixture_bytes(ORDER)
    long_slug = "s" * 65  # longer than a slug may be: the route's own validation answers

    too_long = client.post(
        f"/webhooks/shopify/{long_slug}", content=body, headers=shopify_headers(secret, body, "orders/create")
    )
    assert too_long.status_code == 422
    assert routed == ["/webhooks/shopify/{store_slug}"]
    assert client.get(f"/webhooks/shopify/{store.slug}").status_code == 405
    assert client.post(f"/webhooks/magento/{store.slug}", content=body).status_code == 404


def test_errors_are_answered_by_the_apps_handlers_as_from_the_route(app, db):
    store, secret = make_signed_store(db, platform="shopify")
    body = fixture_bytes(ORDER)
    failure: list[BaseException] = []

    def ingest(**_values):
        raise failure[0]

    app.dependency_overrides[ingester] = lambda: in_thread(ingest)
    app.dependency_overrides[background_processor] = lambda: None

    class Odd(Exception):
        pass

    def sync_handler(_request, exc):  # an app may register plain functions too
        return JSONResponse({"error": "odd", "detail": str(exc)}, status_code=409)

    app.add_exception_handler(Odd, sync_handler)  # before serving, as the app registers its own
    with TestClient(app, raise_server_exceptions=False) as client:
        failure[:] = [sa.exc.OperationalError("INSERT", None, Exception("the server closed the connection"))]
        gone = post_shopify(client, store, secret, "orders/create", body)
        assert gone.status_code == 503
        assert gone.json()["detail"] == "The database is unavailable; try again shortly."

        failure[:] = [RuntimeError("a bug")]
        crashed = post_shopify(client, store, secret, "orders/create", body)
        assert crashed.status_code == 500 and crashed.json()["error"] == "internal_error"
        assert crashed.headers["X-Request-ID"]

        failure[:] = [Odd("handled in a thread")]
        odd = post_shopify(client, store, secret, "orders/create", body)
        assert odd.status_code == 409 and odd.json() == {"error": "odd", "detail": "handled in a thread"}
    assert db.scalar(sa.select(sa.func.count()).select_from(InboxMessage)) == 0


def test_behind_a_proxy_serving_the_app_under_a_root_path_deliveries_take_the_lane(app, db, monkeypatch):
    routed = _count_routed(monkeypatch)
    store, secret = make_signed_store(db, platform="shopify")
    body = fixture_bytes(ORDER)
    app.dependency_overrides[ingester] = lambda: in_thread(lambda **values: _stored(db, values))
    app.dependency_overrides[background_processor] = lambda: None
    with TestClient(app, root_path="/desk") as client:
        # As uvicorn --root-path passes it: the path with the prefix, and the prefix beside it.
        response = client.post(
            f"/desk/webhooks/shopify/{store.slug}",
            content=body,
            headers=shopify_headers(secret, body, "orders/create", "rooted-1"),
        )
    assert response.status_code == 200 and response.json()["status"] == "received"
    assert routed == []


def _stored(db, values):
    from app.integrations import inbox

    receipt = inbox.receive(db, **values)
    db.commit()
    return receipt
