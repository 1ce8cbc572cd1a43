"""Time travel for follow-ups: run the worker's claim-and-handle at a given moment on the test session."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import select

from app.followups.jobs import claim_due, handle_claimed
from app.followups.models import Followup, FollowupKind


def run_at(db, now: datetime, *, token: str = "test") -> int:
    """What `huitou dispatch` does at `now`, inside the test's transaction."""
    total = 0
    while True:
        ids = claim_due(db, now=now, token=token, limit=500)
        if not ids:
            return total
        total += handle_claimed(db, ids, token=token, now=now)
        db.expire_all()


def followups(db, **equals) -> list[Followup]:
    query = select(Followup)
    for column, value in equals.items():
        query = query.where(getattr(Followup, column) == value)
    return list(db.exec(query.order_by(Followup.id)))


def one(db, kind: FollowupKind, **equals) -> Followup:
    rows = followups(db, kind=kind, **equals)
    assert len(rows) == 1, rows
    return rows[0]
