"""SQLite's WAL is copied back into the database file by a checkpointer thread, not inside a
writer's COMMIT (where it held every other writer back, seconds at the reference size)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from app import db
from app.db import _Checkpointer, create_db_engine, session_scope

pytestmark = pytest.mark.skipif(
    os.environ.get("HUITOU_TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="SQLite's WAL (runs on the SQLite leg)",
)


def _engine(tmp_path: Path) -> tuple[sa.Engine, str]:
    path = str((tmp_path / "wal.db").resolve())
    engine = create_db_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE blobs (id INTEGER PRIMARY KEY, body BLOB)")
    return engine, path


def _write(engine: sa.Engine, rows: int) -> None:
    with session_scope(engine) as session:  # a writing session, as requests and jobs use
        for _ in range(rows):
            session.execute(sa.text("INSERT INTO blobs (body) VALUES (randomblob(1000))"))


def test_a_commit_leaves_the_wal_to_the_checkpointer(tmp_path):
    engine, path = _engine(tmp_path)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
        assert conn.exec_driver_sql("PRAGMA journal_size_limit").scalar() == db.WAL_RESTART_BYTES
    _write(engine, 5000)  # over 1,000 pages: where SQLite's own checkpoint would have run
    assert os.path.getsize(f"{path}-wal") > 4_500_000

    checkpointer = _Checkpointer()  # not the process's: no thread, each pass called here
    assert checkpointer.checkpoint_if_written(path) is True
    busy, frames, copied = checkpointer.last
    assert busy == 0 and frames > 1000 and copied == frames
    assert os.path.getsize(path) > 4_500_000  # the rows are in the database file now
    assert checkpointer.checkpoint_if_written(path) is False  # nothing written since
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM blobs").scalar() == 5000
    engine.dispose()


def test_the_process_checkpointer_copies_what_was_written(tmp_path):
    engine, path = _engine(tmp_path)
    _write(engine, 1500)
    deadline = time.monotonic() + 15
    while os.path.getsize(path) < 1_500_000 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert os.path.getsize(path) >= 1_500_000, "the checkpointer thread did not copy the WAL back"
    engine.dispose()


def test_a_removed_database_is_forgotten(tmp_path):
    engine, path = _engine(tmp_path)
    _write(engine, 10)
    engine.dispose()
    checkpointer = _Checkpointer()
    checkpointer._paths[path] = 0.0
    for leftover in tmp_path.glob("wal.db*"):
        leftover.unlink()
    assert checkpointer.checkpoint_if_written(path) is False
    assert path not in checkpointer._paths


def test_a_wal_grown_beyond_the_limit_starts_over(tmp_path, monkeypatch):
    monkeypatch.setattr(db, "WAL_RESTART_BYTES", 1_000_000)
    engine, path = _engine(tmp_path)
    _write(engine, 3000)
    assert os.path.getsize(f"{path}-wal") > 3_000_000
    checkpointer = _Checkpointer()
    assert checkpointer.checkpoint_if_written(path) is True
    _write(engine, 1)  # the next writer finds the WAL copied: it starts it over, cut back
    assert os.path.getsize(f"{path}-wal") <= 1_000_000
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM blobs").scalar() == 3001
    engine.dispose()
