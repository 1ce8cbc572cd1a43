"""The phrasing library (话术库): creating, changing, switching off and listing templates with
their locale variants; every write checked (scope rights, shortcut clashes, the linter) before
anything is written. Suggestions for a ticket live in suggest.py and are re-exported here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from app.accounts.models import Agent, Team
from app.errors import Forbidden, InvalidInput
from app.i18n import N_
from app.pagination import Rows, paginate
from app.phrasing import access, lint
from app.phrasing.access import (
    can_edit,
    get_template,
    normalize_shortcut,
    parse_scope,
    require_editable,
    require_visible,
)
from app.phrasing.categories import require_category
from app.phrasing.models import PhrasingScope, PhrasingTemplate, PhrasingUsage, PhrasingVariant
from app.phrasing.queries import text_match, variants_for
from app.phrasing.suggest import KIND_CATEGORIES, STAGE_CATEGORIES, Suggestion, suggest
from app.phrasing.variables import LOCALES
from app.tickets.models import Macro, TicketMessage

__all__ = [
    "KIND_CATEGORIES",
    "STAGE_CATEGORIES",
    "TITLE_CHARS",
    "LintFailed",
    "Suggestion",
    "TemplateFilters",
    "TemplateInput",
    "can_edit",
    "create_template",
    "delete_template",
    "get_template",
    "list_templates",
    "require_editable",
    "require_visible",
    "set_active",
    "suggest",
    "update_template",
    "variants_for",
]

TITLE_CHARS = 100


class LintFailed(InvalidInput):
    """Saving refused by the linter; `issues` holds every problem (warnings too) for the form."""

    def __init__(self, issues: list[lint.LintIssue]) -> None:
        fields: dict[str, str] = {}
        for issue in lint.errors(issues):
            name = f"variants.{issue.locale}" if issue.locale else issue.code
            fields.setdefault(name, issue.english())
        super().__init__(N_("Fix the problems marked in the template before saving it."), fields=fields)
        self.issues = issues


@dataclass
class TemplateInput:
    title: str
    category: str
    variants: dict[str, str]
    scope: PhrasingScope | str = PhrasingScope.personal
    team_id: int | None = None
    shortcut: str = ""
    is_active: bool = True


def _clean_variants(variants: dict[str, Any]) -> dict[str, str]:
    cleaned: dict[str, str] = {}
    for locale, body in (variants or {}).items():
        text = str(body or "").replace("\r\n", "\n").strip()
        if not text:
            continue
        if locale not in LOCALES:
            raise InvalidInput(
                "{locale} is not a language templates are written in.",
                fields={f"variants.{locale}": ", ".join(LOCALES)},
                locale=locale,
            )
        cleaned[locale] = text
    return cleaned


def _resolve_team(session: Session, scope: PhrasingScope, team_id: Any, agent: Agent | None) -> int | None:
    if scope != PhrasingScope.team:
        return None
    if team_id in (None, "") and agent is not None:
        team_id = agent.team_id
    try:
        team = session.get(Team, int(team_id)) if team_id not in (None, "") else None
    except (TypeError, ValueError, OverflowError):
        team = None
    if team is None:
        raise InvalidInput("Choose the team this template is for.", fields={"team_id": "unknown team"})
    return team.id


def _checked(
    session: Session, data: TemplateInput, *, agent: Agent | None, template: PhrasingTemplate | None
) -> tuple[PhrasingScope, int | None, int | None, str, dict[str, str]]:
    """Everything validated before anything is written: (scope, team_id, owner_id, shortcut, variants)."""
    scope = parse_scope(data.scope)
    team_id = _resolve_team(session, scope, data.team_id, agent)
    if scope == PhrasingScope.personal:
        if template is not None and PhrasingScope(template.scope) == PhrasingScope.personal:
            owner_id = template.owner_id
        elif agent is not None:
            owner_id = agent.id
        else:
            raise InvalidInput(
                "A personal template belongs to an agent; create it in the desk.",
                fields={"scope": "global | team"},
            )
    else:
        owner_id = None
    if not access.can_write(agent, scope, team_id=team_id, owner_id=owner_id):
        raise Forbidden("You may not write {scope} templates here.", scope=scope.value)
    shortcut = normalize_shortcut(data.shortcut)
    variants = _clean_variants(data.variants)
    issues = lint.lint(data.title, data.category, variants)
    if lint.errors(issues):
        raise LintFailed(issues)
    require_category(data.category)
    if data.is_active:
        access.check_shortcut(
            session,
            shortcut,
            scope=scope,
            team_id=team_id,
            owner_id=owner_id,
            exclude_id=template.id if template is not None else None,
        )
    return scope, team_id, owner_id, shortcut, variants


def _write_variants(session: Session, template_id: int, variants: dict[str, str]) -> None:
    existing = {
        row.locale: row
        for row in session.exec(select(PhrasingVariant).where(PhrasingVariant.template_id == template_id))
    }
    for locale, row in existing.items():
        if locale not in variants:
            session.delete(row)
    for locale, body in variants.items():
        row = existing.get(locale) or PhrasingVariant(template_id=template_id, locale=locale, body=body)
        row.body = body
        session.add(row)
    session.flush()


def create_template(
    session: Session, *, data: TemplateInput, agent: Agent | None, now: datetime, is_starter: bool = False
) -> PhrasingTemplate:
    scope, team_id, owner_id, shortcut, variants = _checked(session, data, agent=agent, template=None)
    template = PhrasingTemplate(
        title=data.title.strip(),
        category=data.category.strip(),
        scope=scope,
        team_id=team_id,
        owner_id=owner_id,
        shortcut=shortcut,
        is_active=bool(data.is_active),
        is_starter=is_starter,
        created_by_id=agent.id if agent is not None else None,
        created_at=now,
        updated_at=now,
    )
    session.add(template)
    session.flush()
    _write_variants(session, template.id, variants)
    return template


def current_input(session: Session, template: PhrasingTemplate) -> TemplateInput:
    return TemplateInput(
        title=template.title,
        category=template.category,
        variants=variants_for(session, [template.id]).get(template.id, {}),
        scope=PhrasingScope(template.scope),
        team_id=template.team_id,
        shortcut=template.shortcut,
        is_active=template.is_active,
    )


def update_template(
    session: Session,
    template: PhrasingTemplate,
    *,
    changes: dict[str, Any],
    agent: Agent | None,
    now: datetime,
) -> PhrasingTemplate:
    """Change the fields in `changes` (keys of TemplateInput); `variants` replaces all texts."""
    if not can_edit(agent, template):
        raise Forbidden("You may use this template but not change it; ask a supervisor.")
    data = current_input(session, template)
    for key, value in changes.items():
        if not hasattr(data, key):
            raise InvalidInput("{field} cannot be changed.", fields={key: "unknown field"}, field=key)
        setattr(data, key, value)
    scope, team_id, owner_id, shortcut, variants = _checked(session, data, agent=agent, template=template)
    template.title = data.title.strip()
    template.category = data.category.strip()
    template.scope, template.team_id, template.owner_id = scope, team_id, owner_id
    template.shortcut = shortcut
    template.is_active = bool(data.is_active)
    template.updated_at = now
    session.add(template)
    session.flush()
    _write_variants(session, template.id, variants)
    return template


def set_active(
    session: Session, template: PhrasingTemplate, *, active: bool, agent: Agent | None, now: datetime
) -> PhrasingTemplate:
    if not can_edit(agent, template):
        raise Forbidden("You may use this template but not change it; ask a supervisor.")
    if active and not template.is_active:
        access.check_shortcut(
            session,
            template.shortcut,
            scope=PhrasingScope(template.scope),
            team_id=template.team_id,
            owner_id=template.owner_id,
            exclude_id=template.id,
        )
    template.is_active = active
    template.updated_at = now
    session.add(template)
    session.flush()
    return template


def is_used(session: Session, template_id: int) -> bool:
    for model in (PhrasingUsage, TicketMessage, Macro):
        query = select(model.id).where(model.template_id == template_id).limit(1)
        if session.exec(query).first() is not None:
            return True
    return False


def delete_template(
    session: Session, template: PhrasingTemplate, *, agent: Agent | None, now: datetime
) -> str:
    """Delete an unused template; one that was used is switched off instead (its history stays).
    Returns "deleted" or "deactivated"."""
    if not can_edit(agent, template):
        raise Forbidden("You may use this template but not change it; ask a supervisor.")
    if is_used(session, template.id):
        set_active(session, template, active=False, agent=agent, now=now)
        return "deactivated"
    session.delete(template)
    session.flush()
    return "deleted"


# --- reading -----------------------------------------------------------------------------------


@dataclass
class TemplateFilters:
    category: str = ""
    scope: str = ""
    q: str = ""
    active: bool | None = True


def templates_query(agent: Agent | None, filters: TemplateFilters) -> Any:
    query = select(PhrasingTemplate).where(access.visible_condition(agent))
    if filters.category:
        query = query.where(PhrasingTemplate.category == require_category(filters.category).key)
    if filters.scope:
        query = query.where(PhrasingTemplate.scope == parse_scope(filters.scope))
    if filters.active is not None:
        query = query.where(PhrasingTemplate.is_active == filters.active)
    q = (filters.q or "").strip()[:100]
    if q:
        query = query.where(text_match(q))
    return query


def list_templates(
    session: Session, *, agent: Agent | None, filters: TemplateFilters, cursor: str | None, limit: int
) -> Rows[PhrasingTemplate]:
    return paginate(session, templates_query(agent, filters), PhrasingTemplate.id, cursor=cursor, limit=limit)
