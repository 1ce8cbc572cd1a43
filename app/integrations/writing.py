"""Write transactions of the webhook path, queued in-process on SQLite.

SQLite has one writer at a time; a thread that finds the lock taken sleeps in steps of up to
100 ms (busy timeout), which under a burst of webhooks costs far more than the writes. Taking a
process-wide lock first hands the database from one writer to the next at once. PostgreSQL
needs no such thing (row locks).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlmodel import Session

from app.config import get_settings
from app.db import session_scope

_sqlite_writer = threading.Lock()


@contextmanager
def write_scope() -> Iterator[Session]:
    if get_settings().is_sqlite:
        with _sqlite_writer, session_scope() as session:
            yield session
    else:
        with session_scope() as session:
            yield session
