"""China's business calendar: public holidays and 调休 make-up working days from chinese-calendar.

Used for business-hours arithmetic (SLA clocks of the metrics issue) and for revisit plans on
named dates. Dates come from the library's data, never hard-coded; for a year it has no data
for, a business day is simply Monday to Friday, and holidays are unknown (None / empty).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
from chinese_calendar import Holiday

from app.i18n import N_

# Named dates a revisit plan may use: holidays from the library, and the shopping festivals.
HOLIDAYS: dict[str, Holiday] = {
    "new_year": Holiday.new_years_day,
    "spring_festival": Holiday.spring_festival,
    "tomb_sweeping": Holiday.tomb_sweeping_day,
    "labour_day": Holiday.labour_day,
    "dragon_boat": Holiday.dragon_boat_festival,
    "mid_autumn": Holiday.mid_autumn_festival,
    "national_day": Holiday.national_day,
}
# Shopping festivals are fixed calendar days by definition (not public holidays).
SHOPPING_DAYS: dict[str, tuple[int, int]] = {"618": (6, 18), "double11": (11, 11)}
CUSTOMER_DATE = "customer_date"
NAMED_DATE_LABELS: dict[str, str] = {
    "new_year": N_("New Year's Day"),
    "spring_festival": N_("Spring Festival"),
    "tomb_sweeping": N_("Qingming"),
    "labour_day": N_("Labour Day"),
    "dragon_boat": N_("Dragon Boat Festival"),
    "mid_autumn": N_("Mid-Autumn Festival"),
    "national_day": N_("National Day"),
    "618": N_("618 shopping festival"),
    "double11": N_("Double 11"),
    CUSTOMER_DATE: N_("The customer's own date"),
}
# What a greeting calls the day (zh-CN, for the message text).
NAMED_DATE_ZH: dict[str, str] = {
    "new_year": "元旦",
    "spring_festival": "春节",
    "tomb_sweeping": "清明",
    "labour_day": "劳动节",
    "dragon_boat": "端午节",
    "mid_autumn": "中秋节",
    "national_day": "国庆节",
    "618": "618",
    "double11": "双11",
    CUSTOMER_DATE: "",
}


_YEARS = frozenset(d.year for d in chinese_calendar.holidays)


def has_data(year: int) -> bool:
    """Whether the installed chinese-calendar knows this year's holidays."""
    return year in _YEARS


def is_business_day(day: date) -> bool:
    """A working day in mainland China: weekdays except public holidays, plus 调休 make-up days."""
    if has_data(day.year):
        return bool(chinese_calendar.is_workday(day))
    return day.weekday() < 5


def is_public_holiday(day: date) -> bool:
    """A day off because of a public holiday (not an ordinary weekend)."""
    return has_data(day.year) and day in chinese_calendar.holidays


def is_makeup_workday(day: date) -> bool:
    """A weekend day worked to make up for a holiday (调休上班)."""
    return has_data(day.year) and day in chinese_calendar.workdays


def holiday_dates(year: int, name: str) -> list[date]:
    """The days off of a named holiday in `year`, from the library (empty if unknown)."""
    holiday = HOLIDAYS[name]
    if not has_data(year):
        return []
    return sorted(
        d for d, label in chinese_calendar.holidays.items() if d.year == year and label == holiday.value
    )


def named_date(year: int, name: str, customer_date: tuple[int, int] | None = None) -> date | None:
    """The day a named date falls on in `year`: a holiday's first day off, a shopping festival's
    day, or the customer's own (month, day). None when unknown."""
    if name in HOLIDAYS:
        days = holiday_dates(year, name)
        return days[0] if days else None
    if name in SHOPPING_DAYS:
        month, day = SHOPPING_DAYS[name]
        return date(year, month, day)
    if name == CUSTOMER_DATE:
        if customer_date is None:
            return None
        month, day = customer_date
        if (month, day) == (2, 29) and not _leap(year):
            day = 28
        return date(year, month, day)
    raise KeyError(name)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


# --- business hours ------------------------------------------------------------------------------

DAY_START = time(9, 0)
DAY_END = time(18, 0)


def _window(day: date, zone: ZoneInfo, start: time, end: time) -> tuple[datetime, datetime]:
    return datetime.combine(day, start, zone), datetime.combine(day, end, zone)


def add_business_minutes(
    start: datetime,
    minutes: int,
    *,
    tz: str = "Asia/Shanghai",
    day_start: time = DAY_START,
    day_end: time = DAY_END,
) -> datetime:
    """The moment `minutes` of business time after `start` (aware UTC in, aware UTC out)."""
    if minutes < 0:
        raise ValueError("minutes must not be negative")
    if day_end <= day_start:
        raise ValueError("the business day must end after it starts")
    zone = ZoneInfo(tz)
    local = start.astimezone(zone)
    remaining = timedelta(minutes=minutes)
    day = local.date()
    cursor = local
    for _ in range(3660):  # ten years of days: a bound, never reached in practice
        if is_business_day(day):
            opens, closes = _window(day, zone, day_start, day_end)
            cursor = max(cursor, opens)
            if cursor < closes:
                available = closes - cursor
                if remaining <= available:
                    return (cursor + remaining).astimezone(UTC)
                remaining -= available
        day += timedelta(days=1)
        cursor = datetime.combine(day, day_start, zone)
    raise ValueError("no business time found within ten years")


def business_minutes_between(
    start: datetime,
    end: datetime,
    *,
    tz: str = "Asia/Shanghai",
    day_start: time = DAY_START,
    day_end: time = DAY_END,
) -> int:
    """Whole business minutes from `start` to `end` (0 if end is not after start)."""
    if end <= start:
        return 0
    zone = ZoneInfo(tz)
    a, b = start.astimezone(zone), end.astimezone(zone)
    total = timedelta()
    day = a.date()
    while day <= b.date():
        if is_business_day(day):
            opens, closes = _window(day, zone, day_start, day_end)
            lo, hi = max(opens, a), min(closes, b)
            if hi > lo:
                total += hi - lo
        day += timedelta(days=1)
    return int(total.total_seconds() // 60)
