"""Drill-down: the tickets, orders, inquiries, cases, reviews, surveys, revisits or phrasing uses
behind a KPI, for the same period and scope, newest first and paginated by cursor.

The rows follow each KPI's own anchor (the day it counts on) and its credited agent, so a number
and its drill-down agree. Only buyers' nicknames are shown, never phone numbers or addresses.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from app.db import CENTS
from app.errors import InvalidInput
from app.metrics.base import Scope
from app.metrics.dialect import Sql
from app.metrics.drill_specs import SPECS, Column, DrillSpec
from app.metrics.kpis import KPIS
from app.pagination import MAX_LIMIT, decode_cursor, encode_cursor

__all__ = ["SPECS", "Column", "DrillPage", "DrillSpec", "all_rows", "link", "page", "spec_for"]


@dataclass
class DrillPage:
    spec: DrillSpec
    rows: list[dict[str, Any]]
    next_cursor: str | None


def spec_for(kpi: str) -> DrillSpec:
    """The drill-down of a KPI key (or of a drill key itself, e.g. "bad_reviews")."""
    key = KPIS[kpi].drill if kpi in KPIS else kpi
    if key not in SPECS:
        raise InvalidInput(
            "{kpi} has no drill-down.",
            fields={"kpi": ", ".join(k for k in KPIS if KPIS[k].drill)},
            kpi=kpi[:40],
        )
    return SPECS[key]


def _plain(value: Any) -> Any:
    return getattr(value, "value", value)


def page(
    session: Any, *, kpi: str, sql: Sql, scope: Scope, cursor: str | None = None, limit: int = 50
) -> DrillPage:
    spec = spec_for(kpi)
    if limit < 1 or limit > MAX_LIMIT:
        raise InvalidInput(
            "limit must be between 1 and {max}.", fields={"limit": f"1–{MAX_LIMIT}"}, max=MAX_LIMIT
        )
    query = spec.build(sql, scope)
    id_column = spec.id_column()
    if cursor:
        query = query.where(id_column < decode_cursor(cursor))
    money = {c.key for c in spec.columns if c.kind == "money"}
    found = [
        {
            k: (Decimal(v) / 100).quantize(CENTS) if k in money and v is not None else _plain(v)
            for k, v in row.items()
        }
        for row in session.execute(query.order_by(id_column.desc()).limit(limit + 1)).mappings()
    ]
    more = len(found) > limit
    found = found[:limit]
    return DrillPage(spec, found, encode_cursor(found[-1]["id"]) if more and found else None)


def all_rows(
    session: Any, *, kpi: str, sql: Sql, scope: Scope, batch: int = 1000
) -> Iterator[dict[str, Any]]:
    """Every row, newest first, fetched a page at a time (the CSV export)."""
    cursor = None
    while True:
        found = page(session, kpi=kpi, sql=sql, scope=scope, cursor=cursor, limit=min(batch, MAX_LIMIT))
        yield from found.rows
        if found.next_cursor is None:
            return
        cursor = found.next_cursor


def link(spec: DrillSpec, row: dict[str, Any]) -> str:
    if not spec.link:
        return ""
    try:
        value = spec.link.format(**row)
    except (KeyError, IndexError):
        return ""
    return "" if "None" in value else value
