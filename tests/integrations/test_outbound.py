import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from app.events import SUBSCRIBERS
from app.integrations import outbound
from app.integrations.models import Delivery, DeliveryAttempt, DeliveryStatus
from tests.integrations.conftest import one, rows


class Receiver:
    """A tiny HTTP receiver on 127.0.0.1 that fails the first `fail` requests, then accepts."""

    def __init__(self, fail: int) -> None:
        self.fail = fail
        self.requests: list[tuple[dict, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                ok = len(receiver.requests) > receiver.fail
                self.send_response(200 if ok else 503)
                self.end_headers()
                self.wfile.write(b"ok" if ok else b"try later")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def _case():
    return SimpleNamespace(
        id=7, order_id=3, customer_id=2, store_id=1, external_id=None, kind="return_refund",
        state="approved", refunded_amount="0.00", currency="CNY",
    )  # fmt: skip


def test_failing_receiver_is_retried_with_backoff_until_it_recovers(db):
    now = datetime.now(UTC)
    with Receiver(fail=2) as receiver, httpx.Client(timeout=5) as client:
        subscription, secret = outbound.create_subscription(
            db, url=receiver.url, event_types=["case.changed"], now=now
        )
        assert "app.integrations.outbound:on_case_changed" in SUBSCRIBERS["case.changed"]
        outbound.on_case_changed(db, now=now, case=_case(), from_state="requested", to_state="approved")
        delivery = one(db, Delivery, subscription_id=subscription.id)
        assert outbound.deliver_due(db, now=now, client=client) == 1
        db.refresh(delivery)
        assert delivery.status == DeliveryStatus.pending and delivery.attempts == 1
        first_wait = delivery.next_attempt_at - now
        assert timedelta(seconds=26) <= first_wait <= timedelta(seconds=34)
        assert outbound.deliver_due(db, now=now, client=client) == 0  # not due yet
        later = now + timedelta(seconds=40)
        outbound.deliver_due(db, now=later, client=client)
        db.refresh(delivery)
        assert delivery.attempts == 2 and delivery.last_status_code == 503
        assert delivery.next_attempt_at - later >= timedelta(seconds=100)
        outbound.deliver_due(db, now=delivery.next_attempt_at, client=client)
        db.refresh(delivery)
        assert delivery.status == DeliveryStatus.delivered and delivery.attempts == 3
    attempts = rows(db, DeliveryAttempt, delivery_id=delivery.id)
    assert [a.status_code for a in attempts] == [503, 503, 200]
    ids = {headers["webhook-id"] for headers, _ in receiver.requests}
    assert ids == {f"dlv_{delivery.id}"}  # the same id on every retry: receivers deduplicate
    headers, body = receiver.requests[-1]
    event = Webhook(secret).verify(body, headers)
    assert event["type"] == "case.changed" and event["data"]["to_state"] == "approved"


def test_delivery_is_dead_after_eight_failures_and_can_be_replayed(db):
    now = datetime.now(UTC)
    with Receiver(fail=100) as receiver, httpx.Client(timeout=5) as client:
        subscription, _ = outbound.create_subscription(
            db, url=receiver.url, event_types=["message.outbound"], now=now
        )
        outbound.enqueue(db, "message.outbound", {"text": "亲，您的包裹已到驿站"}, now)
        delivery = one(db, Delivery, subscription_id=subscription.id)
        at = now
        for _ in range(outbound.MAX_ATTEMPTS):
            outbound.deliver_due(db, now=at, client=client)
            db.refresh(delivery)
            at = delivery.next_attempt_at or at
        assert delivery.status == DeliveryStatus.dead and delivery.attempts == 8
        assert (at - now) > timedelta(hours=5)  # about six hours of retries in all
        assert len(rows(db, DeliveryAttempt, delivery_id=delivery.id)) == 8
        receiver.fail = 0
        outbound.replay_delivery(db, delivery, now=at)
        outbound.deliver_due(db, now=at, client=client)
        db.refresh(delivery)
        assert delivery.status == DeliveryStatus.delivered


def test_unreachable_receiver_is_recorded_as_an_attempt(db):
    now = datetime.now(UTC)
    subscription, _ = outbound.create_subscription(
        db, url="http://127.0.0.1:9/hook", event_types=["ticket.created"], now=now
    )
    outbound.enqueue(db, "ticket.created", {"ticket_id": 1}, now)
    with httpx.Client(timeout=2) as client:
        outbound.deliver_due(db, now=now, client=client)
    attempt = one(db, DeliveryAttempt)
    assert attempt.status_code is None and "Error" in attempt.error


def test_events_nobody_subscribes_to_write_no_outbox_rows(db, now):
    assert outbound.enqueue(db, "ticket.solved", {"ticket_id": 1}, now) is None
    with pytest.raises(KeyError):
        outbound.enqueue(db, "ticket.exploded", {}, now)


def test_disabled_subscription_gets_nothing(db, now):
    subscription, _ = outbound.create_subscription(
        db, url="https://x.example.cn", event_types=["followup.sent"], now=now
    )
    outbound.set_subscription_active(db, subscription, active=False, now=now)
    assert outbound.enqueue(db, "followup.sent", {"id": 1}, now) is None
    assert json.dumps(subscription.event_types) == '["followup.sent"]'
