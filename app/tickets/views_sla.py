"""SLA pages for supervisors: /settings/sla (the policies: add, change, remove — an htmx form that is
a plain form too) and /reports/sla (the breaches, filtered, with a CSV export)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.deps import SupervisorAgent, verify_csrf
from app.accounts.models import Agent, Role, Team
from app.db import SessionDep, utc_now
from app.errors import InvalidInput, NotFound, is_htmx
from app.i18n import N_, gettext
from app.metrics import dashboard, exports, filters
from app.metrics.period import PRESETS
from app.tickets import sla, sla_breaches, sla_policies
from app.tickets.models import TicketKind, TicketPriority
from app.tickets.sla_models import SlaClock, SlaMetric, SlaPolicy
from app.tickets.workspace import KIND_LABELS, PRIORITY_LABELS, SLA_METRIC_LABELS
from app.web import form_int, redirect, render

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

CLOCK_LABELS = {
    SlaClock.business: N_("Business hours (China's working days, holidays and make-up days)"),
    SlaClock.calendar: N_("Calendar hours (day and night)"),
}


# --- policies ---------------------------------------------------------------------------------------


def _team_for(session: Session, agent: Agent, team_id: int | None, *, strict: bool = True) -> Team | None:
    """A supervisor works on their own team (and the store-wide policies); an admin on any team
    (none chosen: the store-wide policies only)."""
    if Role(agent.role) == Role.admin:
        if team_id is None:
            return None
        team = accounts.get_team(session, team_id)
        if team is None and strict:
            raise NotFound("Team {id} does not exist.", id=team_id)
        return team
    return accounts.get_team(session, agent.team_id) if agent.team_id is not None else None


def policy_values(policy: SlaPolicy) -> dict[str, Any]:
    def minutes(value: int | None) -> str:
        return "" if value is None else str(value)

    return {
        "name": policy.name,
        "team_id": "" if policy.team_id is None else str(policy.team_id),
        "kind": policy.kind or "",
        "priority": policy.priority or "",
        "first_response_minutes": minutes(policy.first_response_minutes),
        "next_response_minutes": minutes(policy.next_response_minutes),
        "resolution_minutes": minutes(policy.resolution_minutes),
        "clock": str(getattr(policy.clock, "value", policy.clock)),
        "day_start": policy.day_start.strftime("%H:%M"),
        "day_end": policy.day_end.strftime("%H:%M"),
        "pause_when_pending": policy.pause_when_pending,
        "pause_when_snoozed": policy.pause_when_snoozed,
        "risk_percent": str(policy.risk_percent),
    }


def _new_values(team: Team | None) -> dict[str, Any]:
    return {
        "name": "",
        "team_id": "" if team is None else str(team.id),
        "kind": "",
        "priority": "",
        "first_response_minutes": "",
        "next_response_minutes": "",
        "resolution_minutes": "",
        "clock": SlaClock.business.value,
        "day_start": "09:00",
        "day_end": "18:00",
        "pause_when_pending": True,
        "pause_when_snoozed": True,
        "risk_percent": str(sla.DEFAULT_RISK_PERCENT),
    }


def _may_edit(agent: Agent, policy: SlaPolicy) -> bool:
    role = Role(agent.role)
    return role == Role.admin or policy.team_id is None or policy.team_id == agent.team_id


def _choices(session: Session, agent: Agent, team: Team | None) -> dict[str, Any]:
    is_admin = Role(agent.role) == Role.admin
    teams = accounts.get_all_teams(session) if is_admin else ([team] if team is not None else [])
    return {
        "team_choices": [("", gettext("Every team (store-wide)"))] + [(str(t.id), t.name) for t in teams],
        "kinds": [(k.value, gettext(KIND_LABELS[k])) for k in TicketKind],
        "priorities": [(p.value, gettext(PRIORITY_LABELS[p])) for p in TicketPriority],
        "clocks": [(c.value, gettext(label)) for c, label in CLOCK_LABELS.items()],
    }


def _form(
    policy: SlaPolicy | None,
    values: dict[str, Any],
    error: InvalidInput | None = None,
) -> dict[str, Any]:
    return {
        "id": f"sla-policy-{policy.id}" if policy is not None else "sla-policy-new",
        "action": f"/settings/sla/policies/{policy.id}" if policy is not None else "/settings/sla/policies",
        "policy": policy,
        "values": values,
        "error": error,
        "field_errors": error.fields if error is not None else {},
    }


def _describe(policy: SlaPolicy, team_names: dict[int, str]) -> dict[str, str]:
    return {
        "team": team_names.get(policy.team_id, "") if policy.team_id else gettext("Every team"),
        "kind": gettext(KIND_LABELS[TicketKind(policy.kind)]) if policy.kind else gettext("Any kind"),
        "priority": gettext(PRIORITY_LABELS[TicketPriority(policy.priority)])
        if policy.priority
        else gettext("Any priority"),
        "clock": gettext(CLOCK_LABELS[SlaClock(policy.clock)]),
    }


def _page(
    request: Request,
    session: Session,
    agent: Agent,
    team: Team | None,
    *,
    failed: tuple[int | None, dict[str, Any], InvalidInput] | None = None,
    status_code: int = 200,
) -> Response:
    policies = sla_policies.list_policies(session, team_id=team.id if team is not None else None)
    team_names = {t.id: t.name for t in accounts.get_all_teams(session)}
    forms = []
    for policy in policies:
        values, error = policy_values(policy), None
        if failed is not None and failed[0] == policy.id:
            values, error = failed[1], failed[2]
        forms.append(
            {
                "form": _form(policy, values, error),
                "about": _describe(policy, team_names),
                "editable": _may_edit(agent, policy),
            }
        )
    new_values, new_error = _new_values(team), None
    if failed is not None and failed[0] is None:
        new_values, new_error = failed[1], failed[2]
    context = {
        "team": team,
        "teams": accounts.get_all_teams(session) if Role(agent.role) == Role.admin else [],
        "policies": forms,
        "new_form": _form(None, new_values, new_error),
        "can_add": True,
        "defaults": [
            (gettext(PRIORITY_LABELS[p]), sla.response_target(p), sla.resolution_target(p))
            for p in reversed(TicketPriority)
        ],
        "max_minutes": sla_policies.MAX_MINUTES,
        "max_risk": sla_policies.MAX_RISK_PERCENT,
    } | _choices(session, agent, team)
    return render(request, "tickets/sla_settings.html", context, status_code=status_code)


def _form_error(
    request: Request,
    session: Session,
    agent: Agent,
    policy: SlaPolicy | None,
    values: dict[str, Any],
    error: InvalidInput,
) -> Response:
    """422 with the form as it was sent and what to correct: the form alone for htmx, else the page."""
    team = _team_for(session, agent, form_int(values.get("team_id")), strict=False)
    if is_htmx(request):
        context = {"form": _form(policy, values, error), "editable": True} | _choices(session, agent, team)
        return render(request, "tickets/_sla_policy_form.html", context, status_code=422)
    return _page(
        request, session, agent, team, failed=(policy.id if policy else None, values, error), status_code=422
    )


class PolicyForm(BaseModel):
    """The policy form's fields as posted (checked by tickets.sla_policies.clean)."""

    name: str = Field("", max_length=64)
    team_id: str = Field("", max_length=12)
    kind: str = Field("", max_length=24)
    priority: str = Field("", max_length=12)
    first_response_minutes: str = Field("", max_length=12)
    next_response_minutes: str = Field("", max_length=12)
    resolution_minutes: str = Field("", max_length=12)
    clock: str = Field("", max_length=12)
    day_start: str = Field("", max_length=12)
    day_end: str = Field("", max_length=12)
    pause_when_pending: str = Field("", max_length=12)
    pause_when_snoozed: str = Field("", max_length=12)
    risk_percent: str = Field("", max_length=12)

    def values(self) -> dict[str, Any]:
        values: dict[str, Any] = self.model_dump()
        for flag in ("pause_when_pending", "pause_when_snoozed"):
            values[flag] = values[flag] in ("1", "on", "true")
        return values


PolicyFormDep = Annotated[PolicyForm, Form()]


def _back(values: dict[str, Any]) -> str:
    team_id = form_int(values.get("team_id"))
    return f"/settings/sla?team={team_id}" if team_id is not None else "/settings/sla"


@router.get("/settings/sla")
def sla_settings(request: Request, session: SessionDep, agent: SupervisorAgent, team: str = "") -> Response:
    return _page(request, session, agent, _team_for(session, agent, form_int(team)))


@router.post("/settings/sla/policies")
def add_policy(
    request: Request, session: SessionDep, agent: SupervisorAgent, form: PolicyFormDep
) -> Response:
    values = form.values()
    try:
        sla_policies.create_policy(session, actor=agent, values=values, now=utc_now())
    except InvalidInput as exc:
        return _form_error(request, session, agent, None, values, exc)
    return redirect(request, _back(values), flash=gettext("SLA policy added."))


@router.post("/settings/sla/policies/{policy_id}")
def edit_policy(
    request: Request, session: SessionDep, agent: SupervisorAgent, policy_id: int, form: PolicyFormDep
) -> Response:
    policy = sla_policies.require_policy(session, policy_id)
    values = form.values()
    try:
        sla_policies.update_policy(session, policy, actor=agent, values=values, now=utc_now())
    except InvalidInput as exc:
        session.refresh(policy)
        return _form_error(request, session, agent, policy, values, exc)
    return redirect(request, _back(values), flash=gettext("SLA policy saved."))


@router.post("/settings/sla/policies/{policy_id}/delete")
def remove_policy(request: Request, session: SessionDep, agent: SupervisorAgent, policy_id: int) -> Response:
    policy = sla_policies.require_policy(session, policy_id)
    back = _back(policy_values(policy))
    sla_policies.delete_policy(session, policy, actor=agent)
    return redirect(request, back, flash=gettext("SLA policy removed."))


# --- breaches ---------------------------------------------------------------------------------------


def _breach_filters(request: Request, session: Session) -> tuple[filters.Filters, SlaMetric | None]:
    q = request.query_params
    chosen = filters.parse(
        session,
        now=utc_now(),
        **{name: q.get(name) for name in ("preset", "start", "end", "store", "team", "agent")},
    )
    return chosen, sla_breaches.parse_metric(q.get("metric"))


@router.get("/reports/sla")
def breaches(
    request: Request, session: SessionDep, agent: SupervisorAgent, cursor: str | None = None
) -> Response:
    chosen, metric = _breach_filters(request, session)
    page = sla_breaches.breach_page(session, filters=chosen, metric=metric, cursor=cursor or None)
    context = {
        "page": page,
        "filters": chosen,
        "metric": metric.value if metric else "",
        "metrics": [(m.value, gettext(SLA_METRIC_LABELS[m.value])) for m in SlaMetric],
        "metric_labels": {m.value: gettext(SLA_METRIC_LABELS[m.value]) for m in SlaMetric},
        "counts": sla_breaches.counts(session, filters=chosen, metric=metric),
        "choices": dashboard.choices(session),
        "presets": PRESETS,
        "cursor": cursor or "",
        "query": chosen.query(metric=metric.value if metric else None),
    }
    return render(request, "tickets/sla_breaches.html", context, partial="tickets/_sla_breaches.html")


@router.get("/reports/sla/export.csv")
def export_breaches(request: Request, session: SessionDep, agent: SupervisorAgent) -> Response:
    chosen, metric = _breach_filters(request, session)
    header, rows = sla_breaches.csv_table(session, filters=chosen, metric=metric, tz=chosen.period.tz)
    body = "".join(exports.rows_to_csv(header, rows)).encode("utf-8")
    period = f"{chosen.period.start.isoformat()}-{chosen.period.end.isoformat()}"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="huitou-sla-breaches-{period}.csv"',
            "Cache-Control": "no-store",
        },
    )
