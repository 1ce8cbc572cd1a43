"""The phrasing routes the agent desk's composer uses: suggestions for a ticket, a template
rendered into the composer, and a copy recorded as a use. Included by phrasing.views."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from app.accounts.deps import CurrentAgent
from app.db import SessionDep, utc_now
from app.errors import InvalidInput
from app.phrasing import service, stats
from app.phrasing.access import require_visible
from app.phrasing.render import render_template, split_missing
from app.phrasing.variables import LOCALE_NAMES, VARIABLES
from app.tickets import service as tickets
from app.web import form_int, render

router = APIRouter(include_in_schema=False)  # CSRF is checked by the including router


@router.get("/phrasing/suggest")
def suggest(
    request: Request,
    session: SessionDep,
    agent: CurrentAgent,
    ticket_id: Annotated[int, Query(ge=1, le=2**63 - 1)],
    q: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    ticket = tickets.require_ticket(session, ticket_id)
    suggestions = service.suggest(session, agent=agent, ticket=ticket, q=q)
    context = {"ticket": ticket, "suggestions": suggestions, "q": q}
    return render(request, "phrasing/suggest.html", context, partial="phrasing/_suggestions.html")


@router.get("/phrasing/{template_id}/render")
def render_for_ticket(
    request: Request,
    session: SessionDep,
    agent: CurrentAgent,
    template_id: int,
    ticket_id: Annotated[int, Query(ge=1, le=2**63 - 1)],
    locale: Annotated[str, Query(max_length=8)] = "",
) -> Response:
    ticket = tickets.require_ticket(session, ticket_id)
    template = require_visible(session, template_id, agent)
    rendered = render_template(
        session, template.id, ticket=ticket, agent=agent, locale=locale or None, now=utc_now()
    )
    context = {
        "ticket": ticket,
        "template": template,
        "rendered": rendered,
        "segments": split_missing(rendered.text),
        "variables": VARIABLES,
        "locale_names": LOCALE_NAMES,
    }
    return render(request, "phrasing/rendered.html", context, partial="phrasing/_rendered.html")


@router.post("/phrasing/{template_id}/copied", status_code=204)
def copied(
    session: SessionDep,
    agent: CurrentAgent,
    template_id: int,
    ticket_id: Annotated[str, Form(max_length=20)] = "",
    locale: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    template = require_visible(session, template_id, agent)
    number = form_int(ticket_id)
    if number is None:
        raise InvalidInput("Which ticket was the template copied for?", fields={"ticket_id": "required"})
    ticket = tickets.require_ticket(session, number)
    stats.record_usage(
        session,
        template_id=template.id,
        agent=agent,
        ticket=ticket,
        action="copied",
        locale=locale or "zh_CN",
        now=utc_now(),
    )
    return Response(status_code=204)
