"""Periodic order work, run by `huitou dispatch`."""

from __future__ import annotations

from datetime import datetime

from app.db import session_scope
from app.orders import service


def auto_confirm(now: datetime) -> int:
    """Confirm receipt automatically N days after shipping (the store's setting)."""
    with session_scope() as session:
        return service.auto_confirm_due(session, now=now)
