"""Quality inspection pages: /reports/quality (supervisors sample, score, decide appeals, keep the
rubric) and /reports/me/quality (an agent's own scores and their one appeal each)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.deps import CurrentAgent, SupervisorAgent, verify_csrf
from app.accounts.models import Agent
from app.config import get_settings
from app.db import SessionDep, utc_now
from app.errors import Forbidden
from app.i18n import gettext
from app.metrics import quality, targets
from app.metrics import quality_appeals as appeals
from app.metrics import quality_sampling as sampling
from app.metrics.models import QaInspection
from app.metrics.period import month_period
from app.reviews.surveys import get_survey_for_ticket
from app.tickets import service as tickets
from app.tickets.models import TicketKind
from app.web import redirect, render

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


def _marks(form: Any) -> dict[str, Any]:
    """The scoring form: points_<key>, fatal (repeated), comment_<key>, comment."""
    return {
        "marks": {k.removeprefix("points_"): v for k, v in form.items() if k.startswith("points_")},
        "fatal_keys": [v for v in form.getlist("fatal") if isinstance(v, str)],
        "comments": {k.removeprefix("comment_"): v for k, v in form.items() if k.startswith("comment_")},
        "comment": str(form.get("comment", "")),
    }


def _inspection_context(session: Session, inspection: QaInspection) -> dict[str, Any]:
    ticket = tickets.get_ticket(session, inspection.ticket_id)
    scores = quality.item_scores(session, inspection.id)
    return {
        "inspection": inspection,
        "ticket": ticket,
        "inspected_agent": accounts.get_agent(session, inspection.agent_id) if inspection.agent_id else None,
        "messages": tickets.messages_of(session, inspection.ticket_id),
        "survey": get_survey_for_ticket(session, inspection.ticket_id),
        "scores": scores,
        "score_of": {s.item_key: s for s in scores},
        "appeal": quality.appeal_of(session, inspection.id),
    }


# --- supervisors ---------------------------------------------------------------------------------


@router.get("/reports/quality")
def quality_page(request: Request, session: SessionDep, agent: SupervisorAgent, month: str = "") -> Response:
    now = utc_now()
    year, number = targets.month_or_current(month, now)
    period = month_period(year, number, get_settings().default_timezone)
    scores = quality.qa_scores(session, period=period)
    agents = accounts.get_all_agents(session)
    context = {
        "batches": sampling.list_batches(session),
        "appeals": sampling.appeal_rows(session),
        "agents": [a for a in agents if a.is_active],
        "scores": [(a, scores[a.id]) for a in agents if a.id in scores],
        "kinds": list(TicketKind),
        "max_sample": sampling.SAMPLE_MAX,
        "month_text": targets.month_text(year, number),
        "previous_month": targets.month_text(*targets.shift_month(year, number, -1)),
        "next_month": targets.month_text(*targets.shift_month(year, number, 1)),
    }
    return render(request, "metrics/quality.html", context)


@router.post("/reports/quality/batches")
def create_batch(
    request: Request,
    session: SessionDep,
    agent: SupervisorAgent,
    size: Annotated[str, Form(max_length=6)] = "10",
    mode: Annotated[str, Form(max_length=8)] = "random",
    name: Annotated[str, Form(max_length=200)] = "",
    agent_id: Annotated[str, Form(max_length=20)] = "",
    kind: Annotated[str, Form(max_length=24)] = "",
    start: Annotated[str, Form(max_length=20)] = "",
    end: Annotated[str, Form(max_length=20)] = "",
    max_csat: Annotated[str, Form(max_length=4)] = "",
) -> Response:
    filters = sampling.parse_filters(
        session, agent_id=agent_id, kind=kind, start=start, end=end, max_csat=max_csat
    )
    batch = sampling.sample(
        session, filters=filters, size=size, mode=mode, name=name, actor=agent, now=utc_now()
    )
    return redirect(
        request, f"/reports/quality/batches/{batch.id}", flash=gettext("Tickets sampled for inspection.")
    )


@router.get("/reports/quality/batches/{batch_id}")
def batch_page(request: Request, session: SessionDep, agent: SupervisorAgent, batch_id: int) -> Response:
    batch = sampling.require_batch(session, batch_id)
    context = {"batch": batch, "rows": sampling.batch_rows(session, batch.id)}
    return render(request, "metrics/quality_batch.html", context)


@router.get("/reports/quality/inspections/{inspection_id}")
def inspection_page(
    request: Request, session: SessionDep, agent: SupervisorAgent, inspection_id: int
) -> Response:
    inspection = quality.require_inspection(session, inspection_id)
    context = _inspection_context(session, inspection) | {"rubric": quality.rubric(session, now=utc_now())}
    return render(request, "metrics/quality_inspection.html", context)


@router.post("/reports/quality/inspections/{inspection_id}/score")
async def score_inspection(
    request: Request, session: SessionDep, agent: SupervisorAgent, inspection_id: int
) -> Response:
    inspection = quality.require_inspection(session, inspection_id)
    form = await request.form()
    quality.score(session, inspection, **_marks(form), actor=agent, now=utc_now())
    return redirect(
        request, f"/reports/quality/inspections/{inspection.id}", flash=gettext("Inspection scored.")
    )


@router.post("/reports/quality/appeals/{appeal_id}/resolve")
async def resolve_appeal(
    request: Request, session: SessionDep, agent: SupervisorAgent, appeal_id: int
) -> Response:
    row = appeals.require_appeal(session, appeal_id)
    form = await request.form()
    appeals.resolve_appeal(
        session,
        row,
        decision=str(form.get("decision", "")),
        resolution=str(form.get("resolution", "")),
        actor=agent,
        now=utc_now(),
        **_marks(form),
    )
    return redirect(
        request, f"/reports/quality/inspections/{row.inspection_id}", flash=gettext("Appeal decided.")
    )


@router.get("/reports/quality/rubric")
def rubric_page(request: Request, session: SessionDep, agent: SupervisorAgent) -> Response:
    items = quality.rubric(session, now=utc_now(), active_only=False)
    return render(request, "metrics/quality_rubric.html", {"items": items})


@router.post("/reports/quality/rubric")
def add_rubric_item(
    request: Request,
    session: SessionDep,
    agent: SupervisorAgent,
    label: Annotated[str, Form(max_length=200)] = "",
    kind: Annotated[str, Form(max_length=8)] = "",
    max_points: Annotated[str, Form(max_length=6)] = "",
    description: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    quality.add_item(
        session, label=label, kind=kind, max_points=max_points, description=description, now=utc_now()
    )
    return redirect(request, "/reports/quality/rubric", flash=gettext("Rubric item added."))


@router.post("/reports/quality/rubric/{item_id}")
def toggle_rubric_item(
    request: Request,
    session: SessionDep,
    agent: SupervisorAgent,
    item_id: int,
    active: Annotated[str, Form(max_length=4)] = "",
) -> Response:
    quality.set_item_active(session, item_id, active=active == "1", now=utc_now())
    return redirect(request, "/reports/quality/rubric", flash=gettext("Rubric saved."))


# --- the agent's own -----------------------------------------------------------------------------


def _own(session: Session, agent: Agent, inspection_id: int) -> QaInspection:
    inspection = quality.require_inspection(session, inspection_id)
    if inspection.agent_id != agent.id:
        raise Forbidden("This inspection is about another agent's work.")
    return inspection


@router.get("/reports/me/quality")
def my_quality(request: Request, session: SessionDep, agent: CurrentAgent, month: str = "") -> Response:
    year, number = targets.month_or_current(month, utc_now())
    period = month_period(year, number, get_settings().default_timezone)
    context = {
        "rows": sampling.agent_rows(session, agent.id),
        "month_score": quality.qa_scores(session, period=period, agent_ids=[agent.id]).get(agent.id),
        "month_text": targets.month_text(year, number),
        "previous_month": targets.month_text(*targets.shift_month(year, number, -1)),
        "next_month": targets.month_text(*targets.shift_month(year, number, 1)),
    }
    return render(request, "metrics/quality_me.html", context)


@router.get("/reports/me/quality/{inspection_id}")
def my_inspection(request: Request, session: SessionDep, agent: CurrentAgent, inspection_id: int) -> Response:
    inspection = _own(session, agent, inspection_id)
    return render(request, "metrics/quality_me_inspection.html", _inspection_context(session, inspection))


@router.post("/reports/me/quality/{inspection_id}/appeal")
def appeal_inspection(
    request: Request,
    session: SessionDep,
    agent: CurrentAgent,
    inspection_id: int,
    reason: Annotated[str, Form(max_length=10_000)] = "",
) -> Response:
    inspection = _own(session, agent, inspection_id)
    appeals.appeal(session, inspection, agent=agent, reason=reason, now=utc_now())
    return redirect(
        request, f"/reports/me/quality/{inspection.id}", flash=gettext("Appeal sent to your supervisor.")
    )
