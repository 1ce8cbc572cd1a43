"""JSON API of the metrics (/api/v1/metrics): KPI values with their formulas, for a period and scope."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from app.accounts.deps import ReadKey
from app.db import SessionDep, utc_now
from app.metrics import dashboard, filters, kpis
from app.metrics.kpis import KPIS


class KpiOut(BaseModel):
    key: str
    label: str
    formula: str
    unit: str
    higher_is_better: bool
    value: str | None  # a decimal string; null when the denominator is 0
    numerator: str | None
    denominator: str | None


class MetricsOut(BaseModel):
    start: str
    end: str
    timezone: str
    store_id: int | None
    team_id: int | None
    agent_id: int | None
    kpis: dict[str, KpiOut]
    per_agent: dict[str, dict[str, str | None]] | None = None
    # The figures come from the rollup as of this time (seconds old while `huitou dispatch` keeps
    # up); null when they were computed from the live tables just now. `today_as_of` is the same
    # value (its earlier name, when only today's figures could lag).
    as_of: str | None = None
    today_as_of: str | None = None


router = APIRouter(prefix="/api/v1", tags=["metrics"])


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


@router.get("/metrics", response_model=MetricsOut, summary="KPI values with their formulas")
def metrics(
    session: SessionDep,
    key: ReadKey,
    start: Annotated[str | None, Query(description="First local day, YYYY-MM-DD")] = None,
    end: Annotated[str | None, Query(description="Last local day, YYYY-MM-DD (inclusive)")] = None,
    preset: Annotated[str | None, Query(description="today | 7d | 30d | this_month | last_month")] = None,
    store: Annotated[str | None, Query(description="Store slug")] = None,
    team: Annotated[str | None, Query(description="Team id")] = None,
    agent: Annotated[str | None, Query(description="Agent id")] = None,
    kpi: Annotated[str | None, Query(description="Comma-separated KPI keys (default: all)")] = None,
    by_agent: Annotated[bool, Query(description="Also the values per agent")] = False,
) -> MetricsOut:
    chosen = filters.parse_api(
        session, now=utc_now(), store_slug=store, preset=preset, start=start, end=end, team=team, agent=agent
    )
    keys = kpis.check_keys([k.strip() for k in kpi.split(",") if k.strip()] if kpi else None)
    figures = kpis.collect(
        session, period=chosen.period, scope=chosen.scope, keys=keys, agent_hists=by_agent, now=utc_now()
    )
    values = figures.values(keys)
    per_agent = None
    if by_agent:
        rows = dashboard.agent_table(session, figures, keys=keys)
        per_agent = {str(r.agent_id): {k: _text(v.value) for k, v in r.values.items()} for r in rows}
    return MetricsOut(
        start=chosen.period.start.isoformat(),
        end=chosen.period.end.isoformat(),
        timezone=chosen.period.tz,
        store_id=chosen.scope.store_id,
        team_id=chosen.scope.team_id,
        agent_id=chosen.scope.agent_id,
        kpis={
            k: KpiOut(
                key=k,
                label=KPIS[k].label,
                formula=KPIS[k].formula,
                unit=KPIS[k].unit,
                higher_is_better=KPIS[k].higher_is_better,
                value=_text(v.value),
                numerator=_text(v.numerator),
                denominator=_text(v.denominator),
            )
            for k, v in values.items()
        },
        per_agent=per_agent,
        as_of=figures.as_of.isoformat() if figures.as_of else None,
        today_as_of=figures.as_of.isoformat() if figures.as_of else None,
    )
