"""Desk settings for supervisors (/settings/desk): a team's auto-assignment and cap, its queues
(saved filters: add, edit, delete) and its macros. Plain forms answered with a 303 back."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlmodel import Session, select

from app.accounts import service as accounts
from app.accounts.deps import SupervisorAgent, verify_csrf
from app.accounts.models import Agent, AssignmentMode, Role, Team
from app.db import SessionDep, utc_now
from app.errors import InvalidInput, NotFound
from app.i18n import N_, gettext
from app.phrasing.service import TemplateFilters, list_templates
from app.tickets import assignment, macros, queues
from app.tickets.models import Macro, Queue, TicketKind, TicketPriority, TicketStatus
from app.tickets.workspace import KIND_LABELS, PRIORITY_LABELS, STATUS_LABELS
from app.web import form_int, redirect, render

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

MODE_LABELS = {
    AssignmentMode.manual: N_("By hand: agents take the next ticket"),
    AssignmentMode.round_robin: N_("Round robin among online agents"),
    AssignmentMode.fewest_open: N_("To the online agent with the fewest open tickets"),
}
ASSIGNEE_LABELS = {
    "unassigned_or_mine": N_("Unassigned and mine"),
    "unassigned": N_("Unassigned only"),
    "mine": N_("Mine only"),
}
MACRO_STATUS_LABELS = {"open": N_("To handle"), "pending": N_("Awaiting buyer"), "solved": N_("Solved")}


def _require_team(session: Session, team_id: int) -> Team:
    team = accounts.get_team(session, team_id)
    if team is None:
        raise NotFound("Team {id} does not exist.", id=team_id)
    return team


def _team_for(session: Session, agent: Agent, team_id: int | None) -> Team | None:
    """A supervisor manages their own team; an admin any team (the first by default)."""
    if Role(agent.role) == Role.admin:
        if team_id is not None:
            return _require_team(session, team_id)
        teams = accounts.get_all_teams(session)
        return teams[0] if teams else None
    if agent.team_id is None:
        return None
    return accounts.get_team(session, agent.team_id)


def _back(team: Team, flash: str) -> tuple[str, str]:
    return f"/settings/desk?team={team.id}", flash


def _filters_from(
    kinds: list[str], statuses: list[str], priorities: list[str], assignee: str, tags: str
) -> dict[str, Any]:
    return {
        "kinds": kinds,
        "statuses": statuses,
        "priorities": priorities,
        "assignee": assignee,
        "tags": tags,
    }


def _context(session: Session, agent: Agent, team: Team | None) -> dict[str, Any]:
    team_queues: list[Queue] = []
    team_macros: list[Macro] = []
    if team is not None:
        queues.ensure_default_queues(session, team_id=team.id, now=utc_now())
        query = select(Queue).where(Queue.team_id == team.id).order_by(Queue.position, Queue.id)
        team_queues = list(session.exec(query))
        team_macros = list(session.exec(select(Macro).where(Macro.team_id == team.id).order_by(Macro.name)))
    templates = list_templates(session, agent=agent, filters=TemplateFilters(), cursor=None, limit=200).items
    return {
        "team": team,
        "teams": accounts.get_all_teams(session) if Role(agent.role) == Role.admin else [],
        "queues": team_queues,
        "queue_label": queues.queue_label,
        "macros": team_macros,
        "templates": templates,
        "template_titles": {t.id: t.title for t in templates},
        "team_agents": [a for a in accounts.get_all_agents(session) if team and a.team_id == team.id],
        "modes": [(m.value, gettext(label)) for m, label in MODE_LABELS.items()],
        "kinds": [(k.value, gettext(KIND_LABELS[k])) for k in TicketKind],
        "statuses": [(s.value, gettext(STATUS_LABELS[s])) for s in TicketStatus],
        "priorities": [(p.value, gettext(PRIORITY_LABELS[p])) for p in TicketPriority],
        "assignee_modes": [(k, gettext(v)) for k, v in ASSIGNEE_LABELS.items()],
        "macro_statuses": [(k, gettext(v)) for k, v in MACRO_STATUS_LABELS.items()],
        "max_cap": assignment.MAX_CAP,
    }


@router.get("/settings/desk")
def desk_settings(request: Request, session: SessionDep, agent: SupervisorAgent, team: str = "") -> Response:
    chosen = _team_for(session, agent, form_int(team))
    return render(request, "tickets/settings.html", _context(session, agent, chosen))


@router.post("/settings/desk/teams/{team_id}/assignment")
def save_assignment(
    request: Request,
    session: SessionDep,
    agent: SupervisorAgent,
    team_id: int,
    mode: Annotated[str, Form(max_length=16)] = "",
    max_open: Annotated[str, Form(max_length=6)] = "0",
) -> Response:
    team = _require_team(session, team_id)
    assignment.update_team_assignment(session, team, mode=mode, max_open=max_open, actor=agent, now=utc_now())
    url, flash = _back(team, gettext("Assignment saved."))
    return redirect(request, url, flash=flash)


@router.post("/settings/desk/teams/{team_id}/queues")
def add_queue(
    request: Request,
    session: SessionDep,
    agent: SupervisorAgent,
    team_id: int,
    name: Annotated[str, Form(max_length=64)] = "",
    kinds: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI reads the default, never mutates it
    statuses: Annotated[list[str], Form()] = [],  # noqa: B006
    priorities: Annotated[list[str], Form()] = [],  # noqa: B006
    assignee: Annotated[str, Form(max_length=24)] = "unassigned_or_mine",
    tags: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    team = _require_team(session, team_id)
    queues.create_queue(
        session,
        actor=agent,
        team_id=team.id,
        name=name,
        filters=_filters_from(kinds, statuses, priorities, assignee, tags),
        now=utc_now(),
    )
    url, flash = _back(team, gettext("Queue added."))
    return redirect(request, url, flash=flash)


def _team_queue(session: Session, queue_id: int) -> tuple[Queue, Team]:
    queue = queues.require_queue(session, queue_id)
    if queue.team_id is None:
        raise InvalidInput("The shared queues are not edited here.", fields={"queue": "shared"})
    return queue, _require_team(session, queue.team_id)


@router.post("/settings/desk/queues/{queue_id}")
def edit_queue(
    request: Request,
    session: SessionDep,
    agent: SupervisorAgent,
    queue_id: int,
    name: Annotated[str, Form(max_length=64)] = "",
    kinds: Annotated[list[str], Form()] = [],  # noqa: B006
    statuses: Annotated[list[str], Form()] = [],  # noqa: B006
    priorities: Annotated[list[str], Form()] = [],  # noqa: B006
    assignee: Annotated[str, Form(max_length=24)] = "unassigned_or_mine",
    tags: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    queue, team = _team_queue(session, queue_id)
    filters = None if queue.key == "mine" else _filters_from(kinds, statuses, priorities, assignee, tags)
    # A default queue's name is a msgid shown translated: unchanged, it stays translatable.
    new_name = None if name.strip() == queues.queue_label(queue) else name
    queues.update_queue(session, queue, actor=agent, now=utc_now(), name=new_name, filters=filters)
    url, flash = _back(team, gettext("Queue saved."))
    return redirect(request, url, flash=flash)


@router.post("/settings/desk/queues/{queue_id}/delete")
def remove_queue(request: Request, session: SessionDep, agent: SupervisorAgent, queue_id: int) -> Response:
    queue, team = _team_queue(session, queue_id)
    queues.delete_queue(session, queue, actor=agent, now=utc_now())
    url, flash = _back(team, gettext("Queue deleted."))
    return redirect(request, url, flash=flash)


@router.post("/settings/desk/teams/{team_id}/macros")
def add_macro(
    request: Request,
    session: SessionDep,
    agent: SupervisorAgent,
    team_id: int,
    name: Annotated[str, Form(max_length=64)] = "",
    template_id: Annotated[str, Form(max_length=20)] = "",
    set_status: Annotated[str, Form(max_length=16)] = "",
    set_priority: Annotated[str, Form(max_length=8)] = "",
    add_tags: Annotated[str, Form(max_length=400)] = "",
    assign_to: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    team = _require_team(session, team_id)
    if template_id.strip() and form_int(template_id) is None:
        raise InvalidInput("Choose a phrasing template from the list.", fields={"template_id": "unknown"})
    macros.create_macro(
        session,
        actor=agent,
        name=name,
        now=utc_now(),
        team_id=team.id,
        template_id=form_int(template_id),
        set_status=set_status or None,
        set_priority=set_priority or None,
        add_tags=add_tags,
        assign_to=assign_to or None,
    )
    url, flash = _back(team, gettext("Macro added."))
    return redirect(request, url, flash=flash)


@router.post("/settings/desk/macros/{macro_id}/delete")
def remove_macro(request: Request, session: SessionDep, agent: SupervisorAgent, macro_id: int) -> Response:
    macro = macros.require_macro(session, macro_id)
    team = _require_team(session, macro.team_id) if macro.team_id is not None else None
    macros.delete_macro(session, macro, actor=agent, now=utc_now())
    if team is None:
        return redirect(request, "/settings/desk", flash=gettext("Macro deleted."))
    url, flash = _back(team, gettext("Macro deleted."))
    return redirect(request, url, flash=flash)
