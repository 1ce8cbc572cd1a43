"""HTML views of the agent desk: the workbench's live partials, "next ticket", away, the ticket
workspace and its presence heartbeat. The workspace's actions are in tickets/views_actions.py.

Polled partials are plain GETs that only read; heartbeats (last seen, who has a ticket open)
are POSTs, so a GET never writes (on SQLite a read transaction must not turn into a write).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from app.accounts.deps import CurrentAgent, as_agent, verify_csrf
from app.accounts.models import Agent
from app.aftersales.lifecycle import STATE_LABELS as CASE_STATE_LABELS
from app.db import SessionDep, commit_writes, utc_now
from app.errors import is_htmx
from app.i18n import gettext
from app.orders.lifecycle import STAGE_LABELS
from app.tickets import assignment, presence, service
from app.tickets import workbench as desk
from app.tickets.workspace import load_thread, load_workspace, other_inquiries, other_orders
from app.web import redirect, render

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


# --- the workbench's partials ------------------------------------------------------------------


@router.get("/queues/counts")
def queue_counts(request: Request, session: SessionDep, agent: CurrentAgent, queue: str = "") -> Response:
    listing = desk.queue_list(session, agent=agent, now=utc_now(), selected=queue[:32] or None)
    return render(request, "tickets/_queue_list.html", {"listing": listing})


@router.get("/queues/{queue_key}/rows")
def queue_rows(
    request: Request, session: SessionDep, agent: CurrentAgent, queue_key: str, cursor: str | None = None
) -> Response:
    rows = desk.queue_rows(session, agent=agent, queue_key=queue_key, now=utc_now(), cursor=cursor)
    return render(request, "tickets/_queue_rows.html", {"queue_rows": rows})


@router.post("/tickets/next")
async def next_ticket(
    request: Request,
    session: SessionDep,
    queue: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """下一个: claim the most urgent waiting ticket and open it; nothing waiting is an answer.
    Who is logged in, the claim and its commit take one trip to the thread pool (as_agent). The
    claim is one atomic UPDATE, so on PostgreSQL none of it needs a transaction: three round trips
    (the agent, the queues, the UPDATE) instead of five."""

    def claim(agent: Agent) -> int | None:
        ticket_id = assignment.claim_next(session, agent=agent, now=utc_now(), queue_key=queue or None)
        commit_writes(session)  # in this thread: SQLite's write lock is not held across a hop
        return ticket_id

    ticket_id = await as_agent(request, session, claim, autocommit=True)
    if ticket_id is not None:
        return redirect(request, f"/tickets/{ticket_id}")
    if is_htmx(request):
        return render(request, "tickets/_next_empty.html")
    return redirect(request, "/", flash=gettext("Nothing is waiting in your queues right now."))


@router.post("/me/away")
def set_away(
    request: Request,
    session: SessionDep,
    agent: CurrentAgent,
    away: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """挂起: an away agent gets no auto-assigned work (and can still take tickets by hand)."""
    agent = assignment.set_away(session, agent, away=away in ("1", "true", "on"), now=utc_now())
    if is_htmx(request):
        return render(request, "tickets/_away.html", {"agent": agent})
    flash = (
        gettext("You are away: no new work is assigned to you.")
        if agent.is_away
        else gettext("Welcome back.")
    )
    return redirect(request, "/", flash=flash)


@router.post("/me/seen")
def seen(session: SessionDep, agent: CurrentAgent) -> Response:
    """The workbench's heartbeat: the agent is online (for auto-assignment)."""
    assignment.touch_seen(session, agent, now=utc_now())
    commit_writes(session)
    return Response(status_code=204)


# --- the workspace -------------------------------------------------------------------------------


@router.get("/tickets/{ticket_id}")
def ticket_page(request: Request, session: SessionDep, agent: CurrentAgent, ticket_id: int) -> Response:
    now = utc_now()
    workspace = load_workspace(session, ticket_id, agent=agent, now=now)
    others = presence.other_viewers(session, ticket_id=ticket_id, agent_id=agent.id, now=now)
    context = {
        "ws": workspace,
        "panel": workspace.panel,
        "thread": workspace.thread,
        "story": workspace.story,
        "stage_labels": STAGE_LABELS,
        "state_labels": CASE_STATE_LABELS,
        "viewers": others,
    }
    return render(request, "tickets/workspace.html", context)


@router.get("/tickets/{ticket_id}/story/orders")
def story_orders(request: Request, session: SessionDep, agent: CurrentAgent, ticket_id: int) -> Response:
    """The workspace's "other orders" section, loaded when the agent opens it."""
    ticket = service.require_ticket(session, ticket_id)
    return render(request, "tickets/_story_orders.html", {"cards": other_orders(session, ticket)})


@router.get("/tickets/{ticket_id}/story/inquiries")
def story_inquiries(request: Request, session: SessionDep, agent: CurrentAgent, ticket_id: int) -> Response:
    """The workspace's "other inquiries" section, loaded when the agent opens it."""
    ticket = service.require_ticket(session, ticket_id)
    return render(request, "tickets/_story_inquiries.html", {"cards": other_inquiries(session, ticket)})


@router.get("/tickets/{ticket_id}/thread")
def ticket_thread(request: Request, session: SessionDep, agent: CurrentAgent, ticket_id: int) -> Response:
    ticket = service.require_ticket(session, ticket_id)
    return render(request, "tickets/_thread.html", {"thread": load_thread(session, ticket)})


def _presence(
    request: Request, session: SessionDep, agent: CurrentAgent, ticket_id: int, *, beat: bool
) -> Response:
    now = utc_now()
    ticket = service.require_ticket(session, ticket_id)
    if beat:
        presence.heartbeat(session, ticket_id=ticket.id, agent_id=agent.id, now=now)
        assignment.touch_seen(session, agent, now=now)
        commit_writes(session)  # who else is here is read without holding SQLite's write lock
    others = presence.other_viewers(session, ticket_id=ticket.id, agent_id=agent.id, now=now)
    return render(request, "tickets/_presence.html", {"viewers": others})


@router.get("/tickets/{ticket_id}/presence")
def who_else(request: Request, session: SessionDep, agent: CurrentAgent, ticket_id: int) -> Response:
    """Who else has this ticket open (read only)."""
    return _presence(request, session, agent, ticket_id, beat=False)


@router.post("/tickets/{ticket_id}/presence")
def heartbeat(request: Request, session: SessionDep, agent: CurrentAgent, ticket_id: int) -> Response:
    """The workspace's heartbeat every 5 s: I have this ticket open; who else has?"""
    return _presence(request, session, agent, ticket_id, beat=True)
