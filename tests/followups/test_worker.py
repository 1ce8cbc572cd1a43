"""The worker: claims with leases, exactly-once handling, retries, and concurrent workers on PostgreSQL."""

import contextlib
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from app.followups import jobs
from app.followups.models import Followup, FollowupKind, FollowupStatus
from app.tickets.models import Ticket, TicketMessage
from tests.conftest import create_scratch_database, drop_scratch_database
from tests.factories import T0, count
from tests.followups.helpers import one, run_at
from tests.orders.helpers import make_order

DUE = T0 + timedelta(minutes=30)


def test_a_killed_workers_claim_expires_and_the_row_is_handled_once(db):
    order = make_order(db)
    reminder = one(db, FollowupKind.payment_reminder, order_id=order.id)
    assert jobs.claim_due(db, now=DUE, token="killed") == [reminder.id]  # … and the worker dies here
    assert jobs.claim_due(db, now=DUE + timedelta(minutes=1), token="other") == []
    later = DUE + jobs.LEASE + timedelta(seconds=1)
    assert run_at(db, later, token="survivor") == 1
    # The dead worker's token no longer holds the row: it cannot act on it any more.
    assert jobs.handle_claimed(db, [reminder.id], token="killed", now=later) == 0
    db.refresh(reminder)
    assert reminder.status == FollowupStatus.done and reminder.attempts == 2
    assert count(db, TicketMessage) == 1


def test_running_the_worker_twice_acts_once(db):
    make_order(db)
    assert run_at(db, DUE) == 1
    assert run_at(db, DUE + timedelta(minutes=10)) == 0
    assert count(db, TicketMessage) == 1


def test_a_failing_follow_up_is_retried_after_its_lease_and_spoils_nothing_else(db, monkeypatch):
    from app.tickets import service as tickets

    first, second = make_order(db), make_order(db)
    real = tickets.open_task
    calls = {"n": 0}

    def flaky(session, **kwargs):
        calls["n"] += 1
        if kwargs["order_id"] == first.id and calls["n"] < 3:
            raise RuntimeError("queue unavailable")
        return real(session, **kwargs)

    monkeypatch.setattr(tickets, "open_task", flaky)
    run_at(db, DUE)
    failed = one(db, FollowupKind.payment_reminder, order_id=first.id)
    fine = one(db, FollowupKind.payment_reminder, order_id=second.id)
    assert failed.status == FollowupStatus.pending and "queue unavailable" in failed.last_error
    assert fine.status == FollowupStatus.done
    run_at(db, DUE + jobs.LEASE + timedelta(seconds=1))
    db.refresh(failed)
    assert failed.status == FollowupStatus.done
    assert count(db, Ticket) == 2


def test_a_follow_up_that_keeps_failing_is_given_up(db, monkeypatch):
    from app.tickets import service as tickets

    order = make_order(db)

    def broken(session, **kwargs):
        raise RuntimeError("broken")

    monkeypatch.setattr(tickets, "open_task", broken)
    at = DUE
    for _ in range(jobs.MAX_ATTEMPTS):
        run_at(db, at)
        at += jobs.LEASE + timedelta(seconds=1)
    reminder = one(db, FollowupKind.payment_reminder, order_id=order.id)
    assert reminder.status == FollowupStatus.failed


@contextlib.contextmanager
def orders_in_a_scratch_database(orders: int) -> Iterator[sa.Engine]:
    """A migrated database of its own (committed work, several connections) with `orders` orders,
    each with its payment reminder due at DUE; dropped afterwards."""
    from app.db import create_db_engine
    from app.migrations import upgrade
    from tests.factories import make_store

    url = create_scratch_database("followups")
    try:
        upgrade(url)
        engine = create_db_engine(url)
        try:
            with Session(engine) as session:
                store = make_store(session)
                for _ in range(orders):
                    make_order(session, store=store)
                session.commit()
            yield engine
        finally:  # a failing test too: no connection is left open on the dropped database
            engine.dispose()
    finally:
        drop_scratch_database(url)


@pytest.mark.postgres_only
def test_two_concurrent_workers_never_handle_one_row_twice():
    with orders_in_a_scratch_database(300) as engine:
        barrier = threading.Barrier(2)
        handled: list[int] = []
        errors: list[BaseException] = []

        def worker() -> None:
            try:
                barrier.wait()
                total = 0
                while True:
                    claimed, done = jobs.run_batch(DUE, engine=engine, limit=25)
                    total += done
                    if not claimed:
                        break
                handled.append(total)
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not errors, errors
        assert sum(handled) == 300 and all(h > 0 for h in handled), handled
        with Session(engine) as session:
            assert session.exec(select(sa.func.count()).select_from(TicketMessage)).one() == 300
            statuses = session.exec(select(Followup.status, sa.func.count()).group_by(Followup.status)).all()
            assert dict(statuses) == {FollowupStatus.done: 300}


def test_a_claimed_batch_is_handled_in_short_transactions_of_a_chunk_each():
    """On SQLite a write transaction keeps every desk write waiting: a batch of 500 in one took
    seconds under load, so the claim's rows are handled HANDLE_CHUNK per transaction."""
    with orders_in_a_scratch_database(2 * jobs.HANDLE_CHUNK + 3) as engine:
        commits: list[int] = []
        sa.event.listen(engine, "commit", lambda _conn: commits.append(1))
        claimed, handled = jobs.run_batch(DUE, engine=engine, limit=500)
        assert claimed == handled == 2 * jobs.HANDLE_CHUNK + 3
        assert len(commits) == 1 + 3  # the claim, then three chunks
        with Session(engine) as session:
            statuses = session.exec(select(Followup.status, sa.func.count()).group_by(Followup.status)).all()
            assert dict(statuses) == {FollowupStatus.done: claimed}
