"""What every KPI query shares: the scope filter and the shape of a family's rows.

A *family* is one SQL query over one source (inquiries, orders, ticket messages …) for a period.
It returns additive integer components per (local day, store, credited agent) — and, for
histograms, per bucket — so totals, per-agent rows and daily trends are sums of its rows, and a
day's rows can be stored as a rollup and summed later with the same result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa

from app.accounts.models import Agent
from app.metrics.dialect import Sql, as_date

NO_BUCKET = -1
agents_t = Agent.__table__


@dataclass(frozen=True)
class Scope:
    """Whose figures: a store, a team (its agents), an agent; None = all."""

    store_id: int | None = None
    team_id: int | None = None
    agent_id: int | None = None

    def where(self, *, store: Any, agent: Any) -> list[Any]:
        """Conditions on a query's store column and credited-agent column."""
        conditions = []
        if self.store_id is not None and store is not None:
            conditions.append(store == self.store_id)
        if self.agent_id is not None:
            conditions.append(agent == self.agent_id)
        if self.team_id is not None:
            conditions.append(agent.in_(sa.select(agents_t.c.id).where(agents_t.c.team_id == self.team_id)))
        return conditions


@dataclass(frozen=True)
class Family:
    """One query. `components` are its additive columns; a histogram family has one component and
    a bucket column `b` (whole seconds, an hour of the day, a template id)."""

    name: str
    components: tuple[str, ...]
    build: Callable[[Sql, Scope], Any]  # -> a select of d, s, a, [b], *components
    histogram: bool = False


@dataclass(frozen=True)
class Row:
    day: date
    store_id: int | None
    agent_id: int | None
    component: str
    bucket: int
    value: int


def run(session: Any, family: Family, sql: Sql, scope: Scope) -> list[Row]:
    """Execute a family for a period: its rows, one per component (zeros left out)."""
    rows: list[Row] = []
    for record in session.execute(family.build(sql, scope)).mappings():
        day = as_date(record["d"])
        store, agent = record["s"], record["a"]
        if family.histogram:
            value = int(record[family.components[0]] or 0)
            if value:
                rows.append(Row(day, store, agent, family.components[0], int(record["b"]), value))
            continue
        for component in family.components:
            value = int(record[component] or 0)
            if value:
                rows.append(Row(day, store, agent, component, NO_BUCKET, value))
    return rows


def cents(column: Any) -> Any:
    """A money column as its stored integer cents (sums stay exact integers)."""
    return sa.type_coerce(column, sa.BigInteger)


def count_if(condition: Any) -> Any:
    return sa.func.sum(sa.case((condition, 1), else_=0))


def sum_if(condition: Any, value: Any) -> Any:
    return sa.func.sum(sa.case((condition, value), else_=0))
