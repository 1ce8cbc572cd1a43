"""Appeals against a quality-inspection score: the inspected agent appeals once, with a reason; the
supervisor upholds it (and rescores on the rubric) or rejects it with a reason. Either way the
inspection is settled: no second appeal, no further rescoring.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.accounts.models import Agent
from app.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.metrics import quality
from app.metrics.models import AppealStatus, InspectionStatus, QaAppeal, QaInspection

COMMENT_MAX = quality.COMMENT_MAX
REASON_MIN = 2  # Chinese is dense: "态度好" says it all


def appeal(
    session: Session, inspection: QaInspection, *, agent: Agent, reason: str, now: datetime
) -> QaAppeal:
    """The inspected agent's one appeal, with a reason, against a scored inspection."""
    if inspection.agent_id != agent.id:
        raise Forbidden("Only the agent whose work was inspected may appeal.")
    if inspection.status != InspectionStatus.scored:
        raise InvalidInput(
            "This ticket has not been scored yet; there is nothing to appeal.",
            fields={"inspection": "not scored"},
        )
    if quality.appeal_of(session, inspection.id) is not None:
        raise Conflict("A score can be appealed only once.")
    reason = (reason or "").strip()
    if not REASON_MIN <= len(reason) <= COMMENT_MAX:
        raise InvalidInput(
            "Give a reason for the appeal ({min} to {max} characters).",
            fields={"reason": f"{REASON_MIN}–{COMMENT_MAX} characters"},
            min=REASON_MIN,
            max=COMMENT_MAX,
        )
    row = QaAppeal(
        inspection_id=inspection.id,
        agent_id=agent.id,
        reason=reason,
        status=AppealStatus.open,
        score_before=inspection.score,
        created_at=now,
    )
    try:
        with session.begin_nested():  # two appeals at once: the unique key lets one through
            session.add(row)
            session.flush()
    except IntegrityError as exc:
        raise Conflict("A score can be appealed only once.") from exc
    return row


def require_appeal(session: Session, appeal_id: int) -> QaAppeal:
    row = session.get(QaAppeal, appeal_id)
    if row is None:
        raise NotFound("Appeal {id} does not exist.", id=appeal_id)
    return row


def resolve_appeal(
    session: Session,
    row: QaAppeal,
    *,
    decision: str,
    resolution: str,
    actor: Agent,
    now: datetime,
    marks: dict[str, Any] | None = None,
    fatal_keys: set[str] | list[str] = (),
    comments: dict[str, str] | None = None,
    comment: str | None = None,
) -> QaAppeal:
    """Upheld: the inspection is rescored with the given marks. Rejected: the score stands and the
    resolution says why. Either way the appeal is closed for good."""
    if row.status != AppealStatus.open:
        raise Conflict("This appeal has already been decided.")
    try:
        verdict = AppealStatus(decision)
    except ValueError:
        verdict = None
    if verdict not in (AppealStatus.upheld, AppealStatus.rejected):
        raise InvalidInput("Decide the appeal: upheld or rejected.", fields={"decision": "upheld | rejected"})
    resolution = (resolution or "").strip()
    if len(resolution) > COMMENT_MAX:
        raise InvalidInput(
            "A resolution has at most {max} characters.",
            fields={"resolution": f"≤ {COMMENT_MAX}"},
            max=COMMENT_MAX,
        )
    if verdict == AppealStatus.rejected and not resolution:
        raise InvalidInput("Say why the appeal is rejected.", fields={"resolution": "required"})
    inspection = quality.require_inspection(session, row.inspection_id)
    if verdict == AppealStatus.upheld:
        quality.apply_scores(
            session,
            inspection,
            marks=marks or {},
            fatal_keys=fatal_keys,
            comments=comments or {},
            comment=inspection.comment if comment is None else comment,
            actor=actor,
            now=now,
        )
    row.status = verdict
    row.resolution = resolution
    row.score_after = inspection.score
    row.resolved_by_id = actor.id
    row.resolved_at = now
    session.add(row)
    session.flush()
    return row


def open_appeals(session: Session, *, limit: int = 100) -> list[QaAppeal]:
    query = select(QaAppeal).where(QaAppeal.status == AppealStatus.open)
    return list(session.exec(query.order_by(QaAppeal.created_at, QaAppeal.id).limit(limit)))
