"""Macros: a phrasing template plus ticket changes (status, priority, tags, assignee) in one click.

Applying one validates everything first (the text, the assignee), then replies, then changes the
ticket: a macro is applied whole or not at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from app.accounts.models import Agent, Role
from app.errors import Forbidden, InvalidInput, NotFound
from app.tickets import actions, sla
from app.tickets.models import Macro, Ticket, TicketPriority, TicketStatus

MACRO_STATUSES = ("open", "pending", "solved")


def list_macros(session: Session, *, agent: Agent) -> list[Macro]:
    """Active macros for the agent: their team's and everyone's."""
    query = select(Macro).where(Macro.is_active.is_(True))
    if agent.team_id is not None:
        query = query.where(sa.or_(Macro.team_id == agent.team_id, Macro.team_id.is_(None)))
    else:
        query = query.where(Macro.team_id.is_(None))
    return list(session.exec(query.order_by(Macro.name, Macro.id)))


def require_macro(session: Session, macro_id: int) -> Macro:
    macro = session.get(Macro, macro_id)
    if macro is None:
        raise NotFound("Macro {id} does not exist.", id=macro_id)
    return macro


def _usable(session: Session, macro_id: int, agent: Agent) -> Macro:
    macro = session.get(Macro, macro_id)
    if macro is None or not macro.is_active or macro.team_id not in (None, agent.team_id):
        raise InvalidInput("Choose one of your macros.", fields={"macro_id": "unknown"})
    return macro


def _assignee(session: Session, macro: Macro, agent: Agent) -> tuple[bool, int | None]:
    """(changes the assignee?, to whom)."""
    target = macro.assign_to
    if not target:
        return False, None
    if target == "me":
        return True, agent.id
    if target == "none":
        return True, None
    other = session.get(Agent, int(target))
    if other is None or not other.is_active:
        raise InvalidInput(
            "This macro assigns to an agent who is no longer active; ask a supervisor to fix it.",
            fields={"assign_to": "inactive agent"},
        )
    return True, other.id


def apply_macro(
    session: Session,
    ticket: Ticket,
    *,
    macro_id: int,
    agent: Agent,
    now: datetime,
    body: str | None = None,
    channel: str = "manual",
) -> Ticket:
    """Reply with the macro's template (`body`: the text as the agent edited it; else the template
    rendered for this ticket), then apply its tags, priority, assignee and status."""
    macro = _usable(session, macro_id, agent)
    changes_assignee, assignee_id = _assignee(session, macro, agent)
    text = body
    locale = agent.locale
    if macro.template_id is not None and not (text or "").strip():
        from app.phrasing.render import render_template

        rendered = render_template(
            session, macro.template_id, ticket=ticket, agent=agent, locale=agent.locale
        )
        text, locale = rendered.text, rendered.locale
    if (text or "").strip():
        actions.reply(
            session,
            ticket,
            agent=agent,
            body=text,
            now=now,
            channel=channel,
            template_id=macro.template_id,
            locale=locale,
        )
    if macro.add_tags:
        tags = list(ticket.tags or []) + [t for t in macro.add_tags if t not in (ticket.tags or [])]
        actions.set_tags(session, ticket, tags=tags, actor=agent, now=now)
    if macro.set_priority:
        actions.set_priority(session, ticket, priority=macro.set_priority, actor=agent, now=now)
    if changes_assignee:
        actions.assign(session, ticket, assignee_id=assignee_id, actor=agent, now=now)
    if macro.set_status == TicketStatus.solved:
        actions.solve(session, ticket, agent=agent, now=now)
    elif macro.set_status in (TicketStatus.open, TicketStatus.pending):
        if ticket.status in (TicketStatus.solved, TicketStatus.closed):
            actions.reopen(session, ticket, agent=agent, now=now)
        ticket.status = TicketStatus(macro.set_status)
        ticket.snoozed_until = None
        sla.sync(session, ticket, now=now)  # pending may pause the SLA clocks, open resumes them
        ticket.updated_at = now
        session.add(ticket)
        session.flush()
    return ticket


# --- supervisors manage macros ---------------------------------------------------------------------


def _may_manage(actor: Agent, team_id: int | None) -> None:
    role = Role(actor.role)
    if role == Role.admin:
        return
    if role == Role.supervisor and team_id is not None and team_id == actor.team_id:
        return
    raise Forbidden("Only a supervisor of this team (or an admin) can change its macros.")


def _clean(session: Session, values: dict[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    if "name" in values:
        name = (values["name"] or "").strip()
        if not name or len(name) > 64:
            raise InvalidInput(
                "A macro needs a name of at most 64 characters.", fields={"name": "1–64 characters"}
            )
        cleaned["name"] = name
    if "template_id" in values:
        template_id = values["template_id"] or None
        if template_id is not None:
            from app.phrasing.models import PhrasingTemplate

            if session.get(PhrasingTemplate, int(template_id)) is None:
                raise InvalidInput(
                    "That phrasing template does not exist.", fields={"template_id": "unknown"}
                )
            template_id = int(template_id)
        cleaned["template_id"] = template_id
    if "set_status" in values:
        status = values["set_status"] or None
        if status is not None and status not in MACRO_STATUSES:
            raise InvalidInput(
                "A macro can leave a ticket open, pending or solved.",
                fields={"set_status": " | ".join(MACRO_STATUSES)},
            )
        cleaned["set_status"] = status
    if "set_priority" in values:
        priority = values["set_priority"] or None
        cleaned["set_priority"] = actions.parse_priority(priority).value if priority else None
    if "add_tags" in values:
        cleaned["add_tags"] = actions.clean_tags(values["add_tags"])
    if "assign_to" in values:
        target = (str(values["assign_to"]).strip() if values["assign_to"] is not None else "") or None
        if target is not None and target not in ("me", "none"):
            other = session.get(Agent, int(target)) if target.isdigit() else None
            if other is None or not other.is_active:
                raise InvalidInput(
                    "Assign to me, back to the queue, or an active agent.",
                    fields={"assign_to": "me | none | agent id"},
                )
        cleaned["assign_to"] = target
    if "is_active" in values:
        cleaned["is_active"] = bool(values["is_active"])
    return cleaned


def create_macro(
    session: Session,
    *,
    actor: Agent,
    name: str,
    now: datetime,
    team_id: int | None = None,
    template_id: int | None = None,
    set_status: str | None = None,
    set_priority: TicketPriority | str | None = None,
    add_tags: list[str] | str | None = None,
    assign_to: str | None = None,
) -> Macro:
    _may_manage(actor, team_id)
    values = _clean(
        session,
        {
            "name": name,
            "template_id": template_id,
            "set_status": set_status,
            "set_priority": set_priority,
            "add_tags": add_tags,
            "assign_to": assign_to,
        },
    )
    if not any(values[k] for k in ("template_id", "set_status", "set_priority", "add_tags", "assign_to")):
        raise InvalidInput(
            "A macro needs a template or at least one change to the ticket.",
            fields={"template_id": "required"},
        )
    macro = Macro(team_id=team_id, created_at=now, **values)
    session.add(macro)
    session.flush()
    return macro


def update_macro(session: Session, macro: Macro, *, actor: Agent, now: datetime, **changes: Any) -> Macro:
    """Change only the fields given (name, template_id, set_status, set_priority, add_tags,
    assign_to, is_active)."""
    _may_manage(actor, macro.team_id)
    unknown = sorted(
        set(changes)
        - {"name", "template_id", "set_status", "set_priority", "add_tags", "assign_to", "is_active"}
    )
    if unknown:
        raise InvalidInput(
            "Unknown macro fields: {names}.", fields={"macro": "unknown"}, names=", ".join(unknown)
        )
    for column, value in _clean(session, changes).items():
        setattr(macro, column, value)
    session.add(macro)
    session.flush()
    return macro


def delete_macro(session: Session, macro: Macro, *, actor: Agent, now: datetime) -> None:
    _may_manage(actor, macro.team_id)
    session.delete(macro)
    session.flush()
