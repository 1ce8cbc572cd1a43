"""Sampling solved tickets into inspection batches (at random, or the latest), and the QA lists.

A ticket is inspected at most once: sampling leaves out tickets already in any batch, and tickets
nobody was assigned to (there is no agent to score).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, select

from app.accounts.models import Agent
from app.config import get_settings
from app.errors import InvalidInput, NotFound
from app.metrics.models import AppealStatus, InspectionStatus, QaAppeal, QaBatch, QaInspection
from app.metrics.period import Period, parse_period
from app.reviews.models import CsatSurvey
from app.tickets.models import Ticket, TicketKind, TicketStatus

SAMPLE_MAX = 200
MODES = ("random", "latest")
DONE_STATUSES = (TicketStatus.solved, TicketStatus.closed)


def form_int(value: str | None) -> int | None:
    """A whole number typed into a form (ASCII digits only), or None."""
    text = (value or "").strip()
    return int(text) if text and len(text) <= 18 and text.isascii() and text.isdigit() else None


@dataclass(frozen=True)
class SampleFilters:
    agent_id: int | None = None
    kind: TicketKind | None = None
    period: Period | None = None
    max_csat: int | None = None

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.agent_id is not None:
            data["agent_id"] = self.agent_id
        if self.kind is not None:
            data["kind"] = self.kind.value
        if self.period is not None:
            data["start"], data["end"] = self.period.start.isoformat(), self.period.end.isoformat()
        if self.max_csat is not None:
            data["max_csat"] = self.max_csat
        return data


def parse_filters(
    session: Session,
    *,
    agent_id: str = "",
    kind: str = "",
    start: str = "",
    end: str = "",
    max_csat: str = "",
    tz: str | None = None,
) -> SampleFilters:
    """The sampling form's filters; an unknown agent or kind, a bad period or CSAT bound → InvalidInput."""
    errors: dict[str, str] = {}
    agent = None
    if (agent_id or "").strip():
        number = form_int(agent_id)
        agent = session.get(Agent, number) if number is not None else None
        if agent is None:
            errors["agent_id"] = "unknown agent"
    kind_value = None
    if (kind or "").strip():
        try:
            kind_value = TicketKind(kind.strip())
        except ValueError:
            errors["kind"] = "unknown ticket kind"
    csat = None
    if (max_csat or "").strip():
        csat = form_int(max_csat)
        if csat is None or not 1 <= csat <= 5:
            errors["max_csat"] = "1–5"
            csat = None
    if errors:
        summary = "; ".join(f"{k}: {v}" for k, v in errors.items())
        raise InvalidInput("These sampling filters are not valid — {summary}", fields=errors, summary=summary)
    period = None
    if (start or "").strip() or (end or "").strip():
        period = parse_period(start, end, tz=tz or get_settings().default_timezone)
    return SampleFilters(agent.id if agent else None, kind_value, period, csat)


def candidates(filters: SampleFilters) -> Any:
    """Solved, assigned, not yet inspected tickets matching the filters (a select of ids)."""
    inspected = sa.exists().where(QaInspection.ticket_id == Ticket.id)
    query = (
        select(Ticket.id, Ticket.assignee_id, Ticket.kind, Ticket.solved_at)
        .where(Ticket.status.in_(DONE_STATUSES), Ticket.solved_at.is_not(None))
        .where(Ticket.assignee_id.is_not(None), ~inspected)
    )
    if filters.agent_id is not None:
        query = query.where(Ticket.assignee_id == filters.agent_id)
    if filters.kind is not None:
        query = query.where(Ticket.kind == filters.kind)
    if filters.period is not None:
        query = query.where(
            Ticket.solved_at >= filters.period.start_utc, Ticket.solved_at < filters.period.end_utc
        )
    if filters.max_csat is not None:
        low_csat = sa.exists().where(
            CsatSurvey.ticket_id == Ticket.id,
            CsatSurvey.rating.is_not(None),
            CsatSurvey.rating <= filters.max_csat,
        )
        query = query.where(low_csat)
    return query


def sample(
    session: Session,
    *,
    filters: SampleFilters,
    size: Any,
    mode: str,
    name: str,
    actor: Agent,
    now: datetime,
) -> QaBatch:
    """A new batch of up to `size` tickets; InvalidInput when nothing matches (no empty batches)."""
    errors: dict[str, str] = {}
    count = form_int(str(size))
    if count is None or not 1 <= count <= SAMPLE_MAX:
        errors["size"] = f"1–{SAMPLE_MAX}"
    if mode not in MODES:
        errors["mode"] = " | ".join(MODES)
    name = (name or "").strip()
    if len(name) > 100:
        errors["name"] = "at most 100 characters"
    if errors:
        summary = "; ".join(f"{k}: {v}" for k, v in errors.items())
        raise InvalidInput("This sample is not valid — {summary}", fields=errors, summary=summary)
    query = candidates(filters)
    if mode == "random":
        query = query.order_by(sa.func.random())
    else:
        query = query.order_by(Ticket.solved_at.desc(), Ticket.id.desc())
    rows = list(session.exec(query.limit(count)))
    if not rows:
        raise InvalidInput(
            "No solved ticket matches these filters (tickets already inspected are left out).",
            fields={"filters": "no match"},
        )
    local = now.astimezone(ZoneInfo(get_settings().default_timezone))
    batch = QaBatch(
        name=name or local.strftime("%Y-%m-%d %H:%M"),
        mode=mode,
        requested=count,
        filters=filters.as_json(),
        created_by_id=actor.id,
        created_at=now,
    )
    session.add(batch)
    session.flush()
    session.add_all(
        QaInspection(
            batch_id=batch.id,
            ticket_id=ticket_id,
            agent_id=assignee_id,
            ticket_kind=TicketKind(kind).value,
            ticket_solved_at=solved_at,
            created_at=now,
        )
        for ticket_id, assignee_id, kind, solved_at in rows
    )
    session.flush()
    return batch


# --- the lists the pages show ------------------------------------------------------------------


@dataclass
class BatchRow:
    batch: QaBatch
    total: int
    scored: int
    average: Decimal | None


@dataclass
class InspectionRow:
    inspection: QaInspection
    subject: str
    agent_name: str
    appeal_status: str | None


def require_batch(session: Session, batch_id: int) -> QaBatch:
    batch = session.get(QaBatch, batch_id)
    if batch is None:
        raise NotFound("Inspection batch {id} does not exist.", id=batch_id)
    return batch


def list_batches(session: Session, *, limit: int = 50) -> list[BatchRow]:
    scored = sa.case((QaInspection.status == InspectionStatus.scored, 1), else_=0)
    score = sa.type_coerce(QaInspection.score, sa.BigInteger)
    query = (
        select(QaBatch, sa.func.count(QaInspection.id), sa.func.sum(scored), sa.func.sum(score))
        .join(QaInspection, QaInspection.batch_id == QaBatch.id, isouter=True)
        .group_by(QaBatch.id)
        .order_by(QaBatch.id.desc())
        .limit(limit)
    )
    out = []
    for batch, total, done, points in session.exec(query):
        done = int(done or 0)
        average = (
            (Decimal(int(points)) / 10_000 / done).quantize(Decimal("0.01"))
            if done and points is not None
            else None
        )
        out.append(BatchRow(batch, int(total or 0), done, average))
    return out


def _rows(session: Session, query: Any) -> list[InspectionRow]:
    query = (
        query.join(Ticket, Ticket.id == QaInspection.ticket_id)
        .join(Agent, Agent.id == QaInspection.agent_id, isouter=True)
        .join(QaAppeal, QaAppeal.inspection_id == QaInspection.id, isouter=True)
    )
    return [
        InspectionRow(inspection, subject, agent_name or "—", AppealStatus(status).value if status else None)
        for inspection, subject, agent_name, status in session.exec(query)
    ]


def batch_rows(session: Session, batch_id: int) -> list[InspectionRow]:
    query = (
        select(QaInspection, Ticket.subject, Agent.display_name, QaAppeal.status)
        .where(QaInspection.batch_id == batch_id)
        .order_by(QaInspection.id)
    )
    return _rows(session, query)


def agent_rows(session: Session, agent_id: int, *, limit: int = 100) -> list[InspectionRow]:
    """An agent's scored inspections, newest first (pending ones are the supervisor's business)."""
    query = (
        select(QaInspection, Ticket.subject, Agent.display_name, QaAppeal.status)
        .where(QaInspection.agent_id == agent_id, QaInspection.status == InspectionStatus.scored)
        .order_by(QaInspection.scored_at.desc(), QaInspection.id.desc())
        .limit(limit)
    )
    return _rows(session, query)


def appeal_rows(session: Session, *, limit: int = 100) -> list[tuple[QaAppeal, InspectionRow]]:
    """Open appeals, oldest first, with their inspection."""
    query = (
        select(QaInspection, Ticket.subject, Agent.display_name, QaAppeal.status)
        .where(QaAppeal.status == AppealStatus.open)
        .order_by(QaAppeal.created_at, QaAppeal.id)
        .limit(limit)
    )
    rows = _rows(session, query)
    appeals = {
        a.inspection_id: a
        for a in session.exec(
            select(QaAppeal).where(QaAppeal.inspection_id.in_([r.inspection.id for r in rows]))
        )
    }
    return [(appeals[r.inspection.id], r) for r in rows]
