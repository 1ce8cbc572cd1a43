"""The follow-up worker: claim due rows under a lease, handle them, mark them done with the action.

Claims take rows with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so several workers never take the
same row; SQLite has one writer at a time and needs one worker. A claim is a token plus a lease: a
worker killed mid-batch loses nothing, because once the lease runs out another worker claims the
rows again. Handling re-locks the rows by token and status, so a row is acted on exactly once.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.customers.models import Customer
from app.db import is_postgres, session_scope
from app.followups.handling import Batch, handle
from app.followups.models import Followup, FollowupStatus, Outcome
from app.i18n import N_
from app.integrations.models import Store
from app.orders.models import Order

log = logging.getLogger("huitou.followups")

BATCH_SIZE = 500
HANDLE_CHUNK = 25  # follow-ups handled per transaction
LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 5
MAX_PER_RUN = 5_000  # one dispatch cycle; the rest waits for the next one


def claim_due(session: Session, *, now: datetime, token: str, limit: int = BATCH_SIZE) -> list[int]:
    """Claim up to `limit` due, unclaimed (or lease-expired) follow-ups for `token`."""
    query = (
        select(Followup.id)
        .where(Followup.status == FollowupStatus.pending, Followup.due_at <= now)
        .where(sa.or_(Followup.claimed_until.is_(None), Followup.claimed_until < now))
        .order_by(Followup.due_at, Followup.id)
        .limit(limit)
    )
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    ids = list(session.exec(query))
    if ids:
        session.execute(
            sa.update(Followup)
            .where(Followup.id.in_(ids))
            .values(claim_token=token, claimed_until=now + LEASE, attempts=Followup.attempts + 1)
        )
    return ids


def handle_claimed(session: Session, ids: list[int], *, token: str, now: datetime) -> int:
    """Handle the rows this token still holds; each in a savepoint, so one failure spoils no other."""
    if not ids:
        return 0
    query = (
        select(Followup)
        .where(Followup.id.in_(ids), Followup.claim_token == token)
        .where(Followup.status == FollowupStatus.pending)
        .order_by(Followup.due_at, Followup.id)
    )
    if is_postgres(session):
        query = query.with_for_update()
    rows = list(session.exec(query))
    batch = Batch()
    # Warm the identity map (the batch holds the rows): one query per table, not one per follow-up.
    order_ids = {r.order_id for r in rows if r.order_id}
    if order_ids:
        batch.keep += session.exec(select(Order).where(Order.id.in_(order_ids))).all()
    batch.keep += session.exec(select(Customer).where(Customer.id.in_({r.customer_id for r in rows}))).all()
    batch.keep += session.exec(select(Store).where(Store.id.in_({r.store_id for r in rows}))).all()
    handled = 0
    for followup in rows:
        try:
            with session.begin_nested():
                handle(session, followup, now=now, batch=batch)
            handled += 1
        except Exception as exc:  # noqa: BLE001 - recorded on the row, retried after the lease
            session.expire(followup)
            log.exception("follow-up failed", extra={"followup_id": followup.id})
            _record_failure(session, followup.id, exc, now)
    session.flush()
    return handled


def _record_failure(session: Session, followup_id: int, exc: Exception, now: datetime) -> None:
    row = session.get(Followup, followup_id)
    row.last_error = f"{type(exc).__name__}: {exc}"[:255]
    if row.attempts >= MAX_ATTEMPTS:
        row.status = FollowupStatus.failed
        row.outcome = Outcome.failed
        row.reason = N_("gave up after repeated errors")
        row.handled_at = now
    session.add(row)


def run_batch(now: datetime, *, engine: Engine | None = None, limit: int = BATCH_SIZE) -> tuple[int, int]:
    """One claim, then its handling a chunk at a time, each in its own transaction: (claimed,
    handled). The claim's lease keeps the rest of the batch while a chunk is written, and a short
    transaction never keeps requests from SQLite's one write lock for long (a batch of 500 in one
    took 1.4–2.2 s under the mixed-load benchmark, every desk write waiting behind it)."""
    token = uuid.uuid4().hex
    with session_scope(engine) as session:
        ids = claim_due(session, now=now, token=token, limit=limit)
    handled = 0
    for start in range(0, len(ids), HANDLE_CHUNK):
        with session_scope(engine) as session:
            handled += handle_claimed(session, ids[start : start + HANDLE_CHUNK], token=token, now=now)
    return len(ids), handled


def run_due(now: datetime, *, engine: Engine | None = None, max_rows: int = MAX_PER_RUN) -> int:
    """The dispatch job: handle what is due, batch after batch. Returns how many were handled."""
    total = 0
    while total < max_rows:
        claimed, handled = run_batch(now, engine=engine, limit=min(BATCH_SIZE, max_rows - total))
        total += handled
        if claimed < BATCH_SIZE:
            break
    return total


def plan_revisits(now: datetime, *, engine: Engine | None = None) -> int:
    """The dispatch job for revisit plans: materialise the coming days' revisits of enabled plans."""
    from app.followups import revisits
    from app.followups.models import RevisitPlan

    # Who is due is read first, outside any write transaction: on SQLite a writing one holds the
    # only write lock, and evaluating a plan over 250,000 buyers took 12.9 s (scripts/bench/jobs.py)
    # while every request and webhook that writes gave up after 10 s.
    with session_scope(engine, write=False) as session:
        planned = [
            (p.id, revisits.revisit_rows(session, p, now=now)) for p in revisits.plans_due(session, now=now)
        ]
    total = 0
    for plan_id, rows in planned:
        with session_scope(engine) as session:
            plan = session.get(RevisitPlan, plan_id)
            # Disabled meanwhile, or planned by another worker: nothing to store.
            fresh = (
                plan is not None
                and plan.last_planned_at
                and now - plan.last_planned_at < revisits.REPLAN_EVERY
            )
            if plan is None or not plan.enabled or fresh:
                continue
            total += revisits.store_revisits(session, plan, rows, now=now)
    return total
