"""Database faults: PostgreSQL stopped under load (a private cluster, not the shared server) and
SQLite locked beyond the busy timeout. Requests fail with a clear 503 during the outage, the
server recovers on its own when the database is back, and no write is ever half there."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import httpx
import pytest
import sqlalchemy as sa

from app.integrations.models import InboxMessage
from tests.conftest import IS_POSTGRES
from tests.reliability.helpers import (
    LONG_AGO,
    PASSWORD,
    STORE,
    Server,
    migrated,
    order_deliveries,
    send,
    wait_until,
)
from tests.reliability.load import ORDER_TOTAL, PRICES, Load, logged_in_client
from tests.reliability.pgcluster import private_cluster

KINDS = ("webhook", "api", "health", "page")


def _customer(base: str, key: str) -> int:
    """A buyer created through the API, for the API's order writes."""
    created = httpx.post(
        f"{base}/api/v1/customers",
        json={"store": STORE, "nickname": "老客户"},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    return created.json()["id"]


def _is_clear_503(answer) -> bool:
    """503 with an error people and programs can read: a page for a page, JSON for the API."""
    if answer.status != 503:
        return False
    if answer.kind == "page":
        return answer.content_type.startswith("text/html") and "<html" in answer.body.lower()
    body = json.loads(answer.body)
    return body.get("status" if answer.kind == "health" else "error") == "unavailable"


def _order_rows(scratch) -> dict[str, tuple[int, int, Decimal]]:
    """external id -> (line items, creation entries in the timeline, total)."""
    rows = scratch.rows(
        "SELECT o.external_id, "
        " (SELECT count(*) FROM order_items i WHERE i.order_id = o.id), "
        " (SELECT count(*) FROM order_timeline t WHERE t.order_id = o.id AND t.from_stage IS NULL), "
        " o.total FROM orders o"
    )
    found: dict[str, tuple[int, int, Decimal]] = {}
    for external_id, items, created, cents in rows:
        assert external_id not in found, f"order {external_id} stored twice"
        found[external_id] = (items, created, Decimal(cents) / 100)  # money is stored in cents
    return found


@pytest.mark.postgres_only
def test_postgres_stopped_under_load_gives_503_then_recovers_without_restart_and_no_partial_write(
    tmp_path,
):
    with private_cluster() as cluster:
        scratch = migrated(cluster.url, agents={"lead": "supervisor"}, api_key_scope="write")
        server = Server(scratch.env, tmp_path / "serve.log")
        try:
            key = scratch.api_key
            customer_id = _customer(server.base, key)
            deliveries = order_deliveries(2000, first_order_id=830_000_000, prefix="fault")
            load = Load(server.base, api_key=key, customer_id=customer_id, store=STORE, deliveries=deliveries)
            load.start(logged_in_client(server.base, "lead", PASSWORD))
            try:
                wait_until(
                    lambda: min(load.count(started="before").values()) >= 5,
                    timeout=30,
                    what="load before the outage",
                )
                load.phase = "stopping"
                cluster.stop()
                load.phase = "down"
                wait_until(
                    lambda: min(load.count(started="down").values()) >= 5,
                    timeout=30,
                    what="requests during the outage",
                )
                load.phase = "starting"
                cluster.start()
                load.phase = "after"
                wait_until(
                    lambda: min(load.count(started="after").values()) >= 5,
                    timeout=30,
                    what="requests after the outage",
                )
            finally:
                load.stop()
            assert server.popen.poll() is None, "the server died"  # it recovered without a restart
            answers = load.all()

            # Never a 500, never a hang: every request got an answer, a success or a clear 503.
            unclear = [a for a in answers if a.status is None or (a.status >= 300 and not _is_clear_503(a))]
            assert not unclear, unclear[:5]
            assert all(_is_clear_503(a) for a in load.within("down")), "success with no database"
            assert {a.status for a in load.within("before")} <= {200, 201}
            # Back on its own: the first request after the restart already succeeds (pre-ping).
            after = [a for a in answers if a.started == "after"]
            assert [a for a in after if a.status not in (200, 201)] == []

            # No partial writes: every acknowledged write is there in full; a failed one is absent
            # or (its commit landed just as the connection broke) there in full, never half.
            orders = _order_rows(scratch)
            for external_id, (items, created, total) in orders.items():
                assert (items, created) == (3, 1), f"order {external_id} is half there"
                if external_id.startswith("api-"):
                    assert total == ORDER_TOTAL
            written = {a.key for a in answers if a.kind == "api" and a.status == 201}
            assert written <= set(orders)
            stored = {k: b for k, b in scratch.rows("SELECT dedupe_key, body FROM webhook_inbox")}
            by_id = {d.webhook_id: d for d in deliveries}
            acked = {a.key for a in answers if a.kind == "webhook" and a.status == 200}
            assert acked <= set(stored)
            assert all(bytes(body) == by_id[k].body for k, body in stored.items())

            # The storefront sends again what failed; then everything is processed exactly once.
            sent = [by_id[a.key] for a in answers if a.kind == "webhook"]
            with httpx.Client(timeout=10) as client:
                for delivery in (d for d in sent if d.webhook_id not in acked):
                    assert send(client, server.base, delivery).status_code == 200
            server.stop()
            _finish_processing(scratch)
            orders = _order_rows(scratch)
            assert {d.order_id for d in sent} <= set(orders)
            assert {(items, created) for items, created, _ in orders.values()} == {(3, 1)}
        finally:
            server.stop()
            scratch.engine.dispose()


def _finish_processing(scratch) -> None:
    """Deliveries the server's worker claimed but could not process (the database was down, or
    the server stopped) keep their claim until the lease runs out (inbox.LEASE); end it, then
    let `huitou dispatch --once` sweep up."""
    table = InboxMessage.__table__
    with scratch.engine.begin() as conn:
        conn.execute(
            sa.update(table).where(table.c.claimed_until.is_not(None)).values(claimed_until=LONG_AGO)
        )
    for _ in range(5):
        left = scratch.scalar("SELECT count(*) FROM webhook_inbox WHERE status <> 'processed'")
        if not left:
            return
        done = scratch.huitou("dispatch", "--once")
        assert done.returncode == 0, done.stderr
    assert scratch.scalar("SELECT count(*) FROM webhook_inbox WHERE status <> 'processed'") == 0


@pytest.mark.skipif(IS_POSTGRES, reason="SQLite's write lock (runs on the SQLite leg)")
def test_sqlite_locked_beyond_the_busy_timeout_gives_503_then_works_again(tmp_path):
    """Another process holding SQLite's write lock longer than the busy timeout: writes answer
    503 (not 500, not a hang), reads and /healthz keep working, and once the lock is gone the
    same writes succeed, in full."""
    scratch = migrated(f"sqlite:///{tmp_path / 'locked.db'}", api_key_scope="write")
    server = Server(scratch.env, tmp_path / "serve.log")
    try:
        key = scratch.api_key
        customer_id = _customer(server.base, key)
        delivery = order_deliveries(1, first_order_id=840_000_000, prefix="locked")[0]
        blocker = sa.create_engine(f"sqlite:///{tmp_path / 'locked.db'}", poolclass=sa.NullPool)
        with blocker.connect() as conn, httpx.Client(base_url=server.base, timeout=30) as client:
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock, held past the busy timeout
            order = {
                "store": STORE,
                "customer_id": customer_id,
                "external_id": "api-locked",
                "items": [{"title": "茶", "quantity": 1, "unit_price": str(PRICES[0])}],
            }
            with ThreadPoolExecutor(max_workers=3) as pool:
                hook = pool.submit(send, client, server.base, delivery)
                api = pool.submit(
                    client.post, "/api/v1/orders", json=order, headers={"Authorization": f"Bearer {key}"}
                )
                health = pool.submit(client.get, "/healthz")
                hook, api, health = hook.result(), api.result(), health.result()
            conn.exec_driver_sql("ROLLBACK")
        blocker.dispose()
        assert (hook.status_code, hook.json()["error"]) == (503, "unavailable")
        assert (api.status_code, api.json()["error"]) == (503, "unavailable")
        assert health.status_code == 200  # WAL: readers are never blocked by a writer
        assert scratch.scalar("SELECT count(*) FROM webhook_inbox") == 0
        assert scratch.scalar("SELECT count(*) FROM orders") == 0

        with httpx.Client(base_url=server.base, timeout=30) as client:
            assert send(client, server.base, delivery).status_code == 200
            again = client.post("/api/v1/orders", json=order, headers={"Authorization": f"Bearer {key}"})
        assert again.status_code == 201, again.text
        assert scratch.scalar("SELECT count(*) FROM webhook_inbox") == 1
        assert _order_rows(scratch)["api-locked"] == (1, 1, PRICES[0])
    finally:
        server.stop()
        scratch.engine.dispose()
