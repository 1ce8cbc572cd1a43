"""Webhook intake by group commit: one thread per process stores the deliveries of many requests
in one write transaction.

A request hands its delivery to the intake thread and waits for the answer. Each pass of the
thread takes every delivery waiting (at most MAX_BATCH), checks each (store, signature, JSON),
inserts the good ones with one INSERT in one transaction and commits once; only then does any of
them get its answer, so an acknowledged delivery is always stored. Nothing waits for a batch to
fill: a delivery arriving alone is stored alone, at once. Under a flood the commit, SQLite's write
lock and the thread hops are paid once per batch instead of once per delivery
(scripts/bench/load.py's webhook flood; docs/performance.md).

A delivery the checks refuse gets its own error and does not touch the others. If the batch's
transaction fails on the data (a constraint), each delivery is stored again in a transaction of
its own, so one bad row cannot lose the others; if the database itself is unavailable (locked,
gone), every delivery of the batch gets that error (503, the sender retries).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from app.config import get_settings
from app.db import get_engine, new_session, return_idle, session_scope
from app.integrations import inbox
from app.integrations.models import Platform

log = logging.getLogger("huitou.integrations.intake")

MAX_BATCH = 64


@dataclass
class _Pending:
    values: dict[str, Any]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[inbox.Receipt]
    asked: float
    timing: dict[str, float]
    checked: inbox.Verified | None = None
    outcome: inbox.Receipt | BaseException | None = field(default=None, repr=False)


def _settle(answers: list[tuple[asyncio.Future[inbox.Receipt], inbox.Receipt | BaseException]]) -> None:
    for future, outcome in answers:
        if future.done():  # the request was cancelled (its client went away)
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)


class Intake:
    """The intake thread of this process (started with the first delivery, again after a fork)."""

    def __init__(self, max_batch: int = MAX_BATCH, engine: sa.Engine | None = None) -> None:
        self.max_batch = max_batch
        self.engine = engine  # None: the process's database (app.db.get_engine)
        self._queue: queue.SimpleQueue[_Pending] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._guard = threading.Lock()
        self.batches = 0  # write transactions committed, and the deliveries they stored
        self.stored = 0
        self._held: sa.Connection | None = None  # PostgreSQL: see _connection
        self._held_idle_since = 0.0

    async def __call__(
        self,
        *,
        platform: Platform,
        store_slug: str,
        headers: Mapping[str, str],
        body: bytes,
        now: datetime,
        timing: dict[str, float] | None = None,
    ) -> inbox.Receipt:
        loop = asyncio.get_running_loop()
        pending = _Pending(
            values={
                "platform": platform,
                "store_slug": store_slug,
                "headers": headers,
                "body": body,
                "now": now,
            },
            loop=loop,
            future=loop.create_future(),
            asked=time.perf_counter(),
            timing=timing if timing is not None else {},
        )
        self._ensure_thread()
        self._queue.put(pending)
        # A request cancelled meanwhile (its client went away) cancels only its wait: the
        # delivery handed over is stored all the same (sent again, it is answered "duplicate").
        return await pending.future

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        with self._guard:
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                if self._pid != os.getpid():
                    self._queue = queue.SimpleQueue()
                    self._held = None  # the parent's connection is not this process's to use
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="huitou-intake", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            started = time.perf_counter()
            try:
                self.store_batch(batch)
            except BaseException as exc:  # never lose the thread; every request gets an answer
                log.exception("webhook intake: a batch of %d failed", len(batch))
                for pending in batch:
                    if pending.outcome is None:
                        pending.outcome = exc
            finished = time.perf_counter()
            # The answers go back to each event loop at once: one wake-up per loop, not per request.
            answers: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[inbox.Receipt], Any]]] = {}
            for pending in batch:
                pending.timing["queue"] = started - pending.asked  # waiting for the intake thread
                pending.timing["store"] = finished - started  # the batch's checks, lock and commit
                answers.setdefault(pending.loop, []).append((pending.future, pending.outcome))
            for loop, settled in answers.items():
                # RuntimeError: the requests' event loop is closed, nobody is waiting.
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(_settle, settled)

    def store_batch(self, batch: list[_Pending]) -> None:
        """Check each delivery, then store the good ones in one transaction (see the module)."""
        self.check(batch)
        self.store_checked(batch)

    def check(self, batch: list[_Pending]) -> None:
        # The checks read only the store's secrets, cached: outside the write transaction. The
        # session takes a connection only when the cache misses, and is closed, not committed.
        session = new_session(self.engine)
        try:
            for pending in batch:
                try:
                    checked = inbox.verify(session, **pending.values)
                except Exception as exc:
                    pending.outcome = exc
                    continue
                if isinstance(checked, inbox.Receipt):
                    pending.outcome = checked
                else:
                    pending.checked = checked
        finally:
            session.close()

    def store_checked(self, batch: list[_Pending]) -> None:
        todo = [p for p in batch if p.checked is not None and p.outcome is None]
        if not todo:
            return
        try:
            self._store(todo)
        except sa.exc.OperationalError as exc:  # the database, not the data: every one retries
            for pending in todo:
                pending.outcome = exc
        except Exception:
            if len(todo) == 1:
                raise
            log.warning("webhook intake: a batch of %d failed; storing each on its own", len(todo))
            for pending in todo:
                try:
                    self._store([pending])
                except Exception as exc:
                    pending.outcome = exc

    def _connection(self, engine: sa.Engine) -> sa.Connection:
        """The intake's autocommit connection (PostgreSQL). Kept between batches that follow each
        other within the pool's ping interval (a flood): taking it from the pool, switching it to
        autocommit and giving it back cost a quarter of a one-delivery batch's CPU (stop 27). One
        idle longer goes back to the pool as idle that long, so the next checkout pings it, as
        every request's does: a database restart between batches costs no delivery."""
        held = self._held
        if held is not None and (
            held.engine is not engine
            or time.monotonic() - self._held_idle_since >= get_settings().db_ping_after_idle_seconds
        ):
            self._held = None
            return_idle(held, self._held_idle_since)
        if self._held is None:
            self._held = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        return self._held

    def _release(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            held.close()

    def _store(self, todo: list[_Pending]) -> None:
        checked = [p.checked for p in todo if p.checked is not None]
        engine = self.engine or get_engine()
        if engine.dialect.name == "postgresql":
            # One INSERT in autocommit mode is its own transaction, committed (its WAL flushed)
            # when it returns: one round trip to the server instead of three (BEGIN, INSERT,
            # COMMIT), and no ORM session (docs/performance.md, stop 26).
            conn = self._connection(engine)
            try:
                receipts = inbox.store_many(conn, checked)
            except BaseException:
                self._release()  # a broken connection is not kept (the pool discards a dead one)
                raise
            self._held_idle_since = time.monotonic()
        else:
            # SQLite: a write transaction holding the write lock (BEGIN IMMEDIATE, app.db).
            with session_scope(self.engine) as session:
                receipts = inbox.store_many(session, checked)
        # Committed: now, and only now, the answers.
        for pending, receipt in zip(todo, receipts, strict=True):
            pending.outcome = receipt
        self.batches += 1
        self.stored += len(todo)


intake = Intake()
