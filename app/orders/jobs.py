"""Periodic order work, run by `huitou dispatch`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.db import session_scope
from app.orders import service


def auto_confirm(now: datetime, *, engine: Any = None) -> int:
    """Confirm receipt automatically N days after shipping (the store's setting)."""
    # Looked for in a reading transaction: on SQLite a writing one holds the only write lock from
    # its first statement, and this job runs every cycle, mostly finding nothing.
    with session_scope(engine, write=False) as session:
        if not service.auto_confirm_pending(session, now=now):
            return 0
    with session_scope(engine) as session:
        return service.auto_confirm_due(session, now=now)
