"""The supervisors' list of SLA breaches: filtered by period (the local days a deadline fell in),
team, agent, store and metric; a keyset page for the screen and the API, every row for CSV."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from app.accounts.models import Agent, Team
from app.errors import InvalidInput
from app.i18n import gettext
from app.metrics.filters import Filters
from app.pagination import MAX_LIMIT, Rows
from app.tickets.models import Ticket
from app.tickets.sla_models import SlaBreach, SlaMetric

PAGE_SIZE = 50


def parse_metric(metric: str | None) -> SlaMetric | None:
    text = (metric or "").strip()
    if not text:
        return None
    try:
        return SlaMetric(text)
    except ValueError as exc:
        raise InvalidInput(
            "{metric} is not an SLA metric.",
            fields={"metric": " | ".join(m.value for m in SlaMetric)},
            metric=text[:40],
        ) from exc


@dataclass(frozen=True)
class BreachRow:
    id: int
    ticket_id: int
    subject: str
    kind: str
    priority: str
    metric: str
    due_at: datetime
    breached_at: datetime
    agent_id: int | None
    agent_name: str
    team_id: int | None
    team_name: str


def _query(filters: Filters, metric: SlaMetric | None) -> Any:
    b = SlaBreach
    query = (
        sa.select(
            b.id,
            b.ticket_id,
            Ticket.subject,
            Ticket.kind,
            Ticket.priority,
            b.metric,
            b.due_at,
            b.breached_at,
            b.agent_id,
            Agent.display_name,
            b.team_id,
            Team.name.label("team_name"),
        )
        .select_from(b)
        .join(Ticket, Ticket.id == b.ticket_id)
        .outerjoin(Agent, Agent.id == b.agent_id)
        .outerjoin(Team, Team.id == b.team_id)
        .where(b.due_at >= filters.period.start_utc, b.due_at < filters.period.end_utc)
    )
    scope = filters.scope
    if scope.team_id is not None:
        query = query.where(b.team_id == scope.team_id)
    if scope.agent_id is not None:
        query = query.where(b.agent_id == scope.agent_id)
    if scope.store_id is not None:
        query = query.where(Ticket.store_id == scope.store_id)
    if metric is not None:
        query = query.where(b.metric == metric)
    return query


def _row(r: Any) -> BreachRow:
    return BreachRow(
        id=r.id,
        ticket_id=r.ticket_id,
        subject=r.subject,
        kind=str(getattr(r.kind, "value", r.kind)),
        priority=str(getattr(r.priority, "value", r.priority)),
        metric=str(getattr(r.metric, "value", r.metric)),
        due_at=r.due_at,
        breached_at=r.breached_at,
        agent_id=r.agent_id,
        agent_name=r.display_name or "",
        team_id=r.team_id,
        team_name=r.team_name or "",
    )


def _encode(due_at: datetime, breach_id: int) -> str:
    raw = json.dumps({"d": due_at.isoformat(), "i": breach_id})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        due_at, breach_id = datetime.fromisoformat(data["d"]), int(data["i"])
        if due_at.tzinfo is None:
            raise ValueError
        return due_at, breach_id
    except (ValueError, KeyError, TypeError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(
            "The cursor is not one this page gave out.", fields={"cursor": "invalid cursor"}
        ) from exc


def breach_page(
    session: Session,
    *,
    filters: Filters,
    metric: SlaMetric | None = None,
    cursor: str | None = None,
    limit: int = PAGE_SIZE,
) -> Rows[BreachRow]:
    """The latest deadlines missed first."""
    if limit < 1 or limit > MAX_LIMIT:
        raise InvalidInput(
            "limit must be between 1 and {max}.", fields={"limit": f"1–{MAX_LIMIT}"}, max=MAX_LIMIT
        )
    query = _query(filters, metric)
    if cursor:
        due_at, breach_id = _decode(cursor)
        query = query.where(
            sa.or_(
                SlaBreach.due_at < due_at,
                sa.and_(SlaBreach.due_at == due_at, SlaBreach.id < breach_id),
            )
        )
    rows = list(
        session.execute(query.order_by(SlaBreach.due_at.desc(), SlaBreach.id.desc()).limit(limit + 1))
    )
    more = len(rows) > limit
    items = [_row(r) for r in rows[:limit]]
    last = items[-1] if items else None
    return Rows(items=items, next_cursor=_encode(last.due_at, last.id) if more and last else None)


def counts(session: Session, *, filters: Filters, metric: SlaMetric | None = None) -> dict[str, int]:
    """Breaches per metric in the filters (one query)."""
    inner = _query(filters, metric).subquery()
    rows = session.execute(sa.select(inner.c.metric, sa.func.count()).group_by(inner.c.metric))
    found = {m.value: 0 for m in SlaMetric}
    for value, n in rows:
        found[str(getattr(value, "value", value))] = int(n)
    return found


def all_rows(session: Session, *, filters: Filters, metric: SlaMetric | None = None) -> Iterator[BreachRow]:
    query = _query(filters, metric).order_by(SlaBreach.due_at.desc(), SlaBreach.id.desc())
    for r in session.execute(query.execution_options(yield_per=500)):
        yield _row(r)


def csv_table(
    session: Session, *, filters: Filters, metric: SlaMetric | None, tz: str
) -> tuple[list[str], Iterator[list[Any]]]:
    """Header and rows for exports.rows_to_csv: times in the period's time zone, ISO 8601."""
    from app.tickets.models import TicketKind, TicketPriority
    from app.tickets.workspace import KIND_LABELS, PRIORITY_LABELS, SLA_METRIC_LABELS

    zone = filters.period.zone
    header = [
        gettext("Ticket"),
        gettext("Subject"),
        gettext("Kind"),
        gettext("Priority"),
        gettext("SLA metric"),
        gettext("Due ({tz})").format(tz=tz),
        gettext("Recorded ({tz})").format(tz=tz),
        gettext("Agent"),
        gettext("Team"),
    ]

    def rows() -> Iterator[list[Any]]:
        for row in all_rows(session, filters=filters, metric=metric):
            yield [
                row.ticket_id,
                row.subject,
                gettext(KIND_LABELS.get(TicketKind(row.kind), row.kind)),
                gettext(PRIORITY_LABELS[TicketPriority(row.priority)]),
                gettext(SLA_METRIC_LABELS[row.metric]),
                row.due_at.astimezone(zone).replace(tzinfo=None).isoformat(timespec="minutes"),
                row.breached_at.astimezone(zone).replace(tzinfo=None).isoformat(timespec="minutes"),
                row.agent_name,
                row.team_name,
            ]

    return header, rows()
