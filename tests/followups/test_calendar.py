"""The business calendar and quiet hours; holiday dates are read from chinese-calendar, never typed in."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from app.followups import calendar, quiet

SH = ZoneInfo("Asia/Shanghai")
YEAR = max(d.year for d in chinese_calendar.holidays)


def _first(holiday) -> date:
    return min(d for d, name in chinese_calendar.holidays.items() if d.year == YEAR and name == holiday.value)


def test_spring_festival_days_are_not_business_days():
    for day in calendar.holiday_dates(YEAR, "spring_festival"):
        assert not calendar.is_business_day(day)
        assert calendar.is_public_holiday(day)


def test_make_up_weekend_is_a_business_day():
    makeup = sorted(d for d in chinese_calendar.workdays if d.year == YEAR)[0]
    assert makeup.weekday() >= 5
    assert calendar.is_business_day(makeup)
    assert calendar.is_makeup_workday(makeup)


def test_named_dates_come_from_the_library():
    assert calendar.named_date(YEAR, "spring_festival") == _first(chinese_calendar.Holiday.spring_festival)
    assert calendar.named_date(YEAR, "mid_autumn") == _first(chinese_calendar.Holiday.mid_autumn_festival)
    assert calendar.named_date(YEAR, "double11") == date(YEAR, 11, 11)
    assert calendar.named_date(YEAR, "customer_date", (2, 29)).month == 2


def test_year_without_library_data_falls_back_to_weekdays():
    year = YEAR + 5
    assert calendar.named_date(year, "spring_festival") is None
    monday = date(year, 1, 1) + timedelta(days=(7 - date(year, 1, 1).weekday()) % 7)
    assert calendar.is_business_day(monday)
    assert not calendar.is_business_day(monday + timedelta(days=5))


def test_business_minutes_skip_the_whole_spring_festival():
    days = calendar.holiday_dates(YEAR, "spring_festival")
    before = days[0] - timedelta(days=1)
    while not calendar.is_business_day(before):
        before -= timedelta(days=1)
    start = datetime.combine(before, time(17, 0), SH).astimezone(UTC)
    end = calendar.add_business_minutes(start, 120, tz="Asia/Shanghai")
    local = end.astimezone(SH)
    assert local.date() > days[-1] or calendar.is_makeup_workday(local.date())
    assert calendar.is_business_day(local.date())
    assert local.time() == time(10, 0)
    assert calendar.business_minutes_between(start, end, tz="Asia/Shanghai") == 120


def test_business_minutes_within_one_day():
    monday = date(YEAR, 3, 2)
    while not calendar.is_business_day(monday):
        monday += timedelta(days=1)
    start = datetime.combine(monday, time(8, 0), SH)
    assert calendar.add_business_minutes(start, 30).astimezone(SH).time() == time(9, 30)


def test_negative_business_minutes_are_refused():
    with pytest.raises(ValueError):
        calendar.add_business_minutes(datetime(2026, 1, 5, tzinfo=UTC), -1)


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        ("21:59", "21:59"),  # allowed: unchanged
        ("22:00", "08:00+1"),
        ("23:30", "08:00+1"),
        ("03:00", "08:00"),
        ("07:59", "08:00"),
        ("08:00", "08:00"),
    ],
)
def test_quiet_hours_wait_for_the_next_allowed_minute(local, expected):
    day = date(2026, 11, 11)
    at = datetime.combine(day, time.fromisoformat(local), SH)
    got = quiet.next_allowed(at.astimezone(UTC), tz="Asia/Shanghai").astimezone(SH)
    hhmm, _, plus = expected.partition("+")
    assert got.time() == time.fromisoformat(hhmm)
    assert got.date() == day + timedelta(days=int(plus or 0))


def test_quiet_hours_follow_the_store_time_zone():
    at = datetime(2026, 11, 11, 23, 0, tzinfo=UTC)  # 07:00 in Shanghai, 18:00 in New York
    assert quiet.next_allowed(at, tz="Asia/Shanghai") == datetime(2026, 11, 12, 0, 0, tzinfo=UTC)
    assert quiet.next_allowed(at, tz="America/New_York") == at
