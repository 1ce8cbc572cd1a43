"""The intake thread stores the webhook deliveries that arrive together in one transaction
(group commit), answers each only once it is committed, and keeps one delivery's fault its own."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from app.db import create_db_engine
from app.errors import NotAuthenticated, NotFound
from app.integrations import inbox
from app.integrations.intake import Intake, _Pending
from app.integrations.models import Platform
from tests.conftest import IS_POSTGRES
from tests.integrations.conftest import shopify_headers
from tests.reliability.helpers import SECRET, STORE, order_deliveries, sa_url, scratch_database

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


@pytest.fixture
def scratch() -> Iterator:
    with scratch_database("intake") as db:
        yield db


@pytest.fixture
def engine(scratch) -> Iterator[sa.Engine]:
    # As a server process makes it: on SQLite, with Huitou's writer queue and BEGIN IMMEDIATE.
    engine = create_db_engine(sa_url(scratch.url))
    yield engine
    engine.dispose()


def _values(delivery, *, slug: str = STORE) -> dict:
    return {
        "platform": Platform.shopify,
        "store_slug": slug,
        "headers": {k.lower(): v for k, v in delivery.headers.items()},
        "body": delivery.body,
        "now": NOW,
    }


def _pending(loop: asyncio.AbstractEventLoop, values: dict) -> _Pending:
    return _Pending(
        values=values, loop=loop, future=loop.create_future(), asked=time.perf_counter(), timing={}
    )


@contextmanager
def _loop() -> Iterator[asyncio.AbstractEventLoop]:
    """An event loop for the pending deliveries' futures (the batch is stored in this thread)."""
    loop = asyncio.new_event_loop()
    try:
        yield loop
    finally:
        loop.close()


def _commits(engine: sa.Engine) -> list[str]:
    """Write transactions committed (the checks' reading transaction is not one): on SQLite the
    commits of app.db's writing sessions; on PostgreSQL the INSERTs that succeeded in autocommit
    mode, each a transaction of its own."""
    seen: list[str] = []

    def committed(conn: sa.Connection) -> None:
        if conn.get_execution_options().get("sqlite_immediate"):  # app.db's writing sessions
            seen.append("commit")

    def executed(conn: sa.Connection, _cursor, statement: str, *_args) -> None:
        autocommit = conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT"
        if autocommit and statement.lstrip().upper().startswith("INSERT"):
            seen.append("autocommit insert")

    sa.event.listen(engine, "commit", committed)
    sa.event.listen(engine, "after_cursor_execute", executed)
    return seen


def test_deliveries_sent_together_are_stored_in_one_transaction_and_answered_each(scratch, engine):
    deliveries = order_deliveries(12, first_order_id=910_000_000, prefix="together")
    intake = Intake(engine=engine)
    commits = _commits(engine)
    inserts: list[str] = []

    def executed(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO WEBHOOK_INBOX"):
            inserts.append(statement)

    sa.event.listen(engine, "before_cursor_execute", executed)
    with _loop() as loop:
        batch = [_pending(loop, _values(d)) for d in deliveries]
        intake.store_batch(batch)

    assert len(commits) == 1
    assert len(inserts) == 1  # one multi-row INSERT for the batch
    assert (intake.batches, intake.stored) == (1, 12)
    receipts = [p.outcome for p in batch]
    assert all(isinstance(r, inbox.Receipt) and r.status_code == 200 for r in receipts)
    assert [r.body["status"] for r in receipts] == ["received"] * 12
    stored = dict(scratch.rows("SELECT dedupe_key, id FROM webhook_inbox WHERE status = 'received'"))
    assert stored == {d.webhook_id: r.message_id for d, r in zip(deliveries, receipts, strict=True)}


def test_a_refused_delivery_gets_its_own_error_and_the_rest_are_stored(scratch, engine):
    good, twice, bad_json = order_deliveries(3, first_order_id=920_000_000, prefix="mixed")
    forged = order_deliveries(1, first_order_id=920_000_100, prefix="forged")[0]
    forged = replace(
        forged, headers=shopify_headers("not-the-secret-0000000000", forged.body, "orders/create")
    )
    garbled = b'{"id": 5,'
    bad_json = replace(
        bad_json, body=garbled, headers=shopify_headers(SECRET, garbled, "orders/create", bad_json.webhook_id)
    )
    intake = Intake(engine=engine)
    commits = _commits(engine)
    with _loop() as loop:
        batch = [
            _pending(loop, _values(good)),
            _pending(loop, _values(forged)),
            _pending(loop, _values(twice)),
            _pending(loop, _values(good, slug="no-such-shop")),
            _pending(loop, _values(twice)),  # the same delivery again, in the same batch
            _pending(loop, _values(bad_json)),
        ]
        intake.store_batch(batch)

    first, forged_out, second, unknown, repeat, invalid = (p.outcome for p in batch)
    assert len(commits) == 1
    assert first.status_code == 200 and first.body["status"] == "received"
    assert isinstance(forged_out, NotAuthenticated)
    assert isinstance(unknown, NotFound)
    assert second.body["status"] == "received"
    assert repeat.body == {"status": "duplicate", "id": second.message_id}
    assert invalid.status_code == 400 and invalid.body["status"] == "invalid"
    statuses = dict(scratch.rows("SELECT dedupe_key, status FROM webhook_inbox"))
    assert statuses == {
        good.webhook_id: "received",
        twice.webhook_id: "received",
        bad_json.webhook_id: "failed",
    }


def test_a_row_the_database_refuses_fails_alone_and_the_others_are_stored(scratch, engine):
    # A store deleted while its secrets were still cached: its delivery's row breaks the foreign
    # key, which fails the batch's transaction; each delivery is then stored on its own.
    deliveries = order_deliveries(3, first_order_id=930_000_000, prefix="orphan")
    intake = Intake(engine=engine)
    commits = _commits(engine)
    with _loop() as loop:
        batch = [_pending(loop, _values(d)) for d in deliveries]
        with sa.orm.Session(engine) as session:
            for pending in batch:
                pending.checked = inbox.verify(session, **pending.values)
        batch[1].checked.values["store_id"] = 987_654_321
        intake.store_checked(batch)

    assert isinstance(batch[1].outcome, sa.exc.IntegrityError)
    assert [batch[0].outcome.status_code, batch[2].outcome.status_code] == [200, 200]
    assert (intake.batches, intake.stored) == (2, 2)
    assert len(commits) == 2  # the failed batch rolled back; the two good ones each committed
    keys = {row[0] for row in scratch.rows("SELECT dedupe_key FROM webhook_inbox")}
    assert keys == {deliveries[0].webhook_id, deliveries[2].webhook_id}


def test_requests_awaiting_the_intake_thread_get_their_answers_after_the_commit(scratch, engine):
    deliveries = order_deliveries(30, first_order_id=940_000_000, prefix="thread")
    intake = Intake(engine=engine)

    wakeups: list[int] = []

    async def send_all() -> list[inbox.Receipt]:
        loop = asyncio.get_running_loop()
        wake = loop.call_soon_threadsafe

        def counted(callback, *args):
            wakeups.append(len(args[0]))
            return wake(callback, *args)

        loop.call_soon_threadsafe = counted
        timings = [{} for _ in deliveries]
        receipts = await asyncio.gather(
            *(intake(**_values(d), timing=t) for d, t in zip(deliveries, timings, strict=True))
        )
        assert all({"queue", "store"} <= set(t) for t in timings)
        return receipts

    receipts = asyncio.run(send_all())
    assert [r.body["status"] for r in receipts] == ["received"] * 30
    assert intake.stored == 30
    assert intake.batches < 30  # they queued while the first was stored: fewer transactions
    # The event loop is woken once per batch with all of its answers, not once per request.
    assert len(wakeups) == intake.batches and sum(wakeups) == 30
    ids = {row[0]: row[1] for row in scratch.rows("SELECT dedupe_key, id FROM webhook_inbox")}
    assert ids == {d.webhook_id: r.message_id for d, r in zip(deliveries, receipts, strict=True)}
    bodies = {
        row[0]: json.loads(bytes(row[1]))["id"]
        for row in scratch.rows("SELECT dedupe_key, body FROM webhook_inbox")
    }
    assert bodies == {d.webhook_id: int(d.order_id) for d in deliveries}


def test_a_batch_is_one_statement_in_autocommit_on_postgresql_and_a_write_transaction_on_sqlite(
    scratch, engine
):
    """PostgreSQL: the batch's INSERT is its own transaction, so no BEGIN or COMMIT round trips,
    and the connection goes back to the pool transactional. SQLite: one transaction begun with the
    write lock (BEGIN IMMEDIATE) and committed."""
    deliveries = order_deliveries(5, first_order_id=950_000_000, prefix="autocommit")
    intake = Intake(engine=engine)
    statements: list[tuple[str, bool]] = []
    commits: list[bool] = []

    def executed(conn, _cursor, statement, *_args) -> None:
        autocommit = bool(getattr(conn.connection.dbapi_connection, "autocommit", False))
        statements.append((" ".join(statement.split()[:2]).upper(), autocommit))

    def committed(conn: sa.Connection) -> None:
        commits.append(bool(conn.get_execution_options().get("sqlite_immediate")))

    with _loop() as loop:  # the store's secrets read once and cached, as by an earlier delivery
        intake.check([_pending(loop, _values(deliveries[0]))])
    sa.event.listen(engine, "before_cursor_execute", executed)
    sa.event.listen(engine, "commit", committed)
    with _loop() as loop:
        batch = [_pending(loop, _values(d)) for d in deliveries]
        intake.store_batch(batch)
    sa.event.remove(engine, "before_cursor_execute", executed)
    sa.event.remove(engine, "commit", committed)

    assert [p.outcome.body["status"] for p in batch] == ["received"] * 5
    if IS_POSTGRES:
        assert statements == [("INSERT INTO", True)]
        assert commits == []
        with engine.connect() as conn:  # the pooled connection is transactional again
            assert conn.connection.dbapi_connection.autocommit is False
    else:
        assert statements == [("BEGIN IMMEDIATE", False), ("INSERT INTO", False)]
        assert commits == [True]
    assert scratch.rows("SELECT count(*) FROM webhook_inbox") == [(5,)]


@pytest.mark.postgres_only
def test_batches_in_quick_succession_keep_one_connection_and_one_left_idle_is_checked_again(
    scratch, engine
):
    """The intake keeps its autocommit connection between batches that follow each other within
    the pool's ping interval (no checkout, no switch to autocommit each time). One idle longer goes
    back to the pool as idle that long, so the next checkout pings it: a connection the database
    dropped meanwhile is replaced and the delivery is stored."""
    from tests.test_db_pool import terminate

    deliveries = order_deliveries(3, first_order_id=960_000_000, prefix="held")
    intake = Intake(engine=engine)
    with _loop() as loop:  # the store's secrets read once and cached, as by an earlier delivery
        intake.check([_pending(loop, _values(deliveries[0]))])
    checkouts: list[int] = []
    sa.event.listen(engine, "checkout", lambda *_args: checkouts.append(1))
    backends: list[int] = []
    with _loop() as loop:
        for delivery in deliveries[:2]:
            batch = [_pending(loop, _values(delivery))]
            intake.store_batch(batch)
            assert batch[0].outcome.body["status"] == "received"
            backends.append(intake._held.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())
    assert len(checkouts) == 1, "the second batch used the connection the first one took"
    assert backends[0] == backends[1]

    terminate(scratch.url, backends[0])  # the database drops it while the intake is idle …
    time.sleep(1.1)  # … for longer than the ping interval (1 s by default)
    with _loop() as loop:
        batch = [_pending(loop, _values(deliveries[2]))]
        intake.store_batch(batch)
    assert batch[0].outcome.body["status"] == "received", "stored on a live connection"
    assert len(checkouts) == 2
    assert intake._held.execute(sa.text("SELECT pg_backend_pid()")).scalar_one() != backends[0]
    assert scratch.rows("SELECT count(*) FROM webhook_inbox") == [(3,)]
