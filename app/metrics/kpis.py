"""compute(): every KPI (app.metrics.registry.KPIS) for a period and a scope.

Each KPI is a ratio or a total of additive components that the families (kpis_sales, kpis_service,
kpis_feedback) compute in SQL per (local day, store, credited agent); a percentile comes from a
histogram family. A ratio whose denominator is 0 has no value (None, shown "—"), never 0 %.
Components come from the daily rollup where it is fresh and from the live tables otherwise
(app.metrics.rollups.collect): the figures are the same either way.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from app.metrics.base import NO_BUCKET, Row, Scope
from app.metrics.period import Period
from app.metrics.registry import AREAS, KPIS, UNITS, KpiDef, KpiValue

# Re-exported: callers (dashboards, targets, the API) import the registry from here.
__all__ = ["AREAS", "KPIS", "UNITS", "Figures", "KpiDef", "KpiValue", "Scope", "collect", "compute"]

# Histograms kept per day too (the heat map's weekday × hour).
DAILY_HISTOGRAMS = frozenset({"inbound_hour"})


def families() -> tuple[Any, ...]:
    from app.metrics import kpis_feedback, kpis_sales, kpis_service

    return kpis_sales.FAMILIES + kpis_service.FAMILIES + kpis_feedback.FAMILIES


@functools.cache
def _family_map() -> dict[str, Any]:
    """Component → the family computing it, built whole on first use. (A dict filled in place was
    seen half-filled by a request in another thread: KeyError, a 500 on /reports/me/targets.)"""
    return {name: fam for fam in families() for name in fam.components}


def family_of(component: str) -> Any:
    return _family_map()[component]


def families_for(keys: Iterable[str]) -> list[Any]:
    """The families computing these KPIs (each once, in a stable order)."""
    needed: dict[str, Any] = {}
    for key in keys:
        kpi = KPIS[key]
        for component in (kpi.num, kpi.den):
            if component:
                fam = family_of(component)
                needed[fam.name] = fam
    return list(needed.values())


def check_keys(keys: Iterable[str] | None) -> list[str]:
    from app.errors import InvalidInput

    if keys is None:
        return list(KPIS)
    keys = list(keys)
    unknown = [k for k in keys if k not in KPIS]
    if unknown:
        raise InvalidInput(
            "Unknown KPI: {keys}.", fields={"kpi": ", ".join(sorted(KPIS))}, keys=", ".join(unknown)[:200]
        )
    return keys


# --- from components to values ----------------------------------------------------------------
PERCENT_PLACES = Decimal("0.1")
SECONDS_PLACES = Decimal("0.1")
MONEY_PLACES = Decimal("0.01")
SCORE_PLACES = Decimal("0.01")


def _quantize(value: Decimal, unit: str) -> Decimal:
    places = {
        "percent": PERCENT_PLACES,
        "seconds": SECONDS_PLACES,
        "money": MONEY_PLACES,
        "score": SCORE_PLACES,
        "ratio": SCORE_PLACES,
        "count": Decimal("1"),
    }[unit]
    return value.quantize(places, rounding=ROUND_HALF_UP)


def _scale(component: str | None, amount: int) -> Decimal | int:
    """Money components are stored in cents."""
    if component and component.endswith("_cents"):
        return (Decimal(amount) / 100).quantize(MONEY_PLACES)
    return amount


def p90(histogram: dict[int, int]) -> tuple[int, int] | None:
    """(nearest-rank 90th percentile, n) of a {value: count} histogram; None when empty."""
    n = sum(histogram.values())
    if n == 0:
        return None
    rank = (9 * n + 9) // 10  # ⌈0.9·n⌉ in integers
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value, n
    raise AssertionError("unreachable: the ranks add up to n")


def value_of(kpi: KpiDef, sums: dict[str, int], histogram: dict[int, int] | None = None) -> KpiValue:
    if kpi.kind == "p90":
        found = p90(histogram or {})
        if found is None:
            return KpiValue(None, None, 0, kpi.unit)
        return KpiValue(Decimal(found[0]).quantize(SECONDS_PLACES), found[0], found[1], kpi.unit)
    numerator = _scale(kpi.num, sums.get(kpi.num or "", 0))
    if kpi.kind == "total":
        return KpiValue(_quantize(Decimal(numerator), kpi.unit), numerator, None, kpi.unit)
    denominator = _scale(kpi.den, sums.get(kpi.den or "", 0))
    if not denominator:
        return KpiValue(None, numerator, 0, kpi.unit)
    ratio = Decimal(numerator) / Decimal(denominator)
    if kpi.unit == "percent":
        ratio *= 100
    return KpiValue(_quantize(ratio, kpi.unit), numerator, denominator, kpi.unit)


@dataclass
class Figures:
    """A period's components summed three ways (overall, per agent, per day), with histograms.

    Filled from family rows of the live tables (`add`) and from rollup rows (`add_cell`,
    `add_day`); either way the sums are the same.
    """

    period: Period
    scope: Scope
    rows: list[Row] = field(default_factory=list)
    qa: dict[int, Decimal] = field(default_factory=dict)
    as_of: datetime | None = None  # the figures are as of this time (the rollup's last refresh)
    behind: bool = False  # … which is more than rollups.LAG ago: the background worker is behind

    def __post_init__(self) -> None:
        self.total: dict[str, int] = defaultdict(int)
        self.by_agent: dict[int | None, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.by_day: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        # component → bucket → count, overall / per agent / per day (per day only where a chart
        # needs it: the heat map's hours; a p90 per day would be of little use and costs time)
        self.hist_total: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        self.hist_agent: dict[str, dict[int | None, dict[int, int]]] = defaultdict(
            lambda: defaultdict(lambda: defaultdict(int))
        )
        self.hist_day: dict[str, dict[date, dict[int, int]]] = defaultdict(
            lambda: defaultdict(lambda: defaultdict(int))
        )
        for row in self.rows:
            self.add(row)

    def add(self, row: Row) -> None:
        if row.bucket == NO_BUCKET:
            self.total[row.component] += row.value
            self.by_agent[row.agent_id][row.component] += row.value
            self.by_day[row.day][row.component] += row.value
        else:
            self.hist_total[row.component][row.bucket] += row.value
            self.hist_agent[row.component][row.agent_id][row.bucket] += row.value
            if row.component in DAILY_HISTOGRAMS:
                self.hist_day[row.component][row.day][row.bucket] += row.value

    def add_day(self, day: date, sums: dict[str, int], hists: dict[str, dict[Any, int]]) -> None:
        """A whole day's totals (rollup): overall and per day, not per agent."""
        for component, value in sums.items():
            self.total[component] += value
            self.by_day[day][component] += value
        for component, buckets in hists.items():
            total = self.hist_total[component]
            daily = self.hist_day[component][day] if component in DAILY_HISTOGRAMS else None
            for bucket, count in buckets.items():
                b = int(bucket)
                total[b] += count
                if daily is not None:
                    daily[b] += count

    def add_cell(
        self,
        day: date,
        agent: int | None,
        sums: dict[str, int],
        hists: dict[str, dict[Any, int]] | None,
        *,
        totals: bool,
    ) -> None:
        """One (day, store, agent) cell of the rollup; `totals=False` when whole-day rows give those."""
        per_agent = self.by_agent[agent]
        for component, value in sums.items():
            per_agent[component] += value
            if totals:
                self.total[component] += value
                self.by_day[day][component] += value
        for component, buckets in (hists or {}).items():
            for bucket, count in buckets.items():
                b = int(bucket)
                self.hist_agent[component][agent][b] += count
                if totals:
                    self.hist_total[component][b] += count
                    if component in DAILY_HISTOGRAMS:
                        self.hist_day[component][day][b] += count

    def agents(self) -> list[int]:
        found = {a for a in self.by_agent if a is not None}
        for per_agent in self.hist_agent.values():
            found |= {a for a in per_agent if a is not None}
        return sorted(found | set(self.qa))

    def values(
        self, keys: Iterable[str], *, agent: Any = ..., day: date | None = None
    ) -> dict[str, KpiValue]:
        """The KPIs overall (default), for one agent (`agent=id`; None: credited to nobody) or a day
        (percentiles are not kept per day: None)."""
        if day is not None:
            sums, hist = self.by_day.get(day, {}), {c: h.get(day, {}) for c, h in self.hist_day.items()}
        elif agent is not ...:
            sums, hist = (
                self.by_agent.get(agent, {}),
                {c: h.get(agent, {}) for c, h in self.hist_agent.items()},
            )
        else:
            sums, hist = self.total, self.hist_total
        out: dict[str, KpiValue] = {}
        for key in keys:
            kpi = KPIS[key]
            if kpi.kind == "external":
                out[key] = self._qa_value(agent) if day is None else KpiValue(None, None, 0, kpi.unit)
            elif kpi.kind == "p90":
                out[key] = value_of(kpi, sums, hist.get(kpi.num or "", {}))
            else:
                out[key] = value_of(kpi, sums)
        return out

    def _qa_value(self, agent: Any) -> KpiValue:
        if agent is not ...:
            score = self.qa.get(agent)
            return KpiValue(score, score, 1 if score is not None else 0, "score")
        scores = list(self.qa.values())
        if not scores:
            return KpiValue(None, None, 0, "score")
        total = sum(scores, Decimal(0))
        return KpiValue(_quantize(total / len(scores), "score"), total, len(scores), "score")


def qa_scores(session: Any, *, period: Period, scope: Scope) -> dict[int, Decimal]:
    """Quality-inspection scores per agent in scope, from the quality module (app.metrics.quality)."""
    from app.metrics import quality  # the QA side of issue 6 owns the scoring

    agent_ids = None
    if scope.agent_id is not None:
        agent_ids = [scope.agent_id]
    elif scope.team_id is not None:
        agent_ids = team_agent_ids(session, scope.team_id)
    return dict(quality.qa_scores(session, period=period, agent_ids=agent_ids))


def team_agent_ids(session: Any, team_id: int) -> list[int]:
    import sqlalchemy as sa

    from app.accounts.models import Agent

    t = Agent.__table__
    return [r[0] for r in session.execute(sa.select(t.c.id).where(t.c.team_id == team_id))]


def family_named(name: str) -> Any:
    return next(f for f in families() if f.name == name)


def collect(
    session: Any,
    *,
    period: Period,
    scope: Scope,
    keys: Iterable[str],
    extra: Iterable[str] = (),
    agent_hists: bool = False,
    now: datetime | None = None,
) -> Figures:
    """The components behind `keys` (and the `extra` families: funnel, heat map …) for a period.
    `agent_hists`: also per-agent histograms (a p90 per agent) when the scope is the whole desk.
    `now` (a page's clock): the figures come from the rollup as of its last refresh instead of
    changed days being computed live; Figures.as_of says when (and .behind if it is long ago)."""
    from app.metrics import rollups

    keys = list(keys)
    wanted = families_for(keys)
    wanted += [family_named(name) for name in extra if name not in {f.name for f in wanted}]
    figures = rollups.collect(
        session, period=period, scope=scope, families=wanted, agent_hists=agent_hists, now=now
    )
    if "qa_score" in keys:
        figures.qa = qa_scores(session, period=period, scope=scope)
    return figures


def compute(
    session: Any,
    *,
    period: Period,
    store_id: int | None = None,
    team_id: int | None = None,
    agent_id: int | None = None,
    keys: Iterable[str] | None = None,
    now: datetime | None = None,
) -> dict[str, KpiValue]:
    """Every KPI (or `keys`) for a period and scope; a value is None when its denominator is 0.
    Exact as of the moment unless `now` is given (see collect)."""
    keys = check_keys(keys)
    scope = Scope(store_id=store_id, team_id=team_id, agent_id=agent_id)
    return collect(session, period=period, scope=scope, keys=keys, now=now).values(keys)
