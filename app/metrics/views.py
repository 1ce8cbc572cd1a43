"""HTML views of the metrics: the supervisor dashboard (/reports), drill-down, CSV exports, and an
agent's own figures (/reports/me, and the home page's partial /reports/me/kpis)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from app.accounts.deps import CurrentAgent, SupervisorAgent, verify_csrf
from app.db import SessionDep, utc_now
from app.errors import InvalidInput
from app.i18n import gettext
from app.metrics import dashboard, drill, exports, filters
from app.metrics import format as fmt
from app.metrics.dialect import Sql
from app.metrics.kpis import AREAS, KPIS
from app.metrics.period import PRESETS
from app.web import render, templates

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

templates.env.filters["kpi"] = fmt.kpi
templates.env.filters["kpi_fraction"] = fmt.fraction
templates.env.filters["duration"] = fmt.duration

# The agent's own figures (/reports/me and the home page), in this order.
MY_KEYS = (
    "tickets_solved",
    "first_response_avg",
    "avg_response",
    "reply_rate",
    "inquiry_conversion",
    "agent_sales",
    "csat_avg",
    "csat_satisfied",
    "revisit_completion",
    "tickets_per_hour",
    "qa_score",
)


def _filters(request: Request, session: Any, **overrides: Any) -> filters.Filters:
    q = request.query_params
    values = {name: q.get(name) for name in ("preset", "start", "end", "store", "team", "agent")}
    values.update(overrides)
    return filters.parse(session, now=utc_now(), **values)


def chart_data(board: dashboard.Dashboard) -> dict[str, Any]:
    """What app/static/charts.js draws: JSON in a data block (the CSP forbids inline scripts)."""
    return {
        "trends": {
            "dates": board.trends["dates"],
            "series": [
                {"key": key, "name": gettext(KPIS[key].label), "unit": KPIS[key].unit, "data": data}
                for key, data in board.trends["series"].items()
            ],
        },
        "heat": {
            "weekdays": [gettext(d) for d in dashboard.WEEKDAYS],
            "data": [[hour, day, board.heat[day][hour]] for day in range(7) for hour in range(24)],
            "max": max((max(row) for row in board.heat), default=0),
            "name": gettext("Buyer messages per hour, average"),
        },
        "funnel": [{"name": gettext(dashboard.FUNNEL_LABELS[step]), "value": n} for step, n in board.funnel],
    }


@router.get("/reports")
def reports(request: Request, session: SessionDep, agent: SupervisorAgent) -> Response:
    chosen = _filters(request, session)
    board = dashboard.build(session, period=chosen.period, scope=chosen.scope, now=utc_now())
    context = {
        "board": board,
        "filters": chosen,
        "choices": dashboard.choices(session),
        "presets": PRESETS,
        "areas": AREAS,
        "kpis": KPIS,
        "chart_data": chart_data(board),
        "funnel_labels": dashboard.FUNNEL_LABELS,
        "weekdays": dashboard.WEEKDAYS,
    }
    return render(request, "metrics/dashboard.html", context, partial="metrics/_dashboard.html")


@router.get("/reports/drill")
def drill_down(
    request: Request, session: SessionDep, agent: SupervisorAgent, kpi: str = "", cursor: str | None = None
) -> Response:
    chosen = _filters(request, session)
    found = drill.page(
        session,
        kpi=kpi,
        sql=Sql.for_session(session, chosen.period),
        scope=chosen.scope,
        cursor=cursor or None,
    )
    context = {
        "page": found,
        "kpi": KPIS.get(kpi),
        "kpi_key": kpi,
        "filters": chosen,
        "links": [drill.link(found.spec, row) for row in found.rows],
    }
    return render(request, "metrics/drill.html", context, partial="metrics/_drill.html")


@router.get("/reports/export/{table}.csv")
def export(
    request: Request, table: str, session: SessionDep, agent: SupervisorAgent, kpi: str = ""
) -> Response:
    if table not in exports.TABLES:
        raise InvalidInput(
            "There is no table {table} to export.",
            fields={"table": " | ".join(exports.TABLES)},
            table=table[:40],
        )
    chosen = _filters(request, session)
    if table == "drill":
        header, rows = exports.drill_table(
            session, kpi=kpi, sql=Sql.for_session(session, chosen.period), scope=chosen.scope
        )
        name = f"{drill.spec_for(kpi).key}"
    else:
        board = dashboard.build(session, period=chosen.period, scope=chosen.scope, now=utc_now())
        header, rows = exports.BOARD_TABLES[table](board)
        name = table
    body = "".join(exports.rows_to_csv(header, rows)).encode("utf-8")
    filename = f"huitou-{name}-{chosen.period.start.isoformat()}-{chosen.period.end.isoformat()}.csv"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


def _my_context(request: Request, session: Any, agent: Any) -> dict[str, Any]:
    # Only the agent's own figures: any agent filter in the query string is ignored.
    chosen = _filters(request, session, agent=str(agent.id), team=None, store=None)
    board = dashboard.build(
        session, period=chosen.period, scope=chosen.scope, keys=list(MY_KEYS), now=utc_now()
    )
    paths = getattr(request.app.state, "page_paths", set())
    return {
        "board": board,
        "values": board.values(),
        "filters": chosen,
        "presets": PRESETS,
        "kpis": KPIS,
        "my_keys": MY_KEYS,
        "own_links": [
            (path, label)
            for path, label in (
                ("/reports/me/targets", gettext("My targets")),
                ("/reports/me/quality", gettext("My quality scores")),
            )
            if path in paths
        ],
    }


@router.get("/reports/me")
def my_reports(request: Request, session: SessionDep, agent: CurrentAgent) -> Response:
    return render(
        request, "metrics/me.html", _my_context(request, session, agent), partial="metrics/_my_kpis.html"
    )


@router.get("/reports/me/kpis")
def my_kpis(request: Request, session: SessionDep, agent: CurrentAgent) -> Response:
    """The agent's own KPIs as a fragment, for the home page (hx-get, hx-trigger="load")."""
    return render(request, "metrics/_my_kpis.html", _my_context(request, session, agent))
