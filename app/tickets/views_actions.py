"""The ticket workspace's actions: reply or note, snooze, solve, reopen, reassign, priority, tags,
macros. Each is an HTMX POST answering with the changed partials (out-of-band swaps, so the page
never reloads) and a plain form post answered with a 303 back to the ticket. A refusal is shown
inline next to the form that caused it; without JavaScript it is the error page.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from app.accounts.deps import CurrentAgent, verify_csrf
from app.db import SessionDep, commit_writes, utc_now
from app.errors import DomainError, InvalidInput, is_htmx
from app.i18n import gettext
from app.tickets import macros, service
from app.tickets.models import Ticket
from app.tickets.workspace import load_panel, load_thread, snooze_until, store_zone
from app.web import form_int, format_time, redirect, render

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

MODES = ("reply", "note")
TAG_SEPARATORS = re.compile(r"[,，、;；\s]+")


def _refresh(
    request: Request,
    session: SessionDep,
    ticket: Ticket,
    agent: CurrentAgent,
    *,
    notice: str,
    composer: bool = False,
) -> Response:
    """HTMX: the panel and the thread (and a fresh composer) swapped out of band, plus the notice.
    A plain form: back to the ticket with the notice as a flash."""
    if not is_htmx(request):
        return redirect(request, f"/tickets/{ticket.id}", flash=notice)
    now = utc_now()
    context = {
        "oob": True,
        "panel": load_panel(session, ticket, agent=agent, now=now),
        "thread": load_thread(session, ticket),
        "composer": composer,
        "notice": notice,
    }
    return render(request, "tickets/_refresh.html", context)


def _act(
    request: Request,
    session: SessionDep,
    agent: CurrentAgent,
    ticket_id: int,
    action: Callable[[Ticket], str],
    *,
    error_target: str = "#panel-error",
    composer: bool = False,
) -> Response:
    """Run `action` on the ticket (it returns the notice); an HTMX refusal goes inline."""
    ticket = service.require_ticket(session, ticket_id)
    try:
        # A savepoint: a refusal halfway leaves no half-written record behind, even though the
        # request itself still succeeds (it answers with the inline error).
        with session.begin_nested():
            notice = action(ticket)
    except DomainError as exc:
        if not is_htmx(request):
            raise
        context = {"status": exc.status_code, "detail": exc.localized(), "fields": exc.fields}
        headers = {"HX-Retarget": error_target, "HX-Reswap": "innerHTML"}
        return render(
            request, "components/_error.html", context, status_code=exc.status_code, headers=headers
        )
    commit_writes(session)  # the refreshed panels are read without holding SQLite's write lock
    return _refresh(request, session, ticket, agent, notice=notice, composer=composer)


@router.post("/tickets/{ticket_id}/messages")
def post_message(
    request: Request,
    session: SessionDep,
    agent: CurrentAgent,
    ticket_id: int,
    mode: Annotated[str, Form(max_length=8)] = "reply",
    body: Annotated[str, Form(max_length=20_000)] = "",
    channel: Annotated[str, Form(max_length=16)] = "manual",
    template_id: Annotated[str, Form(max_length=20)] = "",
    locale: Annotated[str, Form(max_length=8)] = "",
    then: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """The composer: a reply to the buyer (through a channel, optionally solving), or an internal note."""

    def action(ticket: Ticket) -> str:
        now = utc_now()
        if mode not in MODES:
            raise InvalidInput("Choose a reply or an internal note.", fields={"mode": ", ".join(MODES)})
        if mode == "note":
            service.add_note(session, ticket, agent=agent, body=body, now=now)
            return gettext("Internal note added.")
        if then and then != "solved":
            raise InvalidInput("After sending, a ticket can only be solved.", fields={"then": "solved"})
        service.reply(
            session,
            ticket,
            agent=agent,
            body=body,
            now=now,
            channel=channel or "manual",
            template_id=form_int(template_id),
            locale=locale or None,
            then_status=then or None,
        )
        return gettext("Reply sent and ticket solved.") if then else gettext("Reply sent.")

    return _act(request, session, agent, ticket_id, action, error_target="#composer-error", composer=True)


@router.post("/tickets/{ticket_id}/snooze")
def snooze(
    request: Request,
    session: SessionDep,
    agent: CurrentAgent,
    ticket_id: int,
    until: Annotated[str, Form(max_length=40)] = "",
    preset: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    def action(ticket: Ticket) -> str:
        now = utc_now()
        zone = store_zone(session, ticket)
        when = snooze_until(until=until, preset=preset, zone=zone, now=now)
        service.snooze(session, ticket, agent=agent, until=when, now=now)
        return gettext("Snoozed until {time}.").format(time=format_time(when, str(zone), "short"))

    return _act(request, session, agent, ticket_id, action)


@router.post("/tickets/{ticket_id}/solve")
def solve(request: Request, session: SessionDep, agent: CurrentAgent, ticket_id: int) -> Response:
    def action(ticket: Ticket) -> str:
        service.solve(session, ticket, agent=agent, now=utc_now())
        return gettext("Ticket solved.")

    return _act(request, session, agent, ticket_id, action)


@router.post("/tickets/{ticket_id}/reopen")
def reopen(request: Request, session: SessionDep, agent: CurrentAgent, ticket_id: int) -> Response:
    def action(ticket: Ticket) -> str:
        service.reopen(session, ticket, agent=agent, now=utc_now())
        return gettext("Ticket reopened.")

    return _act(request, session, agent, ticket_id, action)


@router.post("/tickets/{ticket_id}/assign")
def assign(
    request: Request,
    session: SessionDep,
    agent: CurrentAgent,
    ticket_id: int,
    assignee: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Hand the ticket to a teammate, take it ("me"), or put it back in the queue ("")."""

    def action(ticket: Ticket) -> str:
        if assignee == "me":
            assignee_id = agent.id
        elif assignee.strip():
            assignee_id = form_int(assignee)
            if assignee_id is None:
                raise InvalidInput("Choose an agent from the list.", fields={"assignee": "agent id"})
        else:
            assignee_id = None
        service.assign(session, ticket, assignee_id=assignee_id, actor=agent, now=utc_now())
        if assignee_id is None:
            return gettext("Ticket put back in the queue.")
        return gettext("Ticket is yours.") if assignee_id == agent.id else gettext("Ticket reassigned.")

    return _act(request, session, agent, ticket_id, action)


@router.post("/tickets/{ticket_id}/priority")
def priority(
    request: Request,
    session: SessionDep,
    agent: CurrentAgent,
    ticket_id: int,
    priority: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    def action(ticket: Ticket) -> str:
        service.set_priority(session, ticket, priority=priority, actor=agent, now=utc_now())
        return gettext("Priority changed.")

    return _act(request, session, agent, ticket_id, action)


@router.post("/tickets/{ticket_id}/tags")
def tags(
    request: Request,
    session: SessionDep,
    agent: CurrentAgent,
    ticket_id: int,
    tags: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    def action(ticket: Ticket) -> str:
        names = [t for t in TAG_SEPARATORS.split(tags) if t]
        service.set_tags(session, ticket, tags=names, actor=agent, now=utc_now())
        return gettext("Tags saved.")

    return _act(request, session, agent, ticket_id, action)


@router.post("/tickets/{ticket_id}/macro")
def apply_macro(
    request: Request,
    session: SessionDep,
    agent: CurrentAgent,
    ticket_id: int,
    macro_id: Annotated[str, Form(max_length=20)] = "",
    channel: Annotated[str, Form(max_length=16)] = "manual",
) -> Response:
    """A macro: its phrasing sent as a reply plus its status / tag / assignee changes, at once."""

    def action(ticket: Ticket) -> str:
        chosen = form_int(macro_id)
        if chosen is None:
            raise InvalidInput("Choose a macro.", fields={"macro_id": "required"})
        macros.apply_macro(session, ticket, macro_id=chosen, agent=agent, now=utc_now(), channel=channel)
        return gettext("Macro applied.")

    return _act(request, session, agent, ticket_id, action)
