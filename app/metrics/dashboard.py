"""The supervisor dashboard's content for a period and scope: KPI cards, the per-agent table, daily
trends, the weekday × hour heat map of incoming buyer messages, the inquiry funnel and the phrasing
table — all from one collection of KPI components (app.metrics.kpis.collect)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from app.accounts.models import Agent, Team
from app.i18n import N_
from app.integrations.models import Store
from app.metrics import kpis
from app.metrics.base import Scope
from app.metrics.kpis import AREAS, KPIS, Figures, KpiDef, KpiValue
from app.metrics.kpis_sales import FUNNEL_STEPS
from app.metrics.period import Period
from app.phrasing.models import PhrasingTemplate

# The per-agent table's columns, and the KPIs drawn as daily trends.
TABLE_KEYS = (
    "tickets_solved",
    "first_response_avg",
    "avg_response",
    "reply_rate",
    "inquiry_conversion",
    "agent_sales",
    "avg_order_value",
    "csat_avg",
    "refund_rate",
    "revisit_completion",
    "tickets_per_hour",
    "qa_score",
)
TREND_KEYS = (
    "tickets_in",
    "tickets_solved",
    "first_response_avg",
    "reply_rate",
    "inquiry_conversion",
    "agent_sales",
    "csat_avg",
    "good_review_rate",
)
EXTRA_FAMILIES = ("funnel", "inbound_hour", "template_uses", "template_outcomes")
FUNNEL_LABELS: dict[str, str] = {
    "inquired": N_("Inquired"),
    "ordered": N_("Ordered"),
    "paid": N_("Paid"),
    "shipped": N_("Shipped"),
    "delivered": N_("Delivered"),
    "confirmed": N_("Confirmed"),
    "reviewed": N_("Reviewed"),
}
WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))


@dataclass(frozen=True)
class Card:
    kpi: KpiDef
    value: KpiValue


@dataclass(frozen=True)
class AgentRow:
    agent_id: int | None
    name: str
    team: str
    values: dict[str, KpiValue]


@dataclass(frozen=True)
class TemplateRow:
    template_id: int
    title: str
    category: str
    uses: int
    outcomes: int
    rate: KpiValue


@dataclass
class Dashboard:
    period: Period
    scope: Scope
    figures: Figures
    cards: dict[str, list[Card]]  # area → cards
    agents: list[AgentRow]
    trends: dict[str, Any]
    heat: list[list[float]]
    funnel: list[tuple[str, int]]
    templates: list[TemplateRow]

    def values(self) -> dict[str, KpiValue]:
        return {card.kpi.key: card.value for cards in self.cards.values() for card in cards}


def build(
    session: Any, *, period: Period, scope: Scope, keys: list[str] | None = None, now: datetime | None = None
) -> Dashboard:
    keys = kpis.check_keys(keys)
    figures = kpis.collect(session, period=period, scope=scope, keys=keys, extra=EXTRA_FAMILIES, now=now)
    overall = figures.values(keys)
    cards: dict[str, list[Card]] = {area: [] for area in AREAS}
    for key in keys:
        cards[KPIS[key].area].append(Card(KPIS[key], overall[key]))
    return Dashboard(
        period=period,
        scope=scope,
        figures=figures,
        cards={area: found for area, found in cards.items() if found},
        agents=agent_table(session, figures, keys=[k for k in TABLE_KEYS if k in keys]),
        trends=trends(figures, keys=[k for k in TREND_KEYS if k in keys]),
        heat=heat_map(figures),
        funnel=funnel(figures),
        templates=phrasing_rows(session, figures),
    )


def agent_table(session: Any, figures: Figures, *, keys: list[str]) -> list[AgentRow]:
    """One row per agent credited with anything in the period (and, with a team, only its agents)."""
    ids = figures.agents()
    if not ids:
        return []
    a, t = Agent.__table__, Team.__table__
    found = session.execute(
        sa.select(a.c.id, a.c.display_name, t.c.name)
        .select_from(a.outerjoin(t, t.c.id == a.c.team_id))
        .where(a.c.id.in_(ids))
        .order_by(a.c.display_name, a.c.id)
    ).all()
    return [
        AgentRow(agent_id, name, team or "", figures.values(keys, agent=agent_id))
        for agent_id, name, team in found
    ]


def trends(figures: Figures, *, keys: list[str]) -> dict[str, Any]:
    """Daily series: {"dates": [...], "series": {key: [value or None per day]}} (JSON-ready)."""
    days = figures.period.dates()
    series: dict[str, list[float | None]] = {key: [] for key in keys}
    for day in days:
        daily = figures.values(keys, day=day)
        for key in keys:
            value = daily[key].value
            series[key].append(float(value) if value is not None else None)
    return {"dates": [d.isoformat() for d in days], "series": series}


def heat_map(figures: Figures) -> list[list[float]]:
    """Incoming buyer messages, grid[weekday (0 = Monday)][local hour]: the average per day, so a
    month with five Mondays does not make Mondays look busier."""
    grid = [[0] * 24 for _ in range(7)]
    for day, hours in figures.hist_day.get("inbound_hour", {}).items():
        for hour, count in hours.items():
            if 0 <= hour < 24:
                grid[day.weekday()][hour] += count
    occurrences = [0] * 7
    for day in figures.period.dates():
        occurrences[day.weekday()] += 1
    return [[round(n / occurrences[w], 1) if occurrences[w] else 0.0 for n in grid[w]] for w in range(7)]


def funnel(figures: Figures) -> list[tuple[str, int]]:
    """Inquiries opened in the period and how far they went: inquired → … → reviewed."""
    total = figures.total
    return [("inquired", total.get("funnel_inquired", 0))] + [
        (step, total.get(f"funnel_{step}", 0)) for step in FUNNEL_STEPS
    ]


def phrasing_rows(session: Any, figures: Figures) -> list[TemplateRow]:
    uses = figures.hist_total.get("template_uses", {})
    if not uses:
        return []
    outcomes = figures.hist_total.get("template_outcomes", {})
    p = PhrasingTemplate.__table__
    titles = {
        row.id: row
        for row in session.execute(sa.select(p.c.id, p.c.title, p.c.category).where(p.c.id.in_(list(uses))))
    }
    rows = []
    for template_id, n in uses.items():
        found = titles.get(template_id)
        done = outcomes.get(template_id, 0)
        rate = KpiValue((Decimal(done * 100) / n).quantize(Decimal("0.1")), done, n, "percent")
        rows.append(
            TemplateRow(
                template_id,
                found.title if found else f"#{template_id}",
                found.category if found else "",
                n,
                done,
                rate,
            )
        )
    return sorted(rows, key=lambda r: (-r.uses, r.template_id))


def phrasing_table(session: Any, *, period: Period, scope: Scope) -> list[TemplateRow]:
    figures = kpis.collect(
        session, period=period, scope=scope, keys=[], extra=("template_uses", "template_outcomes")
    )
    return phrasing_rows(session, figures)


# --- the filters' choices ------------------------------------------------------------------------


@dataclass(frozen=True)
class Choices:
    stores: list[tuple[int, str]]
    teams: list[tuple[int, str]]
    agents: list[tuple[int, str]]


def choices(session: Any) -> Choices:
    s, t, a = Store.__table__, Team.__table__, Agent.__table__
    return Choices(
        stores=[(r.id, r.name) for r in session.execute(sa.select(s.c.id, s.c.name).order_by(s.c.name))],
        teams=[(r.id, r.name) for r in session.execute(sa.select(t.c.id, t.c.name).order_by(t.c.name))],
        agents=[
            (r.id, r.display_name)
            for r in session.execute(
                sa.select(a.c.id, a.c.display_name)
                .where(a.c.is_active.is_(sa.true()))
                .order_by(a.c.display_name)
            )
        ],
    )
