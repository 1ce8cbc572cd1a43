"""Periods of whole local days and their UTC bounds; presets; bad input."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.errors import InvalidInput
from app.metrics.period import MAX_DAYS, Period, month_period, parse_period, preset_period

TZ = "Asia/Shanghai"
NOW = datetime(2026, 11, 11, 2, 0, tzinfo=UTC)  # 10:00 on 11 November in Shanghai


def test_bounds_are_local_midnights_with_the_end_exclusive():
    p = Period(date(2026, 11, 1), date(2026, 11, 30), TZ)
    assert p.start_utc == datetime(2026, 10, 31, 16, 0, tzinfo=UTC)
    assert p.end_utc == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    assert p.days == 30 and len(p.dates()) == 30
    assert str(p) == "2026-11-01 – 2026-11-30"
    assert p.previous() == Period(date(2026, 10, 2), date(2026, 10, 31), TZ)


def test_a_dst_zone_has_a_23_hour_day():
    p = Period(date(2026, 3, 29), date(2026, 3, 29), "Europe/Berlin")
    assert (p.end_utc - p.start_utc).total_seconds() == 23 * 3600


def test_presets_count_back_from_the_local_today():
    assert preset_period("today", now=NOW, tz=TZ) == Period(date(2026, 11, 11), date(2026, 11, 11), TZ)
    assert preset_period("7d", now=NOW, tz=TZ).start == date(2026, 11, 5)
    assert preset_period("30d", now=NOW, tz=TZ).start == date(2026, 10, 13)
    assert preset_period("this_month", now=NOW, tz=TZ) == Period(date(2026, 11, 1), date(2026, 11, 11), TZ)
    assert preset_period("last_month", now=NOW, tz=TZ) == Period(date(2026, 10, 1), date(2026, 10, 31), TZ)
    # 23:30 UTC on 31 December is already 1 January in Shanghai
    late = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert preset_period("last_month", now=late, tz=TZ) == Period(date(2026, 12, 1), date(2026, 12, 31), TZ)


def test_month_period():
    assert month_period(2026, 2, TZ) == Period(date(2026, 2, 1), date(2026, 2, 28), TZ)
    assert month_period(2026, 12, TZ).end == date(2026, 12, 31)
    with pytest.raises(InvalidInput):
        month_period(2026, 13, TZ)


def test_parse_period_explicit_dates_win_and_one_date_is_one_day():
    assert parse_period("2026-11-01", "2026-11-30", tz=TZ, preset="7d", now=NOW).days == 30
    assert parse_period("2026-11-05", None, tz=TZ) == Period(date(2026, 11, 5), date(2026, 11, 5), TZ)
    assert parse_period(None, None, tz=TZ, preset="7d", now=NOW).days == 7
    assert parse_period("", "", tz=TZ, now=NOW).days == 30  # the default preset


@pytest.mark.parametrize(
    ("start", "end", "preset"),
    [
        ("2026-11-30", "2026-11-01", None),  # ends before it starts
        ("2025-01-01", "2026-11-30", None),  # more than a year
        ("2026-02-30", None, None),
        ("yesterday", None, None),
        (None, None, "fortnight"),
    ],
)
def test_bad_periods_are_invalid_input(start, end, preset):
    with pytest.raises(InvalidInput):
        parse_period(start, end, tz=TZ, preset=preset, now=NOW)


def test_the_longest_period_is_a_leap_year():
    assert Period(date(2024, 1, 1), date(2024, 12, 31), TZ).days == MAX_DAYS
    with pytest.raises(InvalidInput):
        Period(date(2024, 1, 1), date(2025, 1, 1), TZ)
    with pytest.raises(InvalidInput):
        Period(date(2026, 1, 1), date(2026, 1, 2), "Mars/Olympus")
