"""Engine, naming convention, column types (aware UTC times, exact money) and sessions."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

import anyio
import sqlalchemy as sa
from anyio.lowlevel import RunVar
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, SQLModel

from app.config import get_settings

log = logging.getLogger("huitou.db")

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: the writers of one process still queue
    fcntl = None  # type: ignore[assignment]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every engine (SQLite stores them naive)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; pass an aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


CENTS = Decimal("0.01")


class Money(TypeDecorator):
    """Money as Decimal in Python, integer minor units (cents) in the database.

    Integers keep sums exact on SQLite too, where NUMERIC would pass through float.
    """

    impl = sa.BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | int | str | None, dialect: Any) -> int | None:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("money must be Decimal, never float")
        try:
            amount = Decimal(value)
        except InvalidOperation as exc:
            raise ValueError(f"not an amount of money: {value!r}") from exc
        if amount != amount.quantize(CENTS):
            raise ValueError(f"money has at most 2 decimal places: {value!r}")
        return int((amount * 100).to_integral_value(rounding=ROUND_HALF_UP))

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        if value is None:
            return None
        return (Decimal(int(value)) / 100).quantize(CENTS)

    @property
    def python_type(self) -> type:
        return Decimal


def utc_now(now: datetime | None = None) -> datetime:
    """The edge's clock: routes and jobs call this and pass the result down."""
    return now if now is not None else datetime.now(UTC)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy emit BEGIN itself (pysqlite's own transaction handling breaks SAVEPOINT).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # The WAL is copied back into the database file by the process's checkpointer thread (below),
    # not by whichever writer's COMMIT crosses SQLite's 1,000-page mark.
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    # When the WAL starts over, a file grown beyond this is cut back to it.
    cursor.execute(f"PRAGMA journal_size_limit={int(WAL_RESTART_BYTES)}")
    cursor.close()


# SQLite has one writer at a time. A writer that finds the lock taken sleeps in SQLite's busy
# handler in steps of up to 100 ms, so under load most of the time goes to sleeping while the lock
# is free (measured by scripts/bench/load.py: webhooks waiting seconds with the CPU idle). Huitou's
# writers therefore queue for the database first — the threads of a process on a lock, the
# processes (server, dispatch) on an flock of a file beside the database — and are handed it at
# once; SQLite's busy timeout only applies to writers from outside (a backup, a sqlite3 shell).
WRITER_WAIT_SECONDS = 10.0  # as long as the busy timeout


_background: ContextVar[bool] = ContextVar("huitou_background_writes", default=False)
BACKGROUND_YIELD_SECONDS = 1.0  # a background writer waits at most this long for the foreground
FOREGROUND_LINGER_SECONDS = 0.02


@contextlib.contextmanager
def background_writes() -> Iterator[None]:
    """Write transactions opened here (the dispatch jobs, the inbox worker) let the foreground
    (requests, webhook intake) go first on SQLite: they wait while a foreground writer of any
    process waits, for up to BACKGROUND_YIELD_SECONDS each."""
    token = _background.set(True)
    try:
        yield
    finally:
        _background.reset(token)


def _flock_retry(fd: int, operation: int, deadline: float) -> bool:
    pause = 0.0002
    while True:
        try:
            fcntl.flock(fd, operation | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(pause)
            pause = min(pause * 2, 0.002)


# A background writer that has waited this long beyond its yield (a flood of webhooks keeps the
# foreground writing back to back) raises a flag; foreground writers of every process then make
# way for up to FOREGROUND_MAKE_WAY_SECONDS before they queue. Without it a worker polling for the
# lock across processes rarely caught the instant between two foreground transactions, gave up
# after WRITER_WAIT_SECONDS, and left its claimed webhooks leased (seen in scripts/bench/run.sh).
BACKGROUND_STARVE_SECONDS = 1.0
FOREGROUND_MAKE_WAY_SECONDS = 0.1


class _SqliteWriter:
    """The right to open a write transaction on one database file, in this process and across
    the processes on this machine; foreground writers first, background ones not forever last."""

    SUFFIXES = {
        "writer": "-writer",
        "fg": "-writer-fg",
        "probe": "-writer-fg",
        "bg": "-writer-bg",
        "bg-probe": "-writer-bg",
    }

    def __init__(self, path: str | None) -> None:
        self.thread_lock = threading.Lock()
        self.path = path
        self._fds: dict[str, int] = {}
        self._pid = 0
        self._waiting = 0  # foreground threads of this process waiting for the writer
        self._starving = 0  # background threads of this process that waited too long
        self._waiting_guard = threading.Lock()
        self.holder_is_foreground = False

    def _fd(self, name: str) -> int:
        if self._pid != os.getpid():  # a forked child opens its own
            self._fds, self._pid = {}, os.getpid()
        if name not in self._fds:
            # Each name its own open file, so its own lock (flock locks belong to open files).
            self._fds[name] = os.open(f"{self.path}{self.SUFFIXES[name]}", os.O_RDWR | os.O_CREAT, 0o600)
        return self._fds[name]

    def _flag(self, name: str, delta: int) -> None:
        """While any thread of this process is in the state, the process holds a shared lock on
        the state's file ("fg": a foreground writer waits; "bg": a background one starves); the
        other side probes it with an exclusive one."""
        with self._waiting_guard:
            count = (self._waiting if name == "fg" else self._starving) + delta
            if name == "fg":
                self._waiting = count
            else:
                self._starving = count
            if delta > 0 and count == 1:
                _flock_retry(self._fd(name), fcntl.LOCK_SH, time.monotonic() + 1)
            elif delta < 0 and count == 0:
                fcntl.flock(self._fd(name), fcntl.LOCK_UN)

    def _yield_to_foreground(self) -> None:
        """Wait while a foreground writer waits, or wrote within FOREGROUND_LINGER_SECONDS (the
        next webhook is usually a millisecond away: a background transaction started in that gap
        would make it wait tens of milliseconds)."""
        probe = self._fd("probe")  # its own open file: a lock of its own
        deadline = time.monotonic() + BACKGROUND_YIELD_SECONDS
        while time.monotonic() < deadline:
            if _flock_retry(probe, fcntl.LOCK_EX, deadline):
                fcntl.flock(probe, fcntl.LOCK_UN)
                if time.time() - os.fstat(self._fd("fg")).st_mtime > FOREGROUND_LINGER_SECONDS:
                    return
            time.sleep(0.002)

    def _make_way_for_starving_background(self) -> None:
        """A foreground writer waits (briefly) while a background writer of any process starves."""
        probe = self._fd("bg-probe")
        until = time.monotonic() + FOREGROUND_MAKE_WAY_SECONDS
        while True:
            try:
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= until:
                    return
                time.sleep(0.001)
                continue
            fcntl.flock(probe, fcntl.LOCK_UN)
            return

    def acquire(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        if self.path is None or fcntl is None:
            return self.thread_lock.acquire(timeout=timeout)
        if _background.get():
            return self._acquire_background(deadline)
        self._flag("fg", +1)
        try:
            self._make_way_for_starving_background()
            if not self.thread_lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
                return False
            if _flock_retry(self._fd("writer"), fcntl.LOCK_EX, deadline):
                self.holder_is_foreground = True
                return True
            self.thread_lock.release()
            return False
        finally:
            self._flag("fg", -1)

    def _acquire_background(self, deadline: float) -> bool:
        self._yield_to_foreground()
        starving_at = time.monotonic() + BACKGROUND_STARVE_SECONDS
        starving = False
        try:
            while True:
                now = time.monotonic()
                if not starving and now >= starving_at:
                    self._flag("bg", +1)
                    starving = True
                if not self.thread_lock.acquire(timeout=max(0.0, min(deadline, starving_at) - now)):
                    if time.monotonic() >= deadline:
                        return False
                    continue
                # It does not keep the process's turn while a foreground thread of this process
                # waits for it (it would then wait on the other processes with the foreground
                # queued behind it) — unless it has waited too long already.
                if starving or not self._waiting:
                    break
                self.thread_lock.release()
                time.sleep(0.001)
            while True:
                if _flock_retry(self._fd("writer"), fcntl.LOCK_EX, deadline if starving else starving_at):
                    self.holder_is_foreground = False
                    return True
                if starving or time.monotonic() >= deadline:
                    self.thread_lock.release()
                    return False
                self._flag("bg", +1)
                starving = True
        finally:
            if starving:
                self._flag("bg", -1)

    def release(self) -> None:
        if self.path is not None and fcntl is not None:
            if self.holder_is_foreground:
                os.utime(self._fd("fg"))  # "the foreground wrote just now", for _yield_to_foreground
            fcntl.flock(self._fd("writer"), fcntl.LOCK_UN)
        self.thread_lock.release()


# One writer per database file, shared by every engine of the process on that file.
_writers: dict[str, _SqliteWriter] = {}
_writers_guard = threading.Lock()


def _writer_for(path: str) -> _SqliteWriter:
    if not path or path == ":memory:":
        return _SqliteWriter(None)
    key = str(Path(path).resolve())
    with _writers_guard:
        return _writers.setdefault(key, _SqliteWriter(key))


def _sqlite_begin_with(writer: _SqliteWriter) -> Any:
    def begin(conn: sa.Connection) -> None:
        # Writers take the write lock up front so a read-then-write never fails with SQLITE_BUSY
        # halfway; readers use a deferred transaction and never block writers (WAL).
        if not conn.get_execution_options().get("sqlite_immediate"):
            conn.exec_driver_sql("BEGIN")
            return
        started = time.perf_counter()
        if not writer.acquire(WRITER_WAIT_SECONDS):
            # As SQLAlchemy reports SQLite's own "database is locked" (the app answers 503).
            locked = sqlite3.OperationalError("database is locked (waited for Huitou's other writers)")
            raise sa.exc.OperationalError("BEGIN IMMEDIATE", None, locked)
        conn.info["huitou_writer"] = writer
        conn.info["huitou_lock_wait"] = time.perf_counter() - started  # for Server-Timing
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _release_writer(conn.info)
            raise

    return begin


def _release_writer(info: dict[str, Any]) -> None:
    writer = info.pop("huitou_writer", None)
    if writer is not None:
        writer.release()


def _sqlite_checkin(_dbapi_connection: Any, record: Any) -> None:
    _release_writer(record.info)


# SQLite's automatic checkpoint runs inside the COMMIT that makes the WAL pass 1,000 pages: that
# writer copies the WAL into the database file and syncs it before its commit returns — tens of
# milliseconds at the reference dataset's size, 2.5 s for a fresh copy's first — while holding
# Huitou's writer queue (every request that writes waits). A checkpoint needs no write lock, so
# here a thread of each process that opens the database copies the WAL back on its own
# connection, once a second while something has been written.
CHECKPOINT_POLL_SECONDS = 1.0
WAL_RESTART_BYTES = 64 * 1024 * 1024


class _Checkpointer:
    def __init__(self) -> None:
        self._paths: dict[str, float] = {}  # database file -> WAL mtime at its last checkpoint
        self._guard = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self.checkpoints = 0
        self.last: tuple[int, int, int] | None = None  # (busy, WAL frames, frames checkpointed)

    def watch(self, path: str) -> None:
        with self._guard:
            self._paths.setdefault(path, 0.0)
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="huitou-checkpoint", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(CHECKPOINT_POLL_SECONDS)
            with self._guard:
                paths = list(self._paths)
            for path in paths:
                try:
                    self.checkpoint_if_written(path)
                except Exception:  # noqa: BLE001 - the next poll tries again; writers are unaffected
                    log.exception("WAL checkpoint failed", extra={"database": path})

    def checkpoint_if_written(self, path: str) -> bool:
        """Checkpoint (PASSIVE: readers and writers go on meanwhile) if the WAL changed since the
        last one. True if one ran."""
        wal = f"{path}-wal"
        try:
            written = os.stat(wal).st_mtime
        except FileNotFoundError:
            if not os.path.exists(path):  # the database is gone (a test's, a removed copy)
                with self._guard:
                    self._paths.pop(path, None)
            return False
        if written == self._paths.get(path):
            return False
        self._checkpoint(path)
        if os.stat(wal).st_size > WAL_RESTART_BYTES:
            # Writers append while it copies, and may for as long as they write back to back; the
            # WAL only starts over (and is cut back to WAL_RESTART_BYTES) when a writer begins
            # right after a checkpoint has caught up with all of it. Catch up once more with
            # Huitou's writers held back (as a background writer: requests first), so the next
            # writer starts the WAL over instead of growing it further.
            token = _background.set(True)
            writer = _writer_for(path)
            try:
                if writer.acquire(WRITER_WAIT_SECONDS):
                    try:
                        self._checkpoint(path)
                    finally:
                        writer.release()
            finally:
                _background.reset(token)
        with self._guard:
            self._paths[path] = written
        return True

    def _checkpoint(self, path: str) -> tuple[int, int, int]:
        connection = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
        try:
            connection.execute("PRAGMA synchronous=NORMAL")
            busy, frames, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        finally:
            connection.close()
        self.checkpoints += 1
        self.last = (busy, frames, copied)
        return busy, frames, copied


_checkpointer = _Checkpointer()


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    settings = get_settings()
    # A database error's message would otherwise carry the statement's values (a buyer's phone,
    # address, message text) into logs and tracebacks.
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            _checkpointer.watch(str(Path(path).resolve()))
        if path and path != ":memory:" and "poolclass" not in kwargs:
            kwargs.setdefault("pool_size", settings.db_pool_size)
            kwargs.setdefault("max_overflow", settings.db_max_overflow)
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 10}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_with(_writer_for(path)))
        # A write transaction ends when its connection goes back to the pool (commit, rollback,
        # or an invalidated connection): the next writer of this process may begin.
        event.listen(engine, "checkin", _sqlite_checkin)
        event.listen(engine, "invalidate", lambda _c, record, _e: _release_writer(record.info))
        return engine
    ping_idle = "poolclass" not in kwargs and "pool_pre_ping" not in kwargs
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", settings.db_pool_size)
        kwargs.setdefault("max_overflow", settings.db_max_overflow)
        # A database host that stops answering (rather than refusing) must not hang requests.
        kwargs.setdefault("connect_args", {"connect_timeout": 5})
    engine = sa.create_engine(url, **kwargs)
    if ping_idle:
        _ping_when_idle(engine, settings.db_ping_after_idle_seconds)
    return engine


def _ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """SQLAlchemy's pool_pre_ping, for connections that sat in the pool `idle_seconds` or more.

    A pooled connection can have died while it waited (the database restarted or failed over, a
    firewall dropped an idle socket); a ping before use finds out and the pool reconnects, so the
    request never sees it. pool_pre_ping pings at every checkout: a round trip per request, one of
    the six a claim makes (docs/performance.md, stop 24). Under load a connection is back in use
    within milliseconds of being returned, so only connections idle for a while are pinged; a
    database that restarts faster than that can fail the first request of such a connection with
    503 (a disconnect invalidates the whole pool, so only the first): a webhook's sender retries
    it, an agent is asked to try again."""
    dialect = engine.dialect

    @event.listens_for(engine, "connect")
    def _fresh(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is not None and time.monotonic() - idle_since < idle_seconds:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            # As pool_pre_ping does: every pooled connection is suspect; this checkout reconnects.
            raise sa.exc.InvalidatePoolError(f"ping failed: {type(exc).__name__}") from exc


def return_idle(conn: sa.Connection, idle_since: float) -> None:
    """Give back to the pool a connection kept out of it while unused since `idle_since`
    (time.monotonic()): its next checkout pings it as one that sat in the pool that long."""
    info = conn.info  # the pool's record of the connection, which outlives this checkout
    conn.close()
    info["idle_since"] = idle_since


@lru_cache
def get_engine() -> Engine:
    return create_db_engine(get_settings().database_url)


_reading: dict[Engine, Engine] = {}  # a writing engine → the engine it was made from


@lru_cache(maxsize=16)
def _writing(engine: Engine) -> Engine:
    # The same pool and event listeners; its connections carry the option the begin hook reads.
    writing = engine.execution_options(sqlite_immediate=True)
    _reading[writing] = engine
    return writing


@contextlib.contextmanager
def reads_first(session: Session) -> Iterator[None]:
    """Reads a writing request makes before it writes (who is logged in) run in a transaction of
    their own that ends here, so its writing transaction — on SQLite, the write lock — begins
    with the route's own first statement, in the route's thread, and is not held meanwhile while
    the request goes back to the event loop and waits for another thread."""
    bind = session.bind
    if (
        session.in_transaction()
        or not isinstance(bind, Engine)
        or bind not in _reading
        or bind.dialect.name != "sqlite"  # PostgreSQL's writers lock rows, not the database
    ):
        yield
        return
    session.bind = _reading[bind]
    try:
        yield
        session.commit()
    finally:
        session.bind = bind


def commit_writes(session: Session) -> None:
    """Commit what the request wrote, now; what it still reads (the page it renders afterwards)
    runs in a reading transaction, which on SQLite does not hold the write lock."""
    session.commit()
    if isinstance(session.bind, Engine) and session.bind in _reading:
        session.bind = _reading[session.bind]


def new_session(engine: Engine | None = None, *, write: bool = False) -> Session:
    """A session that takes no connection until its first statement. A writing one begins each of
    its transactions holding SQLite's write lock (BEGIN IMMEDIATE, see _sqlite_begin_with), taken
    then and not before: the lock is not held while a request still waits for a thread."""
    engine = engine or get_engine()
    return Session(_writing(engine) if write else engine, expire_on_commit=False)


@event.listens_for(Session, "after_begin")
def _report_lock_wait(session: Session, _transaction: Any, connection: sa.Connection) -> None:
    waited = connection.info.pop("huitou_lock_wait", None)
    timing = session.info.get("timing")
    if waited is not None and timing is not None:
        timing["lock"] = timing.get("lock", 0.0) + waited


@contextlib.contextmanager
def session_scope(engine: Engine | None = None, *, write: bool = True) -> Iterator[Session]:
    """A unit of work for jobs and the CLI: commit on success, roll back on error."""
    session = new_session(engine, write=write)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


# Connections of a server process's pool that requests never take: the webhook route's ingest
# thread (app.integrations.intake: a reading then a writing session), its inbox worker and /healthz.
RESERVED_CONNECTIONS = 6
_request_slots: RunVar[dict[str, anyio.Semaphore]] = RunVar("huitou_request_sessions")


def request_session_limit() -> int:
    """How many requests may hold a database session at once in this process."""
    settings = get_settings()
    return max(1, settings.db_pool_size + settings.db_max_overflow - RESERVED_CONNECTIONS)


# On SQLite a request is Python under the process's one GIL and queries in the same process:
# beyond a few at once each only runs slower, and a writer holding the write lock runs slowest
# of all (it shares the GIL with every reader). So SQLite serves at most this many reading and
# writing requests at once, the rest waiting without a thread (the mixed-load benchmark, tiny
# dataset, when webhooks were stored by requests: webhook p95 1.3-11 s with 6 + 3, 0.12 s with
# 3 + 1). Webhooks now go to the intake thread, not to these slots; with 3 readers an agent's
# workbench (counts, rows, own figures and targets at once) queued behind itself — queue rows
# p95 100 ms, 34 of them waiting for a slot — and with 5, 48 ms and 1 (reference dataset,
# docs/performance.md, stop 20).
SQLITE_SLOTS = (5, 2)


# Supervisors' report pages read a month's figures for a team or the whole desk (hundreds of
# milliseconds at a million orders, seconds under load): they have slots of their own, so a
# dashboard never keeps the desk's queues and tickets waiting (seen in scripts/bench/run.sh: read
# slots held by /reports while queue polls queued for seconds). An agent's own figures
# (/reports/me/…) are part of the desk and read with it: fifty agents opening their workbench
# at once queued for ten seconds behind a single report slot.
REPORT_PATHS = ("/reports", "/api/v1/metrics")


def slot_kind(method: str, path: str) -> str:
    """Which slots a request waits for: "write", "report" or "read"."""
    if method in UNSAFE_METHODS:
        return "write"
    if path.startswith(REPORT_PATHS) and not path.startswith("/reports/me"):
        return "report"
    return "read"


def slot_sizes(limit: int, sqlite: bool) -> dict[str, int]:
    """A third of the sessions (at least one) for writes; of the rest a quarter (at least one) for
    reports; on SQLite at most SQLITE_SLOTS readers and writers and one report."""
    write = max(1, limit // 3)
    reads = max(2, limit - write)
    report = max(1, reads // 4)
    sizes = {"write": write, "read": reads - report, "report": report}
    if sqlite:
        sizes = {
            "write": min(write, SQLITE_SLOTS[1]),
            "read": min(sizes["read"], SQLITE_SLOTS[0]),
            "report": 1,
        }
    return sizes


def _slots(kind: str) -> anyio.Semaphore:
    """Separate slots for reading, writing and report requests, so slow pages never keep writes
    (a reply, a claim) from starting, nor reports the desk's reads."""
    try:
        slots = _request_slots.get()
    except LookupError:
        sizes = slot_sizes(request_session_limit(), get_settings().is_sqlite)
        slots = {kind: anyio.Semaphore(size) for kind, size in sizes.items()}
        _request_slots.set(slots)
    return slots[kind]


# A request that waits this long for a session logs who holds them: the route, for how long, and
# whether it is running SQL (a slow statement) or not (waiting for a thread, a lock, the GIL).
SLOW_SLOT_SECONDS = 1.0


class _Holder:
    __slots__ = ("label", "kind", "since", "sql", "sql_since")

    def __init__(self, label: str, kind: str, since: float) -> None:
        self.label, self.kind, self.since = label, kind, since
        self.sql: str | None = None
        self.sql_since = 0.0

    def describe(self, now: float) -> str:
        doing = "between statements"
        if self.sql is not None:
            statement = " ".join(self.sql.split())[:80]
            doing = f"in SQL for {(now - self.sql_since) * 1000:.0f} ms: {statement}"
        return f"{self.label} for {(now - self.since) * 1000:.0f} ms, {doing}"


_holders: dict[int, _Holder] = {}
# The request's holder, seen by the threads its dependencies and route run in (their context is
# copied from the request's), for the statement hooks below.
_holder: ContextVar[_Holder | None] = ContextVar("huitou_session_holder", default=None)


@event.listens_for(Engine, "before_cursor_execute")
def _holder_in_sql(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
    holder = _holder.get()
    if holder is not None:
        holder.sql, holder.sql_since = statement, time.perf_counter()


@event.listens_for(Engine, "after_cursor_execute")
def _holder_out_of_sql(*_args: Any) -> None:
    holder = _holder.get()
    if holder is not None:
        holder.sql = None


def _log_slot_holders(kind: str, waiter: str) -> None:
    now = time.perf_counter()
    holding = [h.describe(now) for h in list(_holders.values()) if h.kind == kind]
    threads = anyio.to_thread.current_default_thread_limiter()
    log.warning(
        "%s waited over %g s for a %s session; %d held by: %s; worker threads busy %d of %d",
        waiter,
        SLOW_SLOT_SECONDS,
        {"write": "writing", "read": "reading", "report": "report"}[kind],
        len(holding),
        "; ".join(holding) or "none",
        threads.borrowed_tokens,
        threads.total_tokens,
    )


def _rollback(session: Session) -> None:
    # The error page is rendered after this, with the agent the request loaded (nav, name,
    # access log): detach it as loaded, or the rollback expires it and reading it fails (500).
    session.expunge_all()
    session.rollback()


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's unit of work: committed before the response is sent, rolled back on error.

    A request waits (without a thread) for one of request_session_limit() slots before it takes a
    connection, so no worker thread ever blocks on an empty pool. Without that, under more
    concurrent requests than the thread pool has threads (40), every thread could be waiting for
    a connection held by requests that wait for a thread to run their route: a deadlock that
    lasts until the pool's timeout, found by the mixed-load benchmark (scripts/bench/load.py).

    A writing request's transaction begins with its route's first statement (who is
    logged in is read before, see reads_first), so on SQLite it holds the write lock only while
    its route runs: writers wait for the lock in their threads, on their own slots.
    """
    write = request.method in UNSAFE_METHODS
    timing = request.scope.get("state", {}).get("timing", {})  # for the Server-Timing header
    started = time.perf_counter()
    kind, label = slot_kind(request.method, request.url.path), f"{request.method} {request.url.path}"
    slots = _slots(kind)
    # A timer, not a timeout: the request keeps its place in the queue.
    slow = asyncio.get_running_loop().call_later(SLOW_SLOT_SECONDS, _log_slot_holders, kind, label)
    try:
        await slots.acquire()
    finally:
        slow.cancel()
    holder = _Holder(label, kind, time.perf_counter())
    _holders[id(holder)] = holder
    _holder.set(holder)
    try:
        timing["queue"] = time.perf_counter() - started
        # No connection yet: the first query, in the thread of the dependency or route that makes
        # it, begins the transaction (a writing one on SQLite waits there for the write lock).
        session = new_session(write=write)
        session.info["timing"] = timing
        try:
            yield session
            ending = time.perf_counter()
            if session.in_transaction():
                with anyio.CancelScope(shield=True):
                    await run_in_threadpool(_commit_and_close, session)
            else:
                # The route committed in its own thread (commit_writes: a claim, a heartbeat)
                # and read nothing after: nothing to send, so no hop to the thread pool.
                session.close()
            timing["commit"] = time.perf_counter() - ending
        except BaseException:
            with anyio.CancelScope(shield=True):
                await run_in_threadpool(_rollback_and_close, session)
            raise
    finally:
        _holder.set(None)
        del _holders[id(holder)]
        slots.release()


def _commit_and_close(session: Session) -> None:
    # One hop to the thread pool for both: each hop is a GIL hand-over between threads.
    try:
        session.commit()
    finally:
        session.close()


def _rollback_and_close(session: Session) -> None:
    try:
        _rollback(session)
    finally:
        session.close()


# scope="function": the commit runs when the route returns, before the response goes out.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


AUTOCOMMIT = "AUTOCOMMIT"


def autocommit_on_postgres(session: Session) -> None:
    """On PostgreSQL, run the session's next statements without a transaction: each commits by
    itself, and BEGIN and COMMIT, two of a claim's five round trips, are not sent (the session's
    commit is then a no-op and the pool restores the connection's isolation level on return).
    Only for work whose writes are each one atomic statement and whose reads need no snapshot
    ("next ticket": who is logged in, the queues, one UPDATE … SKIP LOCKED). Call it before the
    session's first statement; elsewhere (SQLite: BEGIN IMMEDIATE is the write lock) nothing."""
    # A session bound to a connection (a test's, inside its transaction) is left as it is.
    if isinstance(session.bind, Engine) and is_postgres(session) and not session.in_transaction():
        session.connection(execution_options={"isolation_level": AUTOCOMMIT})


def in_autocommit(session: Session) -> bool:
    """Whether the session's statements run without a transaction (autocommit_on_postgres): a
    savepoint cannot be taken there, and a failed statement undoes only itself."""
    return (
        session.in_transaction()
        and session.connection().get_execution_options().get("isolation_level") == AUTOCOMMIT
    )


def broad(condition: Any, dialect: str) -> Any:
    """A condition most rows of the range being read meet, said so to SQLite's planner
    (likelihood()): otherwise, for an index that starts with the condition's column, it may read
    that index's whole range instead of the selective one (PostgreSQL keeps real statistics)."""
    return sa.func.likelihood(condition, sa.literal_column("0.9")) if dialect == "sqlite" else condition


def str_enum(enum_cls: type[Any], length: int = 24) -> sa.Enum:
    """A StrEnum stored as VARCHAR (no native ENUM type: adding values needs no migration dance)."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
    )
