"""Request sessions and SQLite's write lock: a writing session takes the lock with its first
statement and not before; reads_first keeps the reads before it out of the lock; commit_writes
lets a route read after writing without the lock; the Server-Timing header says where time went."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import anyio
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.config import get_settings
from app.db import SessionDep, commit_writes, create_db_engine, new_session, reads_first
from app.main import create_app


def write_lock_free(path: Path) -> bool:
    """Whether another connection could begin writing right now (it does not wait)."""
    conn = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        conn.close()


@pytest.fixture
def sqlite_file(tmp_path: Path):
    path = tmp_path / "sessions.db"
    engine = create_db_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    yield path, engine
    engine.dispose()


def test_a_writing_session_takes_the_write_lock_with_its_first_statement(sqlite_file) -> None:
    path, engine = sqlite_file
    session = new_session(engine, write=True)
    session.info["timing"] = {}
    assert write_lock_free(path), "no statement yet: no lock"
    session.execute(sa.text("SELECT count(*) FROM notes"))
    assert not write_lock_free(path), "a writing transaction holds the lock from its first statement"
    assert session.info["timing"]["lock"] >= 0  # the wait for it, for Server-Timing
    session.execute(sa.text("INSERT INTO notes (body) VALUES ('好的亲')"))
    session.commit()
    assert write_lock_free(path)
    session.close()


def test_reads_first_keeps_the_reads_before_a_write_out_of_the_lock(sqlite_file) -> None:
    path, engine = sqlite_file
    session = new_session(engine, write=True)
    with reads_first(session):
        assert session.execute(sa.text("SELECT count(*) FROM notes")).scalar_one() == 0
        assert write_lock_free(path), "the reading transaction holds no write lock"
    assert not session.in_transaction(), "the reading transaction ended with the block"
    session.execute(sa.text("INSERT INTO notes (body) VALUES ('已发货')"))
    assert not write_lock_free(path), "the next transaction is a writing one again"
    session.commit()
    session.close()
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT body FROM notes")).scalars().all() == ["已发货"]


def test_commit_writes_stores_the_writes_and_reads_on_without_the_lock(sqlite_file) -> None:
    path, engine = sqlite_file
    session = new_session(engine, write=True)
    session.execute(sa.text("INSERT INTO notes (body) VALUES ('退款已申请')"))
    commit_writes(session)
    assert session.execute(sa.text("SELECT count(*) FROM notes")).scalar_one() == 1
    assert write_lock_free(path), "reading after commit_writes takes no write lock"
    session.close()


@pytest.mark.parametrize("enabled", [True, False])
def test_server_timing_header_says_where_a_request_spent_its_time(engine, monkeypatch, enabled) -> None:
    monkeypatch.setattr(get_settings(), "server_timing", enabled)
    with TestClient(create_app(), base_url="http://testserver") as client:  # the real get_session
        answer = client.get("/login")
    assert answer.status_code == 200
    if not enabled:
        assert "server-timing" not in answer.headers
        return
    parts = dict(part.strip().split(";dur=") for part in answer.headers["server-timing"].split(","))
    assert {"queue", "commit", "total"} <= parts.keys()
    assert all(float(ms) >= 0 for ms in parts.values())
    assert float(parts["total"]) >= float(parts["queue"])


def test_a_route_that_committed_its_writes_ends_without_another_thread_hop(engine, monkeypatch) -> None:
    """A claim or a heartbeat commits in its route's thread (commit_writes) and reads nothing
    after: its session is closed on the event loop, with no hop to the thread pool and back (each
    one a wait for a thread and the GIL under load). One that left its work open is committed."""
    import app.db as db

    hops: list[str] = []
    real = db.run_in_threadpool

    async def counting(func, *args):
        hops.append(func.__name__)
        return await real(func, *args)

    monkeypatch.setattr(db, "run_in_threadpool", counting)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE hop_probe (n INTEGER)")
    api = FastAPI()

    @api.post("/committed")
    def committed(session: SessionDep) -> dict[str, bool]:
        session.execute(sa.text("INSERT INTO hop_probe (n) VALUES (1)"))
        commit_writes(session)
        return {}

    @api.post("/left-open")
    def left_open(session: SessionDep) -> dict[str, bool]:
        session.execute(sa.text("INSERT INTO hop_probe (n) VALUES (2)"))
        return {}

    @api.post("/read-after")
    def read_after(session: SessionDep) -> dict[str, int]:
        session.execute(sa.text("INSERT INTO hop_probe (n) VALUES (3)"))
        commit_writes(session)
        return {"rows": session.execute(sa.text("SELECT count(*) FROM hop_probe")).scalar_one()}

    try:
        with TestClient(api) as client:
            assert client.post("/committed").status_code == 200
            assert hops == []
            assert client.post("/left-open").status_code == 200
            assert hops == ["_commit_and_close"]
            assert client.post("/read-after").json() == {"rows": 3}
            assert hops == ["_commit_and_close"] * 2, "its read transaction is ended in a thread"
        with engine.connect() as conn:
            assert sorted(conn.exec_driver_sql("SELECT n FROM hop_probe").scalars()) == [1, 2, 3]
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE hop_probe")


@pytest.mark.parametrize("in_sql", [False, True])
def test_a_long_wait_for_a_session_names_who_holds_them(engine, monkeypatch, caplog, in_sql) -> None:
    """A request that waits over SLOW_SLOT_SECONDS for a session logs the holders: route, how
    long, and whether it is inside a statement or between statements."""
    import app.db as db

    monkeypatch.setattr(db, "request_session_limit", lambda: 1)  # one reading session
    monkeypatch.setattr(db, "SLOW_SLOT_SECONDS", 0.05)
    release = threading.Event()
    api = FastAPI()

    def blocking_statement(session) -> None:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(sa.text("SELECT pg_sleep(1.5)"))
            return
        session.connection().connection.driver_connection.create_function(
            "wait_for_release", 0, lambda: release.wait(5)
        )
        session.execute(sa.text("SELECT wait_for_release()"))

    @api.get("/hold")
    async def hold(session: SessionDep) -> dict[str, bool]:
        await anyio.to_thread.run_sync(lambda: session.execute(sa.text("SELECT 1")))
        if in_sql:
            await anyio.to_thread.run_sync(blocking_statement, session)
        else:
            await anyio.to_thread.run_sync(release.wait, 5)
        return {"held": True}

    @api.get("/wait")
    async def wait(session: SessionDep) -> dict[str, bool]:
        return {"ok": True}

    def held_by(predicate) -> bool:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if any(predicate(h) for h in list(db._holders.values())):
                return True
            time.sleep(0.005)
        return False

    with (
        caplog.at_level(logging.WARNING, logger="huitou.db"),
        TestClient(api) as client,
        ThreadPoolExecutor(2) as pool,
    ):
        holding = pool.submit(client.get, "/hold")
        if in_sql:
            assert held_by(lambda h: h.sql is not None and "SELECT 1" not in h.sql)
        else:
            assert held_by(lambda h: h.label == "GET /hold")
            time.sleep(0.05)  # past its first statement, into the wait
        waiting = pool.submit(client.get, "/wait")
        deadline = time.monotonic() + 5
        while not caplog.records and time.monotonic() < deadline:
            time.sleep(0.01)
        release.set()
        assert holding.result().status_code == 200
        assert waiting.result().json() == {"ok": True}
    [record] = [r for r in caplog.records if r.name == "huitou.db"]
    message = record.getMessage()
    assert message.startswith("GET /wait waited over 0.05 s for a reading session; 1 held by: GET /hold for ")
    if in_sql:
        assert "in SQL for" in message and ("pg_sleep" in message or "wait_for_release" in message)
    else:
        assert "between statements" in message
    assert "worker threads busy" in message
    assert not db._holders, "the holders are gone with their requests"


def test_slot_sizes_keep_reports_and_writes_apart_within_the_pool() -> None:
    from app.db import SQLITE_SLOTS, slot_kind, slot_sizes

    assert slot_sizes(9, sqlite=False) == {"write": 3, "read": 5, "report": 1}
    assert slot_sizes(30, sqlite=False) == {"write": 10, "read": 15, "report": 5}
    assert slot_sizes(9, sqlite=True) == {"write": SQLITE_SLOTS[1], "read": SQLITE_SLOTS[0], "report": 1}
    assert sum(slot_sizes(30, sqlite=False).values()) == 30
    assert slot_kind("GET", "/queues/presale/rows") == "read"
    assert slot_kind("GET", "/reports") == "report"
    assert slot_kind("GET", "/reports/targets") == "report"
    assert slot_kind("GET", "/reports/me/targets") == "read"  # an agent's own figures: the desk
    assert slot_kind("GET", "/api/v1/metrics") == "report"
    assert slot_kind("POST", "/reports/me/targets/assessment") == "write"


def test_a_slow_report_does_not_keep_the_desk_waiting(engine, monkeypatch, caplog) -> None:
    """With the report slot taken by a slow dashboard, a queue read goes straight in and a
    second report waits (and names the first when it has waited long)."""
    import app.db as db

    monkeypatch.setattr(db, "SLOW_SLOT_SECONDS", 0.05)
    release = threading.Event()
    api = FastAPI()

    @api.get("/reports/slow")
    async def slow(session: SessionDep) -> dict[str, bool]:
        await anyio.to_thread.run_sync(lambda: session.execute(sa.text("SELECT 1")))
        await anyio.to_thread.run_sync(release.wait, 5)
        return {"report": True}

    @api.get("/queues/rows")
    async def rows(session: SessionDep) -> dict[str, int]:
        return {"rows": await anyio.to_thread.run_sync(lambda: session.execute(sa.text("SELECT 1")).scalar())}

    with (
        caplog.at_level(logging.WARNING, logger="huitou.db"),
        TestClient(api) as client,
        ThreadPoolExecutor(2) as pool,
    ):
        report = pool.submit(client.get, "/reports/slow")
        deadline = time.monotonic() + 5
        while not any(h.kind == "report" for h in list(db._holders.values())) and time.monotonic() < deadline:
            time.sleep(0.005)
        assert client.get("/queues/rows").json() == {"rows": 1}, "the desk's read did not wait"
        second = pool.submit(client.get, "/reports/slow")
        while not caplog.records and time.monotonic() < deadline:
            time.sleep(0.01)
        release.set()
        assert report.result().status_code == 200 and second.result().status_code == 200
    [record] = [r for r in caplog.records if r.name == "huitou.db"]
    assert record.getMessage().startswith(
        "GET /reports/slow waited over 0.05 s for a report session; 1 held by:"
    )


# --- the writers' queue (SQLite): two _SqliteWriter objects on one file behave as two processes
# (flock locks belong to open files).


def test_a_background_writer_is_not_starved_by_foreground_writes_back_to_back(tmp_path) -> None:
    from app.db import WRITER_WAIT_SECONDS, _SqliteWriter, background_writes

    path = str(tmp_path / "desk.db")
    server, worker = _SqliteWriter(path), _SqliteWriter(path)
    stop, writes = threading.Event(), []

    def flood() -> None:  # webhook intake: one short transaction after another
        while not stop.is_set():
            assert server.acquire(WRITER_WAIT_SECONDS)
            time.sleep(0.002)
            writes.append(1)  # inside its turn
            server.release()

    flooding = threading.Thread(target=flood)
    flooding.start()
    try:
        while len(writes) < 20:
            time.sleep(0.001)
        with background_writes():
            got = worker.acquire(WRITER_WAIT_SECONDS)
        assert got, "the worker gave up: it never caught the lock between two foreground writes"
        before = len(writes)
        time.sleep(0.05)
        assert len(writes) == before, "while the worker holds the lock, nobody else writes"
        worker.release()
        while len(writes) < before + 5:  # the foreground goes on afterwards
            time.sleep(0.001)
    finally:
        stop.set()
        flooding.join()


def test_a_background_writer_lets_a_waiting_foreground_writer_go_first(tmp_path) -> None:
    from app.db import WRITER_WAIT_SECONDS, _SqliteWriter, background_writes

    path = str(tmp_path / "desk.db")
    holder, server, worker = _SqliteWriter(path), _SqliteWriter(path), _SqliteWriter(path)
    order: list[str] = []
    assert holder.acquire(WRITER_WAIT_SECONDS)

    def write(writer, name: str, background: bool) -> None:
        with background_writes() if background else contextlib.nullcontext():
            assert writer.acquire(WRITER_WAIT_SECONDS)
        order.append(name)
        time.sleep(0.01)
        writer.release()

    threads = [threading.Thread(target=write, args=(server, "request", False))]
    threads.append(threading.Thread(target=write, args=(worker, "worker", True)))
    threads[0].start()
    time.sleep(0.05)  # a request waits; then the worker comes and sees it waiting
    threads[1].start()
    time.sleep(0.05)
    holder.release()
    for thread in threads:
        thread.join()
    assert order == ["request", "worker"]
