"""Rendering phrasing templates for a ticket (the desk) or with a follow-up's variables.

The sandbox itself is app.phrasing.sandbox; its names used by other domains are re-exported here
(find_missing is what the tickets domain checks before sending).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from app.accounts.models import Agent
from app.errors import InvalidInput
from app.integrations.models import Store
from app.phrasing import access
from app.phrasing.categories import render_default, require_category
from app.phrasing.models import PhrasingScope, PhrasingTemplate, PhrasingVariant
from app.phrasing.sandbox import (
    MAX_OUTPUT_CHARS,
    MAX_SOURCE_CHARS,
    TemplateProblem,
    compile_source,
    find_missing,
    marker,
    parse_source,
    render_source,
    split_missing,
)
from app.phrasing.variables import normalize_locale, ticket_context
from app.tickets.models import Ticket

__all__ = [
    "MAX_OUTPUT_CHARS",
    "MAX_SOURCE_CHARS",
    "Rendered",
    "TemplateProblem",
    "compile_source",
    "find_missing",
    "marker",
    "parse_source",
    "render_for_category",
    "render_source",
    "render_template",
    "split_missing",
    "ticket_context",
]


@dataclass
class Rendered:
    text: str
    missing: list[str]
    template_id: int
    locale: str
    category: str
    locales: list[str] = field(default_factory=list)


def variants_of(session: Session, template_id: int) -> dict[str, str]:
    rows = session.exec(select(PhrasingVariant).where(PhrasingVariant.template_id == template_id))
    return {row.locale: row.body for row in rows}


def pick_locale(variants: dict[str, str], locale: str | None) -> str:
    """The requested locale when the template has it, else zh_CN, else its first."""
    wanted = normalize_locale(locale)
    for candidate in (wanted, "zh_TW" if wanted == "zh_CN" else "zh_CN", "zh_CN", "en"):
        if candidate in variants:
            return candidate
    return next(iter(variants))


def render_template(
    session: Session,
    template_id: int,
    *,
    ticket: Ticket,
    agent: Agent | None,
    locale: str | None,
    now: datetime | None = None,
) -> Rendered:
    """The template rendered with the ticket's context, in `locale` (or the nearest variant)."""
    template = access.require_visible(session, template_id, agent)
    if not template.is_active:
        raise InvalidInput("The template “{title}” is switched off.", title=template.title)
    variants = variants_of(session, template.id)
    if not variants:
        raise InvalidInput("The template “{title}” has no text.", title=template.title)
    chosen = pick_locale(variants, locale)
    context = ticket_context(session, ticket, agent=agent, locale=chosen, now=now)
    text, missing = render_source(variants[chosen], context)
    return Rendered(
        text=text,
        missing=missing,
        template_id=template.id,
        locale=chosen,
        category=template.category,
        locales=sorted(variants, key=["zh_CN", "zh_TW", "en"].index),
    )


def render_for_category(
    session: Session,
    key: str,
    variables: dict[str, Any],
    *,
    locale: str = "zh_CN",
    store_id: int | None = None,
) -> str:
    """What a follow-up sends: the first active global template of the category, rendered with
    `variables`; the category's default text when there is none, or when it would leave a gap."""
    require_category(key)
    values = {k: v for k, v in variables.items() if v not in (None, "")}
    if "buyer_nickname" not in values and values.get("customer_name"):
        values["buyer_nickname"] = values["customer_name"]
    if "store_name" not in values and store_id is not None:
        store = session.get(Store, store_id)
        if store is not None:
            values["store_name"] = store.name
    template_id = session.exec(
        select(PhrasingTemplate.id)
        .where(
            PhrasingTemplate.category == key,
            PhrasingTemplate.scope == PhrasingScope.global_,
            PhrasingTemplate.is_active == True,  # noqa: E712 - SQL comparison
        )
        .order_by(PhrasingTemplate.id)
        .limit(1)
    ).first()
    if template_id is not None:
        variants = variants_of(session, template_id)
        if variants:
            try:
                text, missing = render_source(variants[pick_locale(variants, locale)], values)
            except InvalidInput:
                text, missing = "", ["?"]
            if text and not missing:
                return text
    return render_default(key, values)
