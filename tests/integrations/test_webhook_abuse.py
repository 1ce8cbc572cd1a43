"""Hostile webhook deliveries: absurd JSON, wrong content types, slow clients. Each is refused with a
clear 4xx and nothing is stored as accepted (a signed but unusable body is kept as failed, for the
operator to see)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time

import httpx
import pytest

from app.integrations.models import InboxMessage, InboxStatus
from tests.factories import count, make_signed_store
from tests.integrations.conftest import one, post_shopify, shopify_headers, standard_headers
from tests.live import HUITOU, running_server

NESTED = b'{"id": 1, "x": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (NESTED, "nested too deeply"),
        (b'{"id": 12345678901234567890123, "line_items": []}', "64-bit"),
        (b'{"id": ' + b"9" * 5000 + b', "line_items": []}', "64-bit"),
        (b'{"id": 1, "total_price": 1e999999}', "out of range"),
        (b'{"id": 1, "total_price": NaN}', "not a JSON number"),
        (b'{"id": 1, "total_price": -Infinity}', "not a JSON number"),
    ],
    ids=["nested", "huge-int", "giant-int", "huge-exponent", "nan", "infinity"],
)
def test_signed_but_absurd_json_is_400_and_kept_as_failed(client, db, body, reason):
    store, secret = make_signed_store(db, platform="shopify")
    response = post_shopify(client, store, secret, "orders/create", body)
    assert response.status_code == 400
    message = one(db, InboxMessage, store_id=store.id)
    assert message.status == InboxStatus.failed and reason in message.error


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "", "multipart/form-data"]
)
def test_a_body_that_is_not_sent_as_json_is_415_and_not_stored(client, db, content_type):
    store, secret = make_signed_store(db, platform="shopify")
    body = b'{"id": 1, "line_items": []}'
    headers = shopify_headers(secret, body, "orders/create") | {"content-type": content_type}
    response = client.post(f"/webhooks/shopify/{store.slug}", content=body, headers=headers)
    assert response.status_code == 415 and "application/json" in response.json()["detail"]
    assert count(db, InboxMessage, store_id=store.id) == 0


def test_json_with_a_charset_or_a_json_suffix_type_is_accepted(client, db):
    store, secret = make_signed_store(db, platform="standard")
    for content_type in ("application/json; charset=utf-8", "application/vnd.huitou+json"):
        body = b'{"type": "shop.unknown", "timestamp": "2026-11-11T02:00:00Z", "data": {}}'
        headers = standard_headers(secret, body) | {"content-type": content_type}
        response = client.post(f"/webhooks/standard/{store.slug}", content=body, headers=headers)
        assert response.status_code == 202, response.text


def test_forged_signature_on_an_absurd_body_is_401_and_nothing_stored(client, db):
    store, _ = make_signed_store(db, platform="shopify")
    response = post_shopify(client, store, "a-forged-secret-of-some-length", "orders/create", NESTED)
    assert response.status_code == 401
    assert count(db, InboxMessage, store_id=store.id) == 0


@pytest.fixture(scope="module")
def slow_server(tmp_path_factory):
    from tests.conftest import create_scratch_database, drop_scratch_database

    url = create_scratch_database("slow")
    env = os.environ | {"HUITOU_DATABASE_URL": url, "HUITOU_WEBHOOK_BODY_TIMEOUT_SECONDS": "1"}
    subprocess.run([HUITOU, "migrate"], env=env, check=True, capture_output=True, timeout=120)
    subprocess.run(
        [
            HUITOU,
            "store",
            "add",
            "--slug",
            "slow-shop",
            "--platform",
            "shopify",
            "--secret",
            "slow-secret-123456",
        ],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    with running_server(env, tmp_path_factory.mktemp("slow-log") / "server.log") as base:
        yield base
    drop_scratch_database(url)


def test_a_client_dripping_its_body_gets_408_while_others_are_served(slow_server):
    host, port = slow_server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            b"POST /webhooks/shopify/slow-shop HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 1000\r\nX-Shopify-Hmac-Sha256: AAAA\r\n\r\n{"id": '
        )
        started = time.monotonic()
        # Meanwhile the server answers everybody else.
        assert httpx.get(f"{slow_server}/healthz", timeout=5).status_code == 200
        answer = b""
        while b"\r\n\r\n" not in answer and time.monotonic() - started < 8:
            sock.sendall(b" ")  # one byte now and then, never the whole body
            time.sleep(0.2)
            sock.settimeout(0.05)
            with contextlib.suppress(TimeoutError):
                answer += sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]


def test_a_flood_of_forged_deliveries_is_cut_off_with_429(client, db):
    store, secret = make_signed_store(db, platform="shopify")
    body = b'{"id": 1, "line_items": []}'
    statuses = [
        post_shopify(client, store, "forged-secret-attempt-xyz", "orders/create", body).status_code
        for _ in range(35)
    ]
    assert statuses[:30] == [401] * 30 and set(statuses[30:]) == {429}
    # The cut-off is for that client's bad signatures: nothing forged got stored.
    assert count(db, InboxMessage, store_id=store.id) == 0
