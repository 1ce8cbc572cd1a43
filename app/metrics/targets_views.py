"""Target pages: /reports/targets (supervisors set targets and assess agents' months) and
/reports/me/targets (an agent's own targets, figures and self-assessment; an htmx partial for the
home page)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from app.accounts import service as accounts
from app.accounts.deps import CurrentAgent, SupervisorAgent, verify_csrf
from app.accounts.models import Agent
from app.db import SessionDep, utc_now
from app.errors import is_htmx
from app.i18n import gettext
from app.metrics import kpis, targets
from app.metrics.models import TargetDirection
from app.web import redirect, render

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


def _month_context(year: int, month: int) -> dict[str, Any]:
    return {
        "year": year,
        "month": month,
        "month_text": targets.month_text(year, month),
        "previous_month": targets.month_text(*targets.shift_month(year, month, -1)),
        "next_month": targets.month_text(*targets.shift_month(year, month, 1)),
        "fmt": targets.format_value,
        "kpi_defs": kpis.KPIS,
    }


def _agent_month(
    session: Any, agent: Agent, year: int, month: int, now: datetime, *, own_only: bool = False
) -> dict[str, Any]:
    """An agent's month: their targets with the actual figures and, for the whole page (not
    `own_only`, the workbench's box), their team's and the self-assessment."""
    own = targets.targets_for(session, year=year, month=month, agent_id=agent.id)
    context = {
        "subject_agent": agent,
        "lines": targets.lines(session, own, year=year, month=month, now=now),
        "team_lines": [],
        "assessment": None,
    } | _month_context(year, month)
    if own_only:
        return context
    if agent.team_id:
        team = targets.targets_for(session, year=year, month=month, team_id=agent.team_id)
        context["team_lines"] = targets.lines(session, team, year=year, month=month, now=now)
    context["assessment"] = targets.assessment_for(session, agent.id, year=year, month=month)
    return context


# --- supervisors ---------------------------------------------------------------------------------


@router.get("/reports/targets")
def targets_page(request: Request, session: SessionDep, agent: SupervisorAgent, month: str = "") -> Response:
    now = utc_now()
    year, number = targets.month_or_current(month, now)
    context = {
        "overview": targets.month_overview(session, year=year, month=number, now=now),
        "agents": [a for a in accounts.get_all_agents(session) if a.is_active],
        "teams": accounts.get_all_teams(session),
        "directions": list(TargetDirection),
    } | _month_context(year, number)
    return render(request, "metrics/targets.html", context)


@router.post("/reports/targets")
def set_target(
    request: Request,
    session: SessionDep,
    agent: SupervisorAgent,
    month: Annotated[str, Form(max_length=20)] = "",
    subject: Annotated[str, Form(max_length=40)] = "",
    kpi: Annotated[str, Form(max_length=40)] = "",
    value: Annotated[str, Form(max_length=40)] = "",
    direction: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    year, number = targets.parse_month(month)
    targets.set_target(
        session,
        subject=subject,
        year=year,
        month=number,
        kpi=kpi,
        value=value,
        direction=direction or None,
        actor=agent,
        now=utc_now(),
    )
    return redirect(
        request, f"/reports/targets?month={targets.month_text(year, number)}", flash=gettext("Target saved.")
    )


@router.post("/reports/targets/{target_id}/delete")
def delete_target(request: Request, session: SessionDep, agent: SupervisorAgent, target_id: int) -> Response:
    target = targets.require_target(session, target_id)
    month = targets.month_text(target.year, target.month)
    targets.delete_target(session, target)
    return redirect(request, f"/reports/targets?month={month}", flash=gettext("Target removed."))


@router.get("/reports/targets/agents/{agent_id}")
def agent_month_page(
    request: Request, session: SessionDep, agent: SupervisorAgent, agent_id: int, month: str = ""
) -> Response:
    subject = accounts.require_agent(session, agent_id)
    now = utc_now()
    year, number = targets.month_or_current(month, now)
    return render(request, "metrics/targets_agent.html", _agent_month(session, subject, year, number, now))


@router.post("/reports/targets/agents/{agent_id}/assessment")
def supervisor_assessment(
    request: Request,
    session: SessionDep,
    agent: SupervisorAgent,
    agent_id: int,
    month: Annotated[str, Form(max_length=20)] = "",
    text: Annotated[str, Form(max_length=10_000)] = "",
    rating: Annotated[str, Form(max_length=4)] = "",
) -> Response:
    subject = accounts.require_agent(session, agent_id)
    year, number = targets.parse_month(month)
    targets.write_supervisor_assessment(
        session, subject, year=year, month=number, text=text, rating=rating, actor=agent, now=utc_now()
    )
    url = f"/reports/targets/agents/{subject.id}?month={targets.month_text(year, number)}"
    return redirect(request, url, flash=gettext("Assessment saved."))


# --- the agent's own ---------------------------------------------------------------------------


@router.get("/reports/me/targets")
def my_targets(request: Request, session: SessionDep, agent: CurrentAgent, month: str = "") -> Response:
    now = utc_now()
    year, number = targets.month_or_current(month, now)
    # The workbench's box (an htmx request) shows the agent's own lines only: the team's figures
    # (a month of the whole team's KPIs) and the assessment are for the page.
    return render(
        request,
        "metrics/targets_me.html",
        _agent_month(session, agent, year, number, now, own_only=is_htmx(request)),
        partial="metrics/_target_progress.html",
    )


@router.post("/reports/me/targets/assessment")
def self_assessment(
    request: Request,
    session: SessionDep,
    agent: CurrentAgent,
    month: Annotated[str, Form(max_length=20)] = "",
    text: Annotated[str, Form(max_length=10_000)] = "",
    rating: Annotated[str, Form(max_length=4)] = "",
) -> Response:
    year, number = targets.parse_month(month)
    targets.write_self_assessment(
        session, agent, year=year, month=number, text=text, rating=rating, now=utc_now()
    )
    url = f"/reports/me/targets?month={targets.month_text(year, number)}"
    return redirect(request, url, flash=gettext("Self-assessment saved."))
