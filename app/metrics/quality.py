"""Quality inspection (质检): the rubric, scoring an inspection, appeals, and the QA score per agent.

A score is points ÷ the rubric's maximum × 100 over the points items; a fatal item that happened
(rude language, leaking buyer data, promising a reward for a review …) makes it 0 whatever the
points. Once appealed, a score changes only through the appeal's decision (quality_appeals).
Sampling tickets into batches: quality_sampling.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from app.accounts.models import Agent
from app.errors import Conflict, InvalidInput, NotFound
from app.i18n import N_
from app.metrics.models import (
    InspectionStatus,
    QaAppeal,
    QaInspection,
    QaItemScore,
    QaRubricItem,
    RubricKind,
)

HUNDRED = Decimal(100)
TWO_PLACES = Decimal("0.01")
COMMENT_MAX = 2000
ITEM_COMMENT_MAX = 500
MAX_ITEM_POINTS = 100
KEY_RE = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class DefaultItem:
    key: str
    label: str  # English msgid
    kind: RubricKind
    max_points: int
    description: str  # English msgid


DEFAULT_RUBRIC: tuple[DefaultItem, ...] = (
    DefaultItem(
        "greeting",
        N_("Greeting and closing"),
        RubricKind.points,
        15,
        N_("Greets the buyer warmly, closes politely, uses the buyer's name where known."),
    ),
    DefaultItem(
        "accuracy",
        N_("Accuracy"),
        RubricKind.points,
        35,
        N_("The answer is correct and complete: product, order, logistics and after-sales facts."),
    ),
    DefaultItem(
        "empathy",
        N_("Empathy"),
        RubricKind.points,
        25,
        N_("Acknowledges the buyer's feelings, patient tone, no blame."),
    ),
    DefaultItem(
        "policy",
        N_("Policy compliance"),
        RubricKind.points,
        25,
        N_("Follows the shop's after-sales stance and the platform's rules."),
    ),
    DefaultItem(
        "rude_language",
        N_("Rude or abusive language"),
        RubricKind.fatal,
        0,
        N_("Insults, sarcasm or threats towards the buyer."),
    ),
    DefaultItem(
        "leaked_buyer_data",
        N_("Leaked buyer data"),
        RubricKind.fatal,
        0,
        N_("Shared a buyer's phone, address or order with someone else."),
    ),
    DefaultItem(
        "review_reward",
        N_("Promised a reward for a review"),
        RubricKind.fatal,
        0,
        N_("Offered money, coupons or gifts for a good review or for changing one (illegal in China)."),
    ),
)


# --- the rubric ----------------------------------------------------------------------------------


def ensure_rubric(session: Session, *, now: datetime) -> None:
    """The built-in rubric, inserted when the rubric is empty (first use, the demo)."""
    if session.exec(select(QaRubricItem.id).limit(1)).first() is not None:
        return
    for position, item in enumerate(DEFAULT_RUBRIC):
        session.add(
            QaRubricItem(
                key=item.key,
                label=item.label,
                description=item.description,
                kind=item.kind,
                max_points=item.max_points,
                position=position * 10,
                is_builtin=True,
                created_at=now,
            )
        )
    session.flush()


def rubric(session: Session, *, now: datetime, active_only: bool = True) -> list[QaRubricItem]:
    ensure_rubric(session, now=now)
    query = select(QaRubricItem)
    if active_only:
        query = query.where(QaRubricItem.is_active.is_(True))
    return list(session.exec(query.order_by(QaRubricItem.position, QaRubricItem.id)))


def _whole(value: Any, field: str, low: int, high: int, errors: dict[str, str]) -> int | None:
    text = str(value if value is not None else "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 6:
        errors[field] = f"a whole number from {low} to {high}"
        return None
    number = int(text)
    if not low <= number <= high:
        errors[field] = f"from {low} to {high}"
        return None
    return number


def _raise(message: str, errors: dict[str, str]) -> None:
    if errors:
        summary = "; ".join(f"{k}: {v}" for k, v in errors.items())
        raise InvalidInput(message, fields=errors, summary=summary)


def add_item(
    session: Session, *, label: str, kind: str, max_points: Any, description: str = "", now: datetime
) -> QaRubricItem:
    ensure_rubric(session, now=now)
    errors: dict[str, str] = {}
    label = (label or "").strip()
    if not 1 <= len(label) <= 100:
        errors["label"] = "1–100 characters"
    try:
        kind_value = RubricKind(kind)
    except ValueError:
        errors["kind"] = "points | fatal"
        kind_value = None
    points = 0
    if kind_value == RubricKind.points:
        points = _whole(max_points, "max_points", 1, MAX_ITEM_POINTS, errors) or 0
    if len(description or "") > 255:
        errors["description"] = "at most 255 characters"
    _raise("This rubric item is not valid — {summary}", errors)
    base = KEY_RE.sub("_", label.lower()).strip("_")[:30] or "item"
    key, n = base, 1
    while session.exec(select(QaRubricItem.id).where(QaRubricItem.key == key)).first() is not None:
        n += 1
        key = f"{base}_{n}"
    last = session.exec(select(sa.func.max(QaRubricItem.position))).one() or 0
    item = QaRubricItem(
        key=key,
        label=label,
        description=(description or "").strip(),
        kind=kind_value,
        max_points=points,
        position=last + 10,
        created_at=now,
    )
    session.add(item)
    session.flush()
    return item


def set_item_active(session: Session, item_id: int, *, active: bool, now: datetime) -> QaRubricItem:
    item = session.get(QaRubricItem, item_id)
    if item is None:
        raise NotFound("Rubric item {id} does not exist.", id=item_id)
    if not active and item.kind == RubricKind.points and item.is_active:
        others = [i for i in rubric(session, now=now) if i.kind == RubricKind.points and i.id != item.id]
        if not others:
            raise InvalidInput(
                "The rubric needs at least one points item.", fields={"item": "last points item"}
            )
    item.is_active = active
    session.add(item)
    session.flush()
    return item


# --- scoring -------------------------------------------------------------------------------------


def require_inspection(session: Session, inspection_id: int) -> QaInspection:
    inspection = session.get(QaInspection, inspection_id)
    if inspection is None:
        raise NotFound("Inspection {id} does not exist.", id=inspection_id)
    return inspection


def appeal_of(session: Session, inspection_id: int) -> QaAppeal | None:
    return session.exec(select(QaAppeal).where(QaAppeal.inspection_id == inspection_id)).first()


def compute_score(points: int, max_points: int, fatal: bool) -> Decimal:
    """0–100 with two places; a fatal item makes it 0."""
    if fatal or max_points <= 0:
        return Decimal("0.00")
    return (Decimal(points) * HUNDRED / Decimal(max_points)).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def apply_scores(
    session: Session,
    inspection: QaInspection,
    *,
    marks: dict[str, Any],
    fatal_keys: set[str] | list[str],
    comments: dict[str, str],
    comment: str,
    actor: Agent,
    now: datetime,
) -> QaInspection:
    items = rubric(session, now=now)
    errors: dict[str, str] = {}
    fatal_keys = set(fatal_keys)
    unknown = fatal_keys - {i.key for i in items if i.kind == RubricKind.fatal}
    if unknown:
        errors["fatal"] = f"not fatal items of the rubric: {', '.join(sorted(unknown))}"
    rows: list[QaItemScore] = []
    for item in items:
        note = (comments.get(item.key) or "").strip()
        if len(note) > ITEM_COMMENT_MAX:
            errors[f"comment_{item.key}"] = f"at most {ITEM_COMMENT_MAX} characters"
        points, hit = 0, False
        if item.kind == RubricKind.points:
            points = _whole(marks.get(item.key), f"points_{item.key}", 0, item.max_points, errors) or 0
        else:
            hit = item.key in fatal_keys
        rows.append(
            QaItemScore(
                inspection_id=inspection.id,
                item_id=item.id,
                item_key=item.key,
                item_label=item.label,
                kind=item.kind,
                max_points=item.max_points,
                points=points,
                hit=hit,
                comment=note[:ITEM_COMMENT_MAX],
            )
        )
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX:
        errors["comment"] = f"at most {COMMENT_MAX} characters"
    _raise("This score is not complete — {summary}", errors)
    session.execute(sa.delete(QaItemScore).where(QaItemScore.inspection_id == inspection.id))
    session.add_all(rows)
    inspection.points = sum(r.points for r in rows if r.kind == RubricKind.points)
    inspection.max_points = sum(r.max_points for r in rows if r.kind == RubricKind.points)
    inspection.fatal = any(r.hit for r in rows)
    inspection.score = compute_score(inspection.points, inspection.max_points, inspection.fatal)
    inspection.comment = comment
    inspection.status = InspectionStatus.scored
    inspection.scored_by_id = actor.id
    inspection.scored_at = now
    session.add(inspection)
    session.flush()
    return inspection


def score(
    session: Session,
    inspection: QaInspection,
    *,
    marks: dict[str, Any],
    fatal_keys: set[str] | list[str] = (),
    comments: dict[str, str] | None = None,
    comment: str = "",
    actor: Agent,
    now: datetime,
) -> QaInspection:
    """Score (or correct the score of) an inspection on the active rubric. Once the agent has
    appealed, the score changes only through the appeal's decision."""
    appeal = appeal_of(session, inspection.id)
    if appeal is not None:
        raise Conflict("This score was appealed; it changes only through the appeal's decision.")
    return apply_scores(
        session,
        inspection,
        marks=marks,
        fatal_keys=fatal_keys,
        comments=comments or {},
        comment=comment,
        actor=actor,
        now=now,
    )


def item_scores(session: Session, inspection_id: int) -> list[QaItemScore]:
    query = select(QaItemScore).where(QaItemScore.inspection_id == inspection_id)
    return list(session.exec(query.order_by(QaItemScore.id)))


# --- the QA score for the metrics ---------------------------------------------------------------


def qa_scores(session: Session, *, period: Any, agent_ids: list[int] | None = None) -> dict[int, Decimal]:
    """Average final score (0–100, two places) per agent over the scored inspections of tickets
    solved in the period. Agents without a scored inspection are absent (shown "—")."""
    table = QaInspection.__table__
    query = (
        sa.select(
            table.c.agent_id, sa.func.sum(sa.type_coerce(table.c.score, sa.BigInteger)), sa.func.count()
        )
        .where(table.c.status == InspectionStatus.scored.value, table.c.agent_id.is_not(None))
        .where(table.c.ticket_solved_at >= period.start_utc, table.c.ticket_solved_at < period.end_utc)
        .group_by(table.c.agent_id)
    )
    if agent_ids is not None:
        if not agent_ids:
            return {}
        query = query.where(table.c.agent_id.in_(agent_ids))
    # The column holds ten-thousandths as integers: the sum is exact, the division done in Decimal.
    return {
        int(agent_id): (Decimal(int(total)) / 10_000 / count).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)
        for agent_id, total, count in session.execute(query)
        if count
    }
