"""Crash safety of webhook intake: `huitou serve` is SIGKILLed while signed deliveries pour in,
restarted, sent everything again that it did not acknowledge (and some it did); every
acknowledged delivery is in the inbox and every delivery takes effect exactly once."""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import sqlalchemy as sa

from app.integrations.models import InboxMessage
from tests.reliability.helpers import (
    LONG_AGO,
    Delivery,
    Server,
    assert_orders_created_exactly_once,
    order_deliveries,
    scratch_database,
    send,
    wait_until,
)

DELIVERIES = 120
SENDERS = 8
# SIGKILL once this many deliveries were acknowledged: well into the stream, far from its end.
KILL_AFTER = 40


def _flood(base: str, deliveries: list[Delivery], kill) -> dict[str, int | None]:
    """Send every delivery from SENDERS threads; call `kill()` mid-stream. Returns each webhook
    id's answer (None when no HTTP answer came: refused, reset, timed out)."""
    todo: queue.Queue[Delivery] = queue.Queue()
    for delivery in deliveries:
        todo.put(delivery)
    answers: dict[str, int | None] = {}
    acknowledged = threading.Semaphore(0)

    def sender() -> None:
        with httpx.Client(timeout=10) as client:
            while True:
                try:
                    delivery = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    code: int | None = send(client, base, delivery).status_code
                except httpx.HTTPError:
                    code = None
                answers[delivery.webhook_id] = code
                if code is not None and 200 <= code < 300:
                    acknowledged.release()

    threads = [threading.Thread(target=sender) for _ in range(SENDERS)]
    for thread in threads:
        thread.start()
    for _ in range(KILL_AFTER):
        assert acknowledged.acquire(timeout=30), "the server stopped acknowledging before the kill"
    kill()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def test_server_killed_mid_stream_loses_no_acknowledged_delivery_and_applies_each_once(tmp_path):
    deliveries = order_deliveries(DELIVERIES, first_order_id=820_000_000, prefix="crash")
    by_id = {d.webhook_id: d for d in deliveries}
    with scratch_database("crash") as db:
        first = Server(db.env, tmp_path / "serve-1.log")
        try:
            answers = _flood(first.base, deliveries, first.kill)
        finally:
            first.stop()  # only if the flood failed before its kill

        acked = {w for w, code in answers.items() if code is not None and 200 <= code < 300}
        unacked = set(by_id) - acked
        assert KILL_AFTER <= len(acked) < DELIVERIES and unacked, "the kill did not land mid-stream"
        assert all(answers[w] is None for w in unacked), "a delivery was refused while the server ran"

        # Right after the kill: everything acknowledged is stored (the commit precedes the answer).
        stored = {key for (key,) in db.rows("SELECT dedupe_key FROM webhook_inbox")}
        assert acked <= stored, f"acknowledged but not stored: {sorted(acked - stored)[:10]}"
        stored_unacked = stored & unacked  # committed, then killed before the answer went out

        # The killed process's claims: their lease would expire after inbox.LEASE; end it now.
        with db.engine.begin() as conn:
            conn.execute(
                sa.update(InboxMessage.__table__)
                .where(InboxMessage.__table__.c.claimed_until.is_not(None))
                .values(claimed_until=LONG_AGO)
            )

        second = Server(db.env, tmp_path / "serve-2.log")
        try:
            # What a storefront does: send again what was not acknowledged; Shopify also
            # redelivers some it already sent (here every third acknowledged one).
            again = [by_id[w] for w in sorted(unacked)] + [by_id[w] for w in sorted(acked)[::3]]

            def resend(delivery: Delivery) -> tuple[str, int, str]:
                with httpx.Client(timeout=15) as client:
                    response = send(client, second.base, delivery)
                return delivery.webhook_id, response.status_code, response.json().get("status", "")

            with ThreadPoolExecutor(max_workers=4) as pool:
                resent = list(pool.map(resend, again))
            assert {code for _, code, _ in resent} == {200}
            duplicates = {w for w, _, status in resent if status == "duplicate"}
            assert duplicates == (acked & set(w for w, _, _ in resent)) | stored_unacked

            def received() -> int:
                return db.scalar("SELECT count(*) FROM webhook_inbox WHERE status = 'received'")

            # The restarted server processes what it stored; `huitou dispatch --once` sweeps up
            # what the killed one stored but never processed.
            wait_until(lambda: received() == 0 or _settled(received), timeout=30, what="the inbox worker")
            for _ in range(5):
                if received() == 0:
                    break
                swept = db.huitou("dispatch", "--once")
                assert swept.returncode == 0, swept.stderr
            assert received() == 0
        finally:
            second.stop()

        inbox = db.rows("SELECT dedupe_key, status, attempts FROM webhook_inbox")
        assert sorted(key for key, _, _ in inbox) == sorted(by_id), "an inbox row is missing or doubled"
        assert {(status, attempts) for _, status, attempts in inbox} == {("processed", 1)}
        assert_orders_created_exactly_once(db, {d.order_id for d in deliveries})
        assert "Traceback" not in second.log(), second.log()[-3000:]
        # Nothing is left claimed: every lease of the dead process was taken over and finished.
        assert db.scalar("SELECT count(*) FROM webhook_inbox WHERE claim_token IS NOT NULL") == 0


def _settled(count, pause: float = 0.5) -> bool:
    """True when `count()` did not move for `pause` seconds (the worker has nothing more to do)."""
    before = count()
    time.sleep(pause)
    return count() == before
