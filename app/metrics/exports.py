"""CSV exports of every dashboard table, Excel-friendly (UTF-8 with a byte-order mark, CRLF).

Values are plain: percentages and seconds as numbers with their unit in the header, money as
decimal strings, an empty cell where a KPI has no value. Buyers appear by nickname only.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from app.i18n import gettext
from app.metrics import drill
from app.metrics.dashboard import FUNNEL_LABELS, WEEKDAYS, Dashboard
from app.metrics.kpis import KPIS, KpiValue

BOM = "\ufeff"
TABLES = ("kpis", "agents", "daily", "heatmap", "funnel", "phrasing", "drill")
UNIT_SUFFIX = {"percent": "%", "seconds": "s", "money": "", "count": "", "score": "", "ratio": ""}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, KpiValue):
        return _cell(value.value)
    text = str(getattr(value, "value", value))
    # A cell starting with = + - @ would be run as a formula by spreadsheets: quote it as text.
    if text[:1] in ("=", "+", "-", "@") and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def rows_to_csv(header: list[str], rows: Iterable[list[Any]]) -> Iterator[str]:
    """The CSV text in chunks: the BOM and header first, then a chunk per 500 rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    yield BOM + buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    for n, row in enumerate(rows, 1):
        writer.writerow([_cell(v) for v in row])
        if n % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _label(key: str) -> str:
    kpi = KPIS[key]
    suffix = UNIT_SUFFIX[kpi.unit]
    return f"{gettext(kpi.label)} ({suffix})" if suffix else gettext(kpi.label)


def kpi_table(board: Dashboard) -> tuple[list[str], Iterable[list[Any]]]:
    header = [
        gettext("KPI key"),
        gettext("KPI"),
        gettext("Value"),
        gettext("Numerator"),
        gettext("Denominator"),
        gettext("Unit"),
        gettext("Formula"),
    ]
    rows = [
        [
            key,
            gettext(KPIS[key].label),
            value.value,
            value.numerator,
            value.denominator,
            value.unit,
            gettext(KPIS[key].formula),
        ]
        for key, value in board.values().items()
    ]
    return header, rows


def agent_table(board: Dashboard) -> tuple[list[str], Iterable[list[Any]]]:
    keys = list(board.agents[0].values) if board.agents else []
    header = [gettext("Agent id"), gettext("Agent"), gettext("Team"), *(_label(k) for k in keys)]
    rows = [[row.agent_id, row.name, row.team, *(row.values[k] for k in keys)] for row in board.agents]
    return header, rows


def daily_table(board: Dashboard) -> tuple[list[str], Iterable[list[Any]]]:
    keys = list(board.trends["series"])
    header = [gettext("Date"), *(_label(k) for k in keys)]
    rows = [
        [day, *(board.trends["series"][k][i] for k in keys)] for i, day in enumerate(board.trends["dates"])
    ]
    return header, rows


def heatmap_table(board: Dashboard) -> tuple[list[str], Iterable[list[Any]]]:
    # The average number of buyer messages in each hour, over the weekday's days in the period.
    header = [gettext("Weekday"), *(f"{hour:02d}:00" for hour in range(24))]
    return header, [[gettext(WEEKDAYS[i]), *board.heat[i]] for i in range(7)]


def funnel_table(board: Dashboard) -> tuple[list[str], Iterable[list[Any]]]:
    first = board.funnel[0][1] if board.funnel else 0
    header = [gettext("Step"), gettext("Inquiries"), gettext("Share of inquired (%)")]
    rows = [
        [gettext(FUNNEL_LABELS[step]), n, f"{n * 100 / first:.1f}" if first else None]
        for step, n in board.funnel
    ]
    return header, rows


def phrasing_table(board: Dashboard) -> tuple[list[str], Iterable[list[Any]]]:
    header = [
        gettext("Template id"),
        gettext("Template"),
        gettext("Category"),
        gettext("Uses"),
        gettext("Followed by their purpose"),
        gettext("Effectiveness (%)"),
    ]
    rows = [[r.template_id, r.title, r.category, r.uses, r.outcomes, r.rate] for r in board.templates]
    return header, rows


BOARD_TABLES = {
    "kpis": kpi_table,
    "agents": agent_table,
    "daily": daily_table,
    "heatmap": heatmap_table,
    "funnel": funnel_table,
    "phrasing": phrasing_table,
}


def drill_table(session: Any, *, kpi: str, sql: Any, scope: Any) -> tuple[list[str], Iterable[list[Any]]]:
    spec = drill.spec_for(kpi)
    header = [gettext(c.label) for c in spec.columns]
    rows = (
        [row.get(c.key) for c in spec.columns]
        for row in drill.all_rows(session, kpi=kpi, sql=sql, scope=scope)
    )
    return header, rows
