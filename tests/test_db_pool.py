"""PostgreSQL's pool: a connection that sat idle is pinged before use (a dead one is replaced and
the caller never sees it); one returned moments ago is used without a ping (a round trip fewer
per request under load). Real backends, killed with pg_terminate_backend."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from app.db import _ping_when_idle, create_db_engine

pytestmark = pytest.mark.postgres_only


def backend_pid(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()


def terminate(url: str, pid: int) -> None:
    admin = sa.create_engine(url, poolclass=sa.NullPool, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            assert conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
            # pg_terminate_backend only signals: wait until the backend is gone. Each check is a
            # transaction of its own: within one, pg_stat_activity is a snapshot that never changes
            # (a loop inside one DO block waited forever when the backend outlived its first read).
            alive = sa.text("SELECT 1 FROM pg_stat_activity WHERE pid = :pid")
            deadline = time.monotonic() + 30
            while conn.execute(alive, {"pid": pid}).first():
                assert time.monotonic() < deadline, f"backend {pid} still there 30 s after it was terminated"
                time.sleep(0.01)
    finally:
        admin.dispose()


def one_connection(url: str, idle_seconds: float) -> sa.Engine:
    engine = sa.create_engine(url, pool_size=1, max_overflow=0)
    _ping_when_idle(engine, idle_seconds)
    return engine


def test_an_idle_connection_that_died_is_replaced_before_the_caller_uses_it(fresh_database_url):
    engine = one_connection(fresh_database_url, 0)
    try:
        dead = backend_pid(engine)
        assert backend_pid(engine) == dead, "a live connection answers the ping and is kept"
        terminate(fresh_database_url, dead)
        assert backend_pid(engine) != dead, "the ping found it dead and the pool reconnected"
    finally:
        engine.dispose()


def test_a_connection_returned_moments_ago_is_used_without_a_ping(fresh_database_url):
    engine = one_connection(fresh_database_url, 3600)
    try:
        dead = backend_pid(engine)
        terminate(fresh_database_url, dead)
        # No ping: the statement itself finds the connection dead (a 503 for a request) …
        with pytest.raises(sa.exc.OperationalError), engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        # … and the pool is invalidated by it: the next use has a live connection.
        assert backend_pid(engine) != dead
    finally:
        engine.dispose()


def test_the_application_engine_pings_only_idle_connections(fresh_database_url, monkeypatch):
    """create_db_engine installs the idle ping with the setting's threshold, not pool_pre_ping."""
    from app.config import get_settings

    monkeypatch.setenv("HUITOU_DB_PING_AFTER_IDLE_SECONDS", "3600")
    get_settings.cache_clear()
    try:
        engine = create_db_engine(fresh_database_url)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    try:
        dead = backend_pid(engine)
        terminate(fresh_database_url, dead)
        with pytest.raises(sa.exc.OperationalError), engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    finally:
        engine.dispose()
    engine = create_db_engine(fresh_database_url)  # the default: pinged after a second's idle
    try:
        dead = backend_pid(engine)
        terminate(fresh_database_url, dead)
        time.sleep(1.1)
        assert backend_pid(engine) != dead
    finally:
        engine.dispose()
