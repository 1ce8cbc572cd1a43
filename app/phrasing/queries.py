"""Reading helpers shared by the library's use cases: texts per template, text search."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from app.phrasing.models import PhrasingTemplate, PhrasingVariant
from app.phrasing.variables import LOCALES


def variants_for(session: Session, template_ids: Iterable[int]) -> dict[int, dict[str, str]]:
    ids = list(template_ids)
    result: dict[int, dict[str, str]] = {tid: {} for tid in ids}
    if not ids:
        return result
    query = select(PhrasingVariant).where(PhrasingVariant.template_id.in_(ids))
    for row in session.exec(query):
        result[row.template_id][row.locale] = row.body
    order = {locale: index for index, locale in enumerate(LOCALES)}
    return {tid: dict(sorted(v.items(), key=lambda kv: order.get(kv[0], 9))) for tid, v in result.items()}


def like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def text_match(q: str) -> Any:
    like = like_pattern(q)
    bodies = select(PhrasingVariant.template_id).where(PhrasingVariant.body.ilike(like, escape="\\"))
    return sa.or_(
        PhrasingTemplate.title.ilike(like, escape="\\"),
        PhrasingTemplate.shortcut.ilike(like, escape="\\"),
        PhrasingTemplate.id.in_(bodies),
    )
