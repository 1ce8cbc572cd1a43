"""While webhooks flood in, `huitou dispatch`'s inbox thread works only its share of the time (the
servers answering the storefronts come first), and at full speed again once the flood passes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from app.db import create_db_engine
from app.integrations import inbox, jobs
from app.integrations.jobs import FloodYield
from app.integrations.models import Platform
from tests.reliability.helpers import STORE, order_deliveries, sa_url, scratch_database

NOW = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.at = 1000.0

    def __call__(self) -> float:
        return self.at


class Newest:
    """The inbox's newest id as the test sets it, and how often it was read."""

    def __init__(self) -> None:
        self.id = 0
        self.reads = 0

    def __call__(self) -> int:
        self.reads += 1
        return self.id


def test_no_rest_while_deliveries_arrive_slower_than_the_flood_rate():
    clock, newest = Clock(), Newest()
    flood = FloodYield(rate=50, share=0.25, newest=newest, clock=clock)
    for _ in range(5):
        newest.id += 49  # 49 a second: busy, not a flood
        clock.at += 1
        assert flood.rest(0.2) == 0.0
    assert not flood.flooding


def test_at_the_flood_rate_the_thread_rests_so_that_it_works_its_share():
    clock, newest = Clock(), Newest()
    flood = FloodYield(rate=50, share=0.25, newest=newest, clock=clock)
    assert flood.rest(0.2) == 0.0  # the first reading: nothing to compare with yet
    newest.id += 50
    clock.at += 1
    assert flood.rest(0.2) == pytest.approx(0.6)  # 0.2 s of work in 0.8 s: a quarter
    assert flood.flooding
    half = FloodYield(rate=50, share=0.5, newest=newest, clock=clock)
    half.rest(0.1)
    newest.id += 500
    clock.at += 2
    assert half.rest(0.1) == pytest.approx(0.1)
    everything = FloodYield(rate=50, share=1.0, newest=newest, clock=clock)
    everything.rest(0.1)
    newest.id += 5000
    clock.at += 1
    assert everything.rest(0.1) == 0.0, "a share of 1 never rests"


def test_the_rate_is_read_at_most_once_a_sample_interval_and_the_flood_ends_when_it_falls():
    clock, newest = Clock(), Newest()
    flood = FloodYield(rate=50, share=0.25, newest=newest, clock=clock)
    flood.rest(0.1)
    newest.id += 200
    clock.at += 1
    assert flood.rest(0.1) > 0
    assert newest.reads == 2
    for _ in range(5):  # batches within the second: the verdict stands, the database is not asked
        clock.at += 0.1
        assert flood.rest(0.1) > 0
    assert newest.reads == 2
    clock.at += 0.5
    newest.id += 10  # the peak passed
    assert flood.rest(0.1) == 0.0
    assert not flood.flooding
    assert newest.reads == 3


@pytest.fixture
def scratch() -> Iterator:
    with scratch_database("flood") as db:
        yield db


@pytest.fixture
def engine(scratch) -> Iterator[sa.Engine]:
    engine = create_db_engine(sa_url(scratch.url))
    yield engine
    engine.dispose()


_batches = iter(range(1, 1000))


def _store(engine: sa.Engine, count: int) -> None:
    """`count` new orders/create deliveries, stored as the webhook route stores them."""
    batch = next(_batches)
    deliveries = order_deliveries(
        count, first_order_id=9_300_000_000_000 + 1000 * batch, prefix=f"flood{batch}"
    )
    with Session(engine) as session:
        for delivery in deliveries:
            inbox.receive(
                session,
                platform=Platform.shopify,
                store_slug=STORE,
                headers={k.lower(): v for k, v in delivery.headers.items()},
                body=delivery.body,
                now=NOW,
            )
        session.commit()


class Stop(threading.Event):
    """The loop's stop event, recording each wait; `during(n)` runs when the loop waits the n-th time."""

    def __init__(self, during) -> None:
        super().__init__()
        self.waits: list[float] = []
        self.during = during

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout or 0.0)
        self.during(len(self.waits))
        return self.is_set()


def test_the_inbox_thread_rests_during_a_flood_and_the_dispatch_cycle_leaves_the_backlog_to_it(
    scratch, engine
):
    """Deliveries keep arriving while the thread works (20 more at each of its first two readings
    of the rate, a second apart): it rests after the batch that saw the flood, and the cycle's sweep
    leaves the inbox alone meanwhile. Once arrivals stop it works without resting, the sweep takes
    what comes again, and everything is processed."""
    _store(engine, 20)
    clock = Clock()
    arrivals = [20, 20]
    readings: list[int] = []

    def newest() -> int:
        if arrivals:
            _store(engine, arrivals.pop())
        readings.append(jobs.newest_id(engine))
        clock.at += 1
        return readings[-1]

    swept: list[tuple[bool, int]] = []

    def during(n: int) -> None:
        if n == 2:  # the flood has passed and the thread polls an empty inbox: one more arrives
            _store(engine, 1)
            stop.set()
        swept.append((jobs._flooding.is_set(), jobs.process_inbox(NOW, engine=engine)))

    stop = Stop(during)
    flood = FloodYield(rate=5, share=0.25, newest=newest, clock=clock)
    jobs.inbox_loop(stop, lambda: NOW, batch=20, flood=flood, engine=engine)

    # Batch 1 (the first reading), batch 2 (20 arrived in a second: rest), batch 3 (none arrived:
    # no rest), then an empty pass and its poll.
    assert len(readings) == 3
    assert readings[1] - readings[0] == 20 and readings[2] == readings[1]
    assert len(stop.waits) == 2
    assert stop.waits[0] > 0, "it rested after the batch that saw the flood"
    assert stop.waits[1] == jobs.INBOX_POLL_SECONDS
    assert swept == [(True, 0), (False, 1)], "the sweep waits out the flood, then takes what arrives"
    assert not jobs._flooding.is_set()
    assert scratch.rows("SELECT status, count(*) FROM webhook_inbox GROUP BY status") == [("processed", 61)]
    assert scratch.scalar("SELECT count(*) FROM orders") == 61
