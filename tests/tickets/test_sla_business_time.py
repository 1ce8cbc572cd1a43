"""The business-time calculator against hand-computed answers: China's 2026 holidays and 调休
make-up working days (as chinese-calendar 1.11 publishes them), weekends, evenings, and the bounds."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from app.tickets.business_time import (
    BusinessClock,
    BusinessHours,
    CalendarClock,
    add_business_minutes,
    add_business_time,
    business_minutes_between,
    is_business_day,
    subtract_business_time,
)

SH = ZoneInfo("Asia/Shanghai")
HOURS = BusinessHours("Asia/Shanghai")  # 09:00–18:00


def sh(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SH).astimezone(UTC)


def test_the_2026_national_day_dates_as_chinese_calendar_has_them():
    """The issue said Oct 1–8; the State Council's 2026 notice (and chinese-calendar 1.11) has
    Oct 1–7 off, Oct 8 a working day, and two 调休 make-up days: Sun Sep 20 and Sat Oct 10."""
    off = [date(2026, 10, d) for d in range(1, 8)]
    assert all(not chinese_calendar.is_workday(d) for d in off)
    assert all(not is_business_day(d) for d in off)
    assert is_business_day(date(2026, 10, 8))  # Thursday: back to work
    assert date(2026, 10, 10).weekday() == 5 and is_business_day(date(2026, 10, 10))  # 调休 Saturday
    assert date(2026, 9, 20).weekday() == 6 and is_business_day(date(2026, 9, 20))  # 调休 Sunday
    assert not is_business_day(date(2026, 10, 11))  # an ordinary Sunday


def test_the_2026_spring_festival_dates_as_chinese_calendar_has_them():
    assert all(not is_business_day(date(2026, 2, d)) for d in range(15, 24))  # Feb 15–23 off
    assert is_business_day(date(2026, 2, 14)) and date(2026, 2, 14).weekday() == 5  # 调休 Saturday
    assert is_business_day(date(2026, 2, 28)) and date(2026, 2, 28).weekday() == 5  # 调休 Saturday
    assert is_business_day(date(2026, 2, 24))


def test_national_day_is_skipped_whole():
    # Wed 30 Sep 17:00 + 2 h: one hour that evening, Oct 1–7 off, one hour on Thu 8 Oct.
    assert add_business_minutes(sh(9, 30, 17), 120, HOURS) == sh(10, 8, 10)
    assert business_minutes_between(sh(9, 30, 17), sh(10, 8, 10), HOURS) == 120
    assert subtract_business_time(sh(10, 8, 10), timedelta(minutes=120), HOURS) == sh(9, 30, 17)
    # Over the holiday itself nothing counts.
    assert business_minutes_between(sh(10, 1, 0), sh(10, 7, 23, 59), HOURS) == 0


def test_a_make_up_saturday_counts_and_an_ordinary_one_does_not():
    # Fri 9 Oct 17:30 + 1 h: half an hour on Friday, the rest on 调休 Saturday 10 Oct.
    assert add_business_minutes(sh(10, 9, 17, 30), 60, HOURS) == sh(10, 10, 9, 30)
    # A week later the Saturday is an ordinary one: Monday 19 Oct.
    assert add_business_minutes(sh(10, 16, 17, 30), 60, HOURS) == sh(10, 19, 9, 30)
    # The Sunday before National Day (20 Sep) is worked.
    assert add_business_minutes(sh(9, 19, 12), 30, HOURS) == sh(9, 20, 9, 30)


def test_spring_festival_2026():
    # Fri 13 Feb 17:00 + 2 h: an hour on Friday, an hour on the make-up Saturday 14 Feb.
    assert add_business_minutes(sh(2, 13, 17), 120, HOURS) == sh(2, 14, 10)
    # Sat 14 Feb 17:00 + 2 h: an hour that day, then nothing until Tue 24 Feb.
    assert add_business_minutes(sh(2, 14, 17), 120, HOURS) == sh(2, 24, 10)
    assert business_minutes_between(sh(2, 14, 9), sh(2, 24, 18), HOURS) == 18 * 60


def test_an_evening_arrival_rolls_to_the_next_morning():
    # Tue 10 Nov 2026 20:00 + 30 min → Wed 11 Nov 09:30; before opening the same.
    assert add_business_minutes(sh(11, 10, 20), 30, HOURS) == sh(11, 11, 9, 30)
    assert add_business_minutes(sh(11, 11, 7), 30, HOURS) == sh(11, 11, 9, 30)
    assert business_minutes_between(sh(11, 10, 20), sh(11, 11, 9, 30), HOURS) == 30


def test_a_target_ending_at_closing_time_ends_then():
    assert add_business_minutes(sh(11, 11, 9), 9 * 60, HOURS) == sh(11, 11, 18)
    assert add_business_minutes(sh(11, 11, 9), 9 * 60 + 1, HOURS) == sh(11, 12, 9, 1)
    assert add_business_minutes(sh(11, 11, 12), 0, HOURS) == sh(11, 11, 12)


def test_other_hours_and_a_zone_with_daylight_saving_time():
    short = BusinessHours("Asia/Shanghai", time(10, 0), time(12, 30))
    assert add_business_minutes(sh(11, 11, 12), 60, short) == sh(11, 12, 10, 30)
    # New York springs forward on Sun 8 Mar 2026: Fri 17:00 EST + 2 h → Mon 10:00 EDT = 14:00 UTC.
    ny = BusinessHours("America/New_York")
    start = datetime(2026, 3, 6, 17, tzinfo=ZoneInfo("America/New_York"))
    assert add_business_minutes(start, 120, ny) == datetime(2026, 3, 9, 14, tzinfo=UTC)


def test_years_without_holiday_data_fall_back_to_monday_to_friday():
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2030, 1, 1))
    assert is_business_day(date(2030, 1, 1))  # a Tuesday: New Year's Day is unknown there
    assert not is_business_day(date(2030, 1, 5))  # Saturday
    assert add_business_minutes(sh(1, 4, 17, year=2030), 120, HOURS) == sh(1, 7, 10, year=2030)


def test_long_spans_are_walked_by_days_and_bounded():
    # A year of business time in one call (about 245 working days of 9 h), and back.
    start = sh(1, 5, 9)
    end = add_business_time(start, timedelta(hours=9 * 245), HOURS)
    assert business_minutes_between(start, end, HOURS) == 9 * 245 * 60
    assert subtract_business_time(end, timedelta(hours=9 * 245), HOURS) == start
    with pytest.raises(ValueError, match="within"):
        add_business_time(start, timedelta(days=365 * 30), HOURS)


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        add_business_minutes(sh(11, 11, 9), -1, HOURS)
    with pytest.raises(ValueError):
        BusinessHours("Asia/Shanghai", time(18), time(9))
    with pytest.raises(ValueError):
        add_business_minutes(datetime(2026, 11, 11, 9), 10, HOURS)  # naive


def test_clocks_share_one_interface():
    calendar, business = CalendarClock(), BusinessClock(HOURS)
    start = sh(11, 13, 17)  # a Friday
    assert calendar.add(start, timedelta(hours=2)) == sh(11, 13, 19)
    assert business.add(start, timedelta(hours=2)) == sh(11, 16, 10)
    assert calendar.between(start, sh(11, 16, 10)) == timedelta(hours=65)
    assert business.between(start, sh(11, 16, 10)) == timedelta(hours=2)
    assert business.subtract(sh(11, 16, 10), timedelta(hours=2)) == start
    assert calendar.between(sh(11, 16, 10), start) == timedelta(0)
