"""Settings pages for follow-up rules and revisit plans (supervisors), and the customer timeline partial."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from app.accounts.deps import CurrentAgent, SupervisorAgent, verify_csrf
from app.db import SessionDep, utc_now
from app.errors import NotFound
from app.followups import calendar, revisits, rules, service
from app.followups.models import Action, FollowupKind, Trigger
from app.i18n import gettext
from app.integrations.service import get_store
from app.phrasing.categories import CATEGORIES
from app.web import redirect, render

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


def _choices() -> dict[str, Any]:
    return {
        "categories": list(CATEGORIES.values()),
        "actions": list(Action),
        "kind_labels": rules.KIND_LABELS,
        "trigger_labels": rules.TRIGGER_LABELS,
        "kind_triggers": rules.KIND_TRIGGERS,
        "kinds": [k for k in FollowupKind if k != FollowupKind.revisit],
        "triggers": [t for t in Trigger if t != Trigger.revisit_plan],
        "named_dates": calendar.NAMED_DATE_LABELS,
    }


@router.get("/settings/followups")
def rules_settings(request: Request, session: SessionDep, agent: SupervisorAgent) -> Response:
    context = service.rules_page(session, now=utc_now()) | _choices()
    return render(request, "followups/rules.html", context)


@router.post("/settings/followups/rules")
def create_rule(
    request: Request,
    session: SessionDep,
    agent: SupervisorAgent,
    trigger: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "",
    delay_minutes: Annotated[str, Form(max_length=12)] = "",
    category: Annotated[str, Form()] = "",
    action: Annotated[str, Form()] = "",
    once: Annotated[str, Form()] = "",
) -> Response:
    rules.create_rule(
        session,
        trigger=trigger,
        kind=kind,
        delay_minutes=delay_minutes,
        category=category,
        action=action,
        once=bool(once),
        now=utc_now(),
    )
    return redirect(request, "/settings/followups", flash=gettext("Follow-up rule added."))


@router.post("/settings/followups/rules/{rule_id}")
def update_rule(
    request: Request,
    session: SessionDep,
    agent: SupervisorAgent,
    rule_id: int,
    delay_minutes: Annotated[str, Form(max_length=12)] = "",
    enabled: Annotated[str, Form()] = "",
    action: Annotated[str, Form()] = "",
    category: Annotated[str, Form()] = "",
) -> Response:
    rule = rules.update_rule(
        session,
        rules.require_rule(session, rule_id),
        delay_minutes=delay_minutes,
        enabled=bool(enabled),
        action=action,
        category=category,
        now=utc_now(),
    )
    context = {"rule": rule} | _choices()
    if request.headers.get("HX-Request") == "true":
        return render(request, "followups/_rule_row.html", context)
    return redirect(request, "/settings/followups", flash=gettext("Follow-up rule saved."))


@router.post("/settings/followups/stores/{store_id}")
def update_store_settings(
    request: Request,
    session: SessionDep,
    agent: SupervisorAgent,
    store_id: int,
    quiet_start: Annotated[str, Form(max_length=5)] = "",
    quiet_end: Annotated[str, Form(max_length=5)] = "",
    revisit_cap_days: Annotated[str, Form(max_length=4)] = "",
    csat_expiry_days: Annotated[str, Form(max_length=4)] = "",
) -> Response:
    store = get_store(session, store_id)
    if store is None:
        raise NotFound("Store {id} does not exist.", id=store_id)
    rules.update_settings(
        session,
        store,
        quiet_start=quiet_start,
        quiet_end=quiet_end,
        revisit_cap_days=revisit_cap_days,
        csat_expiry_days=csat_expiry_days,
        now=utc_now(),
    )
    return redirect(request, "/settings/followups", flash=gettext("Quiet hours and cap saved."))


# --- revisit plans -----------------------------------------------------------------------------


def _plan_form(form: Any) -> dict[str, Any]:
    """The plan form as the service's data (segment criteria are prefixed seg_)."""
    return {
        "name": form.get("name", ""),
        "store_id": form.get("store_id") or None,
        "schedule": form.get("schedule", ""),
        "first_after_days": form.get("first_after_days", ""),
        "repeat_days": form.get("repeat_days", ""),
        "named_dates": form.getlist("named_dates"),
        "offset_days": form.get("offset_days", "0"),
        "send_hour": form.get("send_hour", "10"),
        "category": form.get("category", ""),
        "action": form.get("action", ""),
        "enabled": bool(form.get("enabled")),
        "segment": {key: form.get(f"seg_{key}", "") for key in revisits.SEGMENT_KEYS},
    }


@router.get("/settings/revisits")
def plans_page(request: Request, session: SessionDep, agent: SupervisorAgent) -> Response:
    from app.integrations.service import get_all_stores

    context = {"plans": revisits.list_plans(session), "stores": get_all_stores(session)} | _choices()
    return render(request, "followups/plans.html", context)


@router.post("/settings/revisits")
async def create_plan(request: Request, session: SessionDep, agent: SupervisorAgent) -> Response:
    data = _plan_form(await request.form())
    plan = revisits.create_plan(session, data=data, now=utc_now(), created_by_id=agent.id)
    return redirect(request, f"/settings/revisits/{plan.id}", flash=gettext("Revisit plan created."))


@router.get("/settings/revisits/{plan_id}")
def plan_detail(request: Request, session: SessionDep, agent: SupervisorAgent, plan_id: int) -> Response:
    from app.integrations.service import get_all_stores

    context = (
        service.plan_page(session, plan_id, now=utc_now()) | {"stores": get_all_stores(session)} | _choices()
    )
    return render(request, "followups/plan.html", context, partial="followups/_reach.html")


@router.post("/settings/revisits/{plan_id}")
async def update_plan(
    request: Request, session: SessionDep, agent: SupervisorAgent, plan_id: int
) -> Response:
    data = _plan_form(await request.form())
    revisits.update_plan(session, revisits.require_plan(session, plan_id), data=data, now=utc_now())
    return redirect(request, f"/settings/revisits/{plan_id}", flash=gettext("Revisit plan saved."))


@router.post("/settings/revisits/{plan_id}/run")
def run_plan(request: Request, session: SessionDep, agent: SupervisorAgent, plan_id: int) -> Response:
    count = revisits.materialise(session, revisits.require_plan(session, plan_id), now=utc_now())
    flash = gettext("{count} revisits scheduled for the coming week.").format(count=count)
    return redirect(request, f"/settings/revisits/{plan_id}", flash=flash)


# --- the customer's timeline -------------------------------------------------------------------


@router.get("/customers/{customer_id}/followups")
def customer_followups(
    request: Request, session: SessionDep, agent: CurrentAgent, customer_id: int
) -> Response:
    context = {
        "customer_id": customer_id,
        "followups": service.followups_for_customer(session, customer_id),
        "kind_labels": rules.KIND_LABELS,
    }
    return render(request, "followups/_customer_followups.html", context)
