"""Write transactions of the webhook path.

SQLite has one writer at a time; app.db queues Huitou's writers for it (the threads of a process
and the processes on the machine, foreground first) so the database is handed from one writer to
the next at once instead of each sleeping in SQLite's busy handler. This used to be a lock of its
own here; a second lock in front of the database's made intake wait behind background processing
that was itself giving way to intake. PostgreSQL needs neither (row locks).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlmodel import Session

from app.db import session_scope


@contextmanager
def write_scope(engine: sa.Engine | None = None) -> Iterator[Session]:
    with session_scope(engine) as session:
        yield session
