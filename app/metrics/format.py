"""How a KPI value reads on a page: "—" when there is none, 33.3 %, 1 min 5 s, ¥180.00 …"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import Any

from babel import Locale
from babel.numbers import format_currency, format_decimal

from app.i18n import current_locale, gettext
from app.metrics.kpis import KpiValue

NONE = "—"


def duration(seconds: Decimal | int | float) -> str:
    total = int(Decimal(seconds).to_integral_value())
    if total < 60:
        return gettext("{s} s").format(s=total)
    if total < 3600:
        return gettext("{m} min {s} s").format(m=total // 60, s=total % 60)
    if total < 48 * 3600:
        return gettext("{h} h {m} min").format(h=total // 3600, m=total % 3600 // 60)
    return gettext("{d} d {h} h").format(d=total // 86400, h=total % 86400 // 3600)


@lru_cache
def _locale(name: str) -> Locale:
    # Parsing a locale name costs more than formatting the number; a table has hundreds of them.
    return Locale.parse(name)


def number(value: Any, places: int = 0) -> str:
    pattern = "#,##0" + ("." + "0" * places if places else "")
    return format_decimal(Decimal(value), format=pattern, locale=_locale(current_locale.get()))


def money(amount: Decimal, currency: str = "CNY") -> str:
    return format_currency(amount, currency, locale=_locale(current_locale.get()))


def kpi(value: KpiValue | None, currency: str = "CNY") -> str:
    """A KPI value for display; the unit travels with the value."""
    if value is None or value.value is None:
        return NONE
    amount = value.value
    if value.unit == "percent":
        return f"{number(amount, 1)}%"
    if value.unit == "seconds":
        return duration(amount)
    if value.unit == "money":
        return money(amount, currency)
    if value.unit in ("score", "ratio"):
        return number(amount, 2)
    return number(amount)


def fraction(value: KpiValue | None) -> str:
    """ "numerator / denominator" under a rate, so the basis of every percentage is visible."""
    if value is None or value.denominator is None or value.unit not in ("percent",):
        return ""
    return f"{number(value.numerator or 0)} / {number(value.denominator)}"
