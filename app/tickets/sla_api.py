"""JSON API of SLA breaches (/api/v1/sla-breaches): the deadlines missed in a period, newest first,
filtered like the metrics API (store slug, team id, agent id) and by metric."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from app.accounts.deps import ReadKey
from app.db import SessionDep, utc_now
from app.metrics import filters
from app.pagination import DEFAULT_LIMIT, MAX_LIMIT
from app.tickets import sla_breaches


class SlaBreachOut(BaseModel):
    id: int
    ticket_id: int
    metric: str
    due_at: str
    breached_at: str
    agent_id: int | None
    team_id: int | None


class SlaBreachPage(BaseModel):
    start: str
    end: str
    timezone: str
    counts: dict[str, int]
    items: list[SlaBreachOut]
    next_cursor: str | None = None


router = APIRouter(prefix="/api/v1", tags=["metrics"])
ERRORS = {
    401: {"description": "No or unknown API key"},
    403: {"description": "The key's scope is too small"},
    404: {"description": "No such store"},
    422: {"description": "Invalid input (period, id, metric, cursor); `fields` names each bad field"},
}


@router.get(
    "/sla-breaches",
    response_model=SlaBreachPage,
    responses=ERRORS,
    summary="SLA deadlines missed in a period",
)
def list_breaches(
    session: SessionDep,
    key: ReadKey,
    start: Annotated[str | None, Query(description="First local day, YYYY-MM-DD")] = None,
    end: Annotated[str | None, Query(description="Last local day, YYYY-MM-DD (inclusive)")] = None,
    preset: Annotated[str | None, Query(description="today | 7d | 30d | this_month | last_month")] = None,
    store: Annotated[str | None, Query(description="Store slug")] = None,
    team: Annotated[str | None, Query(description="Team id")] = None,
    agent: Annotated[str | None, Query(description="Agent id")] = None,
    metric: Annotated[
        str | None, Query(description="first_response | next_response | resolution (default: all)")
    ] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> SlaBreachPage:
    chosen = filters.parse_api(
        session, now=utc_now(), store_slug=store, preset=preset, start=start, end=end, team=team, agent=agent
    )
    wanted = sla_breaches.parse_metric(metric)
    page = sla_breaches.breach_page(session, filters=chosen, metric=wanted, cursor=cursor, limit=limit)
    return SlaBreachPage(
        start=chosen.period.start.isoformat(),
        end=chosen.period.end.isoformat(),
        timezone=chosen.period.tz,
        counts=sla_breaches.counts(session, filters=chosen, metric=wanted),
        items=[
            SlaBreachOut(
                id=b.id,
                ticket_id=b.ticket_id,
                metric=b.metric,
                due_at=b.due_at.isoformat(),
                breached_at=b.breached_at.isoformat(),
                agent_id=b.agent_id,
                team_id=b.team_id,
            )
            for b in page.items
        ],
        next_cursor=page.next_cursor,
    )
