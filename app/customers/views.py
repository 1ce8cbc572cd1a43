"""HTML views of the customers domain: the list, the customer page, consent, profile edits, CSV export."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from app.accounts.deps import CurrentAgent, SupervisorAgent, verify_csrf
from app.accounts.models import Agent, Role
from app.audit.service import Actor
from app.customers import privacy, service, story
from app.customers.export import export_customers_csv
from app.customers.masking import customer_view, sees_whole_pii
from app.customers.service import CustomerFilters
from app.db import SessionDep, utc_now
from app.errors import InvalidInput, is_htmx
from app.followups.rules import KIND_LABELS as FOLLOWUP_KIND_LABELS
from app.i18n import gettext
from app.web import form_int, redirect, render

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
PAGE_SIZE = 50


def _filters(q: str, store: str, vip_min: str, tag: str, viewer: Agent) -> CustomerFilters:
    vip = form_int(vip_min)
    if vip_min.strip() and vip is None:
        raise InvalidInput("vip_min must be between 0 and 9.", fields={"vip_min": "0–9"})
    return CustomerFilters(
        q=q[:100],
        store=store.strip(),
        vip_min=vip,
        tag=tag[:32],
        whole_phone_only=not sees_whole_pii(viewer),
    )


@router.get("/customers")
def customers_page(
    request: Request,
    session: SessionDep,
    agent: CurrentAgent,
    q: str = "",
    store: str = "",
    vip_min: str = "",
    tag: str = "",
    cursor: str | None = None,
) -> Response:
    filters = _filters(q, store, vip_min, tag, agent)
    listing = story.customer_list(
        session, filters=filters, viewer=agent, cursor=cursor or None, limit=PAGE_SIZE
    )
    context = {"listing": listing, "filters": filters}
    return render(request, "customers/list.html", context, partial="customers/_list.html")


@router.get("/customers/export.csv")
def export_csv(
    request: Request,
    session: SessionDep,
    agent: CurrentAgent,
    q: str = "",
    store: str = "",
    vip_min: str = "",
    tag: str = "",
) -> Response:
    now = utc_now()
    filters = _filters(q, store, vip_min, tag, agent)
    body = export_customers_csv(session, filters=filters, viewer=agent, actor=Actor.agent(agent), now=now)
    filename = f"customers-{now:%Y%m%d-%H%M}.csv"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


@router.get("/customers/{customer_id}")
def customer_page(request: Request, session: SessionDep, agent: CurrentAgent, customer_id: int) -> Response:
    return render(
        request,
        "customers/detail.html",
        {
            "story": story.customer_story(session, customer_id, viewer=agent, now=utc_now()),
            "followup_kind_labels": FOLLOWUP_KIND_LABELS,
            "can_handle_privacy": Role(agent.role).at_least(Role.supervisor),
        },
    )


@router.get("/customers/{customer_id}/export")
def export_personal_data(
    request: Request, session: SessionDep, agent: SupervisorAgent, customer_id: int, format: str = "json"
) -> Response:
    """A buyer's data-access request (PIPL / GDPR): everything stored about them, as a download."""
    customer = service.require_customer(session, customer_id)
    body, media_type = privacy.export_for_request(
        session, customer, fmt=format, actor=Actor.agent(agent), now=utc_now()
    )
    filename = f"customer-{customer.id}.{format}"
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


@router.post("/customers/{customer_id}/erase")
def erase_personal_data(
    request: Request,
    session: SessionDep,
    agent: SupervisorAgent,
    customer_id: int,
    confirm: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """The right to be forgotten: personal fields and texts scrubbed, aggregates kept, audit-logged."""
    customer = service.require_customer(session, customer_id)
    if confirm != "yes":
        raise InvalidInput(
            "Tick the box to confirm: erasing cannot be undone.", fields={"confirm": "required"}
        )
    privacy.erase_customer(session, customer, actor=Actor.agent(agent), now=utc_now())
    return redirect(
        request, f"/customers/{customer.id}", flash=gettext("The buyer's personal data was erased.")
    )


def _after_change(request: Request, customer_view_model, partial: str, flash: str) -> Response:
    if is_htmx(request):
        return render(request, partial, {"customer": customer_view_model})
    return redirect(request, f"/customers/{customer_view_model.id}", flash=flash)


@router.post("/customers/{customer_id}/profile")
def update_profile(
    request: Request,
    session: SessionDep,
    agent: CurrentAgent,
    customer_id: int,
    tags: Annotated[str, Form(max_length=1000)] = "",
    vip_level: Annotated[str, Form(max_length=4)] = "0",
    notes: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    customer = service.update_customer(
        session,
        service.require_customer(session, customer_id),
        tags=tags,
        vip_level=vip_level,
        notes=notes,
        now=utc_now(),
    )
    return _after_change(
        request, customer_view(customer, agent), "customers/_profile.html", gettext("Customer profile saved.")
    )


@router.post("/customers/{customer_id}/consent")
def grant_consent(request: Request, session: SessionDep, agent: CurrentAgent, customer_id: int) -> Response:
    customer = service.grant_consent(session, service.require_customer(session, customer_id), now=utc_now())
    return _after_change(
        request,
        customer_view(customer, agent),
        "customers/_consent.html",
        gettext("Marketing consent recorded."),
    )


@router.post("/customers/{customer_id}/opt-out")
def opt_out(request: Request, session: SessionDep, agent: CurrentAgent, customer_id: int) -> Response:
    customer = service.opt_out(session, service.require_customer(session, customer_id), now=utc_now())
    return _after_change(
        request,
        customer_view(customer, agent),
        "customers/_consent.html",
        gettext("Marketing opt-out recorded."),
    )
