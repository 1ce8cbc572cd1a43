"""Crash safety of outbound webhooks: `huitou dispatch` is SIGKILLed mid-batch while a real
receiver is answering; after the restart nothing is lost and nothing is sent twice except the
one delivery that was in flight, which is resent under the same webhook-id."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import sqlalchemy as sa
from sqlmodel import Session
from standardwebhooks.webhooks import Webhook

from app.integrations import outbound
from app.integrations.models import Delivery
from tests.reliability.helpers import LONG_AGO, Process, scratch_database

PENDING = 40
# The receiver holds the GATE-th request until the sender is dead: that one is in flight.
GATE = 15


class Receiver:
    """A Standard Webhooks receiver on a free port: records every request, answers 204 after a
    short pause (as a real endpoint takes a little while), and can hold one request open."""

    def __init__(self, hold_request_number: int) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.held = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver.lock:
                    receiver.requests.append((headers.get("webhook-id", ""), headers, body))
                    number = len(receiver.requests)
                if number == hold_request_number:
                    receiver.held.set()
                    receiver.release.wait(timeout=60)
                else:
                    receiver.release.wait(timeout=0.01)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: object, client_address: object) -> None:
                pass  # the held request's sender is dead: its answer has nowhere to go

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/huitou"

    @contextmanager
    def running(self) -> Iterator[Receiver]:
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.release.set()
            self.server.shutdown()
            self.server.server_close()

    def ids(self) -> list[str]:
        with self.lock:
            return [webhook_id for webhook_id, _, _ in self.requests]


def _pending_deliveries(engine: sa.Engine, url: str) -> tuple[str, list[int]]:
    """A subscription to `url` and PENDING ticket.created events for it, committed as the app
    would (enqueued through the service, in the transaction of their cause)."""
    now = datetime.now(UTC)
    with Session(engine) as session:
        _, secret = outbound.create_subscription(session, url=url, event_types=["ticket.created"], now=now)
        for n in range(PENDING):
            outbound.enqueue(session, "ticket.created", {"ticket_id": n + 1, "subject": f"退款 #{n}"}, now)
        session.commit()
        ids = list(session.exec(sa.select(Delivery.id).order_by(Delivery.id)).scalars())
    return secret, ids


def test_dispatch_killed_mid_batch_loses_nothing_and_resends_only_the_delivery_in_flight(tmp_path):
    receiver = Receiver(hold_request_number=GATE)
    with scratch_database("dispatch") as db, receiver.running():
        secret, delivery_ids = _pending_deliveries(db.engine, receiver.url)
        assert len(delivery_ids) == PENDING

        worker = Process(["dispatch", "--interval", "0.5"], db.env, tmp_path / "dispatch-1.log")
        try:
            assert receiver.held.wait(timeout=60), f"no delivery arrived:\n{worker.log()[-3000:]}"
        finally:
            worker.kill()  # while the GATE-th delivery is on the wire, its answer not yet back
        receiver.release.set()
        in_flight = receiver.ids()[GATE - 1]

        def delivered() -> int:
            return db.scalar("SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'")

        # The sender is sequential and records each answer before the next send.
        assert delivered() == GATE - 1
        assert receiver.ids() == [f"dlv_{i}" for i in delivery_ids[:GATE]]

        # Another worker leaves alone what the dead one had claimed while its lease runs.
        early = db.huitou("dispatch", "--once")
        assert early.returncode == 0, early.stderr
        assert len(receiver.ids()) == GATE and delivered() == GATE - 1

        # The lease would expire after outbound.LEASE; end it now rather than wait.
        table = Delivery.__table__
        with db.engine.begin() as conn:
            conn.execute(
                sa.update(table).where(table.c.claimed_until.is_not(None)).values(claimed_until=LONG_AGO)
            )
        for _ in range(3):
            if delivered() == PENDING:
                break
            again = db.huitou("dispatch", "--once")
            assert again.returncode == 0, again.stderr

        # Nothing lost: every delivery arrived and is recorded delivered, with one attempt.
        assert delivered() == PENDING
        attempts = db.rows(
            "SELECT delivery_id, count(*), min(status_code), max(status_code) "
            "FROM webhook_delivery_attempts GROUP BY delivery_id"
        )
        assert sorted(attempts) == [(i, 1, 204, 204) for i in delivery_ids]
        assert db.scalar("SELECT count(*) FROM webhook_deliveries WHERE claim_token IS NOT NULL") == 0

        # Nothing sent twice but the one in flight at the kill, resent under the same webhook-id
        # (so a receiver deduplicates it) and the same body, and properly signed each time.
        counts = Counter(receiver.ids())
        assert set(counts) == {f"dlv_{i}" for i in delivery_ids}
        assert {w: n for w, n in counts.items() if n > 1} == {in_flight: 2}
        copies = [body for webhook_id, _, body in receiver.requests if webhook_id == in_flight]
        assert copies[0] == copies[1]
        verifier = Webhook(secret)
        for _, headers, body in receiver.requests:
            verifier.verify(body, headers)
