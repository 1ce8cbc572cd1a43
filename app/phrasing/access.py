"""Who sees and who edits a phrasing template, and the shortcut rules that depend on it.

global: everyone uses, supervisors and admins edit. team: the team uses, the team's supervisor or
an admin edits. personal: only its owner, who edits it. An API key (agent None) with write scope
acts for the shop: it reads and writes global and team templates, never someone's personal ones.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from app.accounts.models import Agent, Role
from app.errors import Forbidden, InvalidInput, NotFound
from app.phrasing.models import PhrasingScope, PhrasingTemplate

SHORTCUT_RE = re.compile(r"^/[a-z0-9]{1,31}$")


def _role(agent: Agent) -> Role:
    return Role(agent.role)


def parse_scope(value: Any, *, field: str = "scope") -> PhrasingScope:
    try:
        return PhrasingScope(str(getattr(value, "value", value) or "").strip())
    except ValueError as exc:
        raise InvalidInput(
            "{scope} is not a template scope (global, team or personal).",
            fields={field: "global | team | personal"},
            scope=value or "(empty)",
        ) from exc


def visible_condition(agent: Agent | None) -> Any:
    """The SQL condition for templates `agent` may see and use (agent None: an API key)."""
    if agent is None:
        return PhrasingTemplate.scope != PhrasingScope.personal
    conditions = [
        PhrasingTemplate.scope == PhrasingScope.global_,
        sa.and_(PhrasingTemplate.scope == PhrasingScope.personal, PhrasingTemplate.owner_id == agent.id),
    ]
    if _role(agent) == Role.admin:
        conditions.append(PhrasingTemplate.scope == PhrasingScope.team)
    elif agent.team_id is not None:
        conditions.append(
            sa.and_(PhrasingTemplate.scope == PhrasingScope.team, PhrasingTemplate.team_id == agent.team_id)
        )
    return sa.or_(*conditions)


def can_see(agent: Agent | None, template: PhrasingTemplate) -> bool:
    scope = PhrasingScope(template.scope)
    if scope == PhrasingScope.global_:
        return True
    if agent is None:
        return scope == PhrasingScope.team
    if scope == PhrasingScope.personal:
        return template.owner_id == agent.id
    return _role(agent) == Role.admin or (agent.team_id is not None and agent.team_id == template.team_id)


def can_write(
    agent: Agent | None, scope: PhrasingScope, *, team_id: int | None, owner_id: int | None
) -> bool:
    """May `agent` create or edit a template with this scope, team and owner?"""
    if agent is None:
        return scope != PhrasingScope.personal
    role = _role(agent)
    if scope == PhrasingScope.global_:
        return role.at_least(Role.supervisor)
    if scope == PhrasingScope.team:
        if role == Role.admin:
            return True
        return role == Role.supervisor and team_id is not None and agent.team_id == team_id
    return owner_id == agent.id


def can_edit(agent: Agent | None, template: PhrasingTemplate) -> bool:
    return can_write(
        agent, PhrasingScope(template.scope), team_id=template.team_id, owner_id=template.owner_id
    )


def allowed_scopes(agent: Agent) -> list[PhrasingScope]:
    """The scopes `agent` may create templates in (the form offers these)."""
    scopes = [PhrasingScope.personal]
    role = _role(agent)
    if role == Role.admin or (role == Role.supervisor and agent.team_id is not None):
        scopes.insert(0, PhrasingScope.team)
    if role.at_least(Role.supervisor):
        scopes.insert(0, PhrasingScope.global_)
    return scopes


def get_template(session: Session, template_id: int) -> PhrasingTemplate | None:
    return session.get(PhrasingTemplate, template_id)


def require_visible(session: Session, template_id: int, agent: Agent | None) -> PhrasingTemplate:
    """The template, if it exists and `agent` may see it; others' personal templates do not exist."""
    template = get_template(session, template_id)
    if template is None or not can_see(agent, template):
        raise NotFound("Phrasing template {id} does not exist.", id=template_id)
    return template


def require_editable(session: Session, template_id: int, agent: Agent | None) -> PhrasingTemplate:
    template = require_visible(session, template_id, agent)
    if not can_edit(agent, template):
        raise Forbidden("You may use this template but not change it; ask a supervisor.")
    return template


# --- shortcuts --------------------------------------------------------------------------------


def normalize_shortcut(value: Any, *, field: str = "shortcut") -> str:
    """ "/YP " → "/yp"; empty stays empty. A slash, then 1–31 letters or digits."""
    text = str(value or "").strip().lower()
    if not text:
        return ""
    if not text.startswith("/"):
        text = "/" + text
    if not SHORTCUT_RE.match(text):
        raise InvalidInput(
            "A shortcut is a slash followed by up to 31 letters or digits, such as /yp.",
            fields={field: "/ + letters or digits"},
        )
    return text


def _seen_by_same_people(scope: PhrasingScope, team_id: int | None, owner_id: int | None) -> Any:
    """Templates that someone who sees a (scope, team, owner) template also sees."""
    if scope == PhrasingScope.global_:
        return sa.true()  # everyone sees a global template, so it must be unique everywhere
    owner_team = None
    if scope == PhrasingScope.personal and owner_id is not None:
        owner_team = select(Agent.team_id).where(Agent.id == owner_id).scalar_subquery()
    team = team_id if scope == PhrasingScope.team else owner_team
    conditions = [PhrasingTemplate.scope == PhrasingScope.global_]
    if team is not None:
        conditions.append(
            sa.and_(PhrasingTemplate.scope == PhrasingScope.team, PhrasingTemplate.team_id == team)
        )
    if scope == PhrasingScope.team:
        members = select(Agent.id).where(Agent.team_id == team_id)
        conditions.append(
            sa.and_(PhrasingTemplate.scope == PhrasingScope.personal, PhrasingTemplate.owner_id.in_(members))
        )
    else:
        conditions.append(
            sa.and_(PhrasingTemplate.scope == PhrasingScope.personal, PhrasingTemplate.owner_id == owner_id)
        )
    return sa.or_(*conditions)


def shortcut_clash(
    session: Session,
    shortcut: str,
    *,
    scope: PhrasingScope,
    team_id: int | None,
    owner_id: int | None,
    exclude_id: int | None = None,
) -> PhrasingTemplate | None:
    """An active template with this shortcut that someone would see beside this one."""
    if not shortcut:
        return None
    query = select(PhrasingTemplate).where(
        PhrasingTemplate.shortcut == shortcut,
        PhrasingTemplate.is_active == sa.true(),
        _seen_by_same_people(scope, team_id, owner_id),
    )
    if exclude_id is not None:
        query = query.where(PhrasingTemplate.id != exclude_id)
    return session.exec(query.limit(1)).first()


def check_shortcut(
    session: Session,
    shortcut: str,
    *,
    scope: PhrasingScope,
    team_id: int | None,
    owner_id: int | None,
    exclude_id: int | None = None,
    field: str = "shortcut",
) -> None:
    clash = shortcut_clash(
        session, shortcut, scope=scope, team_id=team_id, owner_id=owner_id, exclude_id=exclude_id
    )
    if clash is not None:
        raise InvalidInput(
            "The shortcut {shortcut} is already used by “{title}”; choose another.",
            fields={field: "already used"},
            shortcut=shortcut,
            title=clash.title,
        )
