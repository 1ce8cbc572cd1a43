"""Integration work done outside requests: processing stored webhooks, sending outbound ones.

Each claim, each delivery's processing and each send's record is its own transaction, so a
killed worker loses nothing: its leases expire and the next sweep takes the rows again.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import datetime

import httpx
import sqlalchemy as sa

from app import activity
from app.config import get_settings
from app.db import background_writes, session_scope, utc_now
from app.integrations import inbox, outbound
from app.integrations.writing import write_scope

log = logging.getLogger("huitou.integrations.jobs")


def _process(ids: list[int], token: str, now: datetime, engine: sa.Engine | None = None) -> list[int]:
    woken: list[int] = []
    for message_id in ids:
        try:
            with write_scope(engine) as session:
                woken += inbox.process_claimed(session, message_id, token=token, now=now)
        except Exception:  # noqa: BLE001 - the lease expires and the sweep retries it
            log.exception("inbox processing crashed", extra={"inbox_id": message_id})
    return woken


def process_messages(message_ids: list[int]) -> None:
    """Process these deliveries now, then any they unblocked."""
    pending = message_ids
    for _ in range(3):
        now = utc_now()
        with write_scope() as session:
            ids, token = inbox.claim(session, now=now, ids=pending, limit=len(pending))
        if not ids:
            return
        pending = _process(ids, token, now)
        if not pending:
            return


class _Worker:
    """One thread per server process processes what the webhook routes just stored.

    One thread, not one per request: processors never queue for SQLite's write lock behind each
    other, and answering webhooks keeps most of the CPU. The queue is only a hint: whatever it
    drops (full, or the process stops) is still `received` in the inbox, and the dispatch sweep
    takes it.
    """

    BATCH = 50
    # While the process serves requests, process none: answering them (the agents' pages and
    # claims, webhooks) comes first, and the processing — tens of milliseconds of Python each,
    # under this process's one GIL — is left to `huitou dispatch`'s inbox thread, a process of its
    # own at a lower CPU priority. (With webhooks arriving at 20 a second, four PostgreSQL servers
    # that processed them whenever their own webhooks paused answered 122–140 claims a second in a
    # rush, 138–200 leaving it to dispatch; before that, processing one a second under a flood took
    # ~14 % of a server's time.) What arrived is processed here once the process has been quiet
    # this long, unless dispatch was first.
    BUSY_WINDOW = 0.2
    BUSY_PAUSE = 0.25

    def __init__(
        self,
        process: Callable[[list[int]], None] = process_messages,
        busy_with: activity.Activity = activity.requests,
    ) -> None:
        self.process = process
        self.busy_with = busy_with
        self.queue: queue.Queue[int] = queue.Queue(maxsize=5000)
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def submit(self, message_id: int) -> None:
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self.run, name="huitou-inbox", daemon=True)
                self.thread.start()
        with contextlib.suppress(queue.Full):  # the sweep will process it
            self.queue.put_nowait(message_id)

    def busy(self) -> bool:
        return not self.busy_with.quiet(self.BUSY_WINDOW)

    def run(self) -> None:
        while True:
            batch = [self.queue.get()]
            while self.busy():
                time.sleep(self.BUSY_PAUSE)
            while len(batch) < self.BATCH:
                try:
                    batch.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            try:
                with background_writes():  # on SQLite, webhook intake goes first
                    self.process(batch)
            except Exception:  # noqa: BLE001 - the rows stay received; the sweep retries them
                log.exception("inbox worker batch failed")


_worker = _Worker()


def process_message_soon(message_id: int) -> None:
    """Right after the response: hand the stored delivery to this process's inbox worker."""
    _worker.submit(message_id)


def _process_due(now: datetime, limit: int, engine: sa.Engine | None = None) -> int:
    with write_scope(engine) as session:
        ids, token = inbox.claim(session, now=now, limit=limit)
    _process(ids, token, now, engine)
    return len(ids)


def process_inbox(now: datetime, limit: int = 200, engine: sa.Engine | None = None) -> int:
    """`huitou dispatch` job: received deliveries nobody processed yet, and failures due a retry.
    While webhooks flood in, the inbox thread processes at its share (FloodYield) and this leaves it."""
    if _flooding.is_set():
        return 0
    return _process_due(now, limit, engine)


class FloodYield:
    """While webhooks flood in, the inbox thread works `share` of its time and rests the rest.

    At a 大促 peak the servers' first duty is answering storefronts: a delivery answered late is
    sent again (more load), and a storefront that keeps failing drops the subscription. Stored
    deliveries are durable; they are processed at this share while the flood lasts and at full
    speed once it passes. A lower CPU priority had not done this (docs/performance.md, stops 26
    and 27): the two workers still took half a core during a flood.

    The arrival rate is read from the inbox's newest id, at most once a `SAMPLE_SECONDS`."""

    SAMPLE_SECONDS = 1.0

    def __init__(
        self,
        rate: float,
        share: float,
        newest: Callable[[], int],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.share = share
        self.newest = newest
        self.clock = clock
        self.sample: tuple[float, int] | None = None
        self.flooding = False

    def observe(self) -> bool:
        """Whether deliveries arrived at `rate` or faster over the last sample's interval."""
        at = self.clock()
        if self.sample is not None and at - self.sample[0] < self.SAMPLE_SECONDS:
            return self.flooding
        newest = self.newest()
        if self.sample is not None:
            self.flooding = (newest - self.sample[1]) / (at - self.sample[0]) >= self.rate
        self.sample = (at, newest)
        return self.flooding

    def rest(self, worked: float) -> float:
        """How long to rest after working `worked` seconds: none unless webhooks flood in."""
        if not self.observe():
            return 0.0
        return worked * (1 - self.share) / self.share


# Set while the inbox thread yields to a flood: the dispatch cycle's `process_inbox` leaves the
# backlog to it rather than working through 200 deliveries at full speed every cycle.
_flooding = threading.Event()


def newest_id(engine: sa.Engine | None = None) -> int:
    with session_scope(engine, write=False) as session:
        return inbox.newest_id(session)


INBOX_POLL_SECONDS = 0.5


def inbox_loop(
    stop: threading.Event,
    clock: Callable[[], datetime],
    batch: int = 20,
    flood: FloodYield | None = None,
    engine: sa.Engine | None = None,
) -> None:
    """`huitou dispatch`'s inbox thread: what the servers stored and did not process themselves
    (they leave it here while webhooks keep arriving) is processed within a poll, not at the next
    cycle of the periodic jobs (which can take seconds: the rollup refresh, the SLA sweep)."""
    if flood is None:
        settings = get_settings()
        flood = FloodYield(settings.inbox_flood_rate, settings.inbox_flood_share, lambda: newest_id(engine))
    with background_writes():
        while not stop.is_set():
            started = time.monotonic()
            try:
                done = _process_due(clock(), batch, engine)
                rest = flood.rest(time.monotonic() - started) if done else 0.0
            except Exception:  # noqa: BLE001 - the rows stay due; the next poll retries them
                log.exception("inbox thread pass failed")
                done, rest = 0, 0.0
            if flood.flooding:
                _flooding.set()
            else:
                _flooding.clear()
            if not done:
                stop.wait(INBOX_POLL_SECONDS)
            elif rest:
                stop.wait(rest)
        _flooding.clear()


def send_webhooks(now: datetime, limit: int = 100) -> int:
    """`huitou dispatch` job: outbound deliveries that are due."""
    with session_scope() as session:
        ids, token = outbound.claim(session, now=now, limit=limit)
    if not ids:
        return 0
    with httpx.Client(timeout=outbound.TIMEOUT, follow_redirects=False) as client:
        for delivery_id in ids:
            with session_scope(write=False) as session:
                # Signed when sent: a slow batch must not send signatures older than the receiver accepts.
                prepared = outbound.prepare(session, delivery_id, token=token, now=utc_now())
            if prepared is None:
                continue
            result = outbound.post(prepared, client)
            with session_scope() as session:
                outbound.record(session, prepared, result, token=token, now=utc_now())
    return len(ids)
