"""Business-time arithmetic for SLA clocks: pure functions, no clock of their own (`now` is passed in).

A business day is a working day of mainland China by chinese-calendar's rules: weekdays except
public holidays, plus the 调休 make-up Saturdays and Sundays. Each business day is open from
`start` to `end` local time in the store's time zone (09:00–18:00 by default); everything else is
closed. Instants go in and come out as aware UTC; the opening and closing instants of each day are
computed in UTC, so arithmetic stays exact in zones with daylight saving time too.

chinese-calendar only knows the years its release carries (`chinese_calendar.is_workday` raises
NotImplementedError outside them: 2004–2026 in 1.11.0). For any other year a business day is
simply Monday to Friday — holidays and make-up days of that year are not known — until a newer
release of chinese-calendar is installed.

The work is a walk over whole days (never minutes), and it is bounded: MAX_DAYS days at most.
A calendar clock (marketplace chats run day and night) has the same three operations as plain
time arithmetic, so SLA code treats both alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar

# Ten years of days: far beyond any SLA target (policies allow at most 30 days of business time,
# and a business day is at least an hour long, so 720 business days), and a hard stop otherwise.
MAX_DAYS = 3660
DEFAULT_START = time(9, 0)
DEFAULT_END = time(18, 0)
ZERO = timedelta(0)


@lru_cache(maxsize=8192)
def is_business_day(day: date) -> bool:
    """A working day in mainland China (holidays off, 调休 make-up days on); Monday to Friday for a
    year chinese-calendar has no data for."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


@lru_cache(maxsize=64)
def _zone(tz: str) -> ZoneInfo:
    return ZoneInfo(tz)


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("business time needs aware datetimes")
    return value.astimezone(UTC)


@dataclass(frozen=True)
class BusinessHours:
    """Open hours on business days, in a time zone (IANA name)."""

    tz: str = "Asia/Shanghai"
    start: time = DEFAULT_START
    end: time = DEFAULT_END

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError("the business day must end after it starts")
        _zone(self.tz)  # an unknown zone fails here, not halfway through a calculation

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        """The day's open interval as UTC instants; None on a day off."""
        return _window(day, self.tz, self.start, self.end)

    def local_date(self, at: datetime) -> date:
        return at.astimezone(_zone(self.tz)).date()


@lru_cache(maxsize=16384)
def _window(day: date, tz: str, start: time, end: time) -> tuple[datetime, datetime] | None:
    if not is_business_day(day):
        return None
    zone = _zone(tz)
    opens = datetime.combine(day, start, tzinfo=zone).astimezone(UTC)
    closes = datetime.combine(day, end, tzinfo=zone).astimezone(UTC)
    return opens, closes


def add_business_time(start: datetime, amount: timedelta, hours: BusinessHours) -> datetime:
    """The instant `amount` of business time after `start`. A start outside open hours counts from
    the next opening; an amount that ends exactly at closing time ends at closing time."""
    start = _aware(start)
    if amount < ZERO:
        raise ValueError("the amount of business time must not be negative")
    if amount == ZERO:
        return start
    remaining = amount
    day = hours.local_date(start)
    for _ in range(MAX_DAYS):
        window = hours.window(day)
        if window is not None:
            opens, closes = window
            cursor = max(start, opens)
            if cursor < closes:
                available = closes - cursor
                if remaining <= available:
                    return cursor + remaining
                remaining -= available
        day += timedelta(days=1)
    raise ValueError(f"no {amount} of business time within {MAX_DAYS} days")


def subtract_business_time(end: datetime, amount: timedelta, hours: BusinessHours) -> datetime:
    """The latest instant from which `amount` of business time runs until `end` (the mirror of
    add_business_time)."""
    end = _aware(end)
    if amount < ZERO:
        raise ValueError("the amount of business time must not be negative")
    if amount == ZERO:
        return end
    remaining = amount
    day = hours.local_date(end)
    for _ in range(MAX_DAYS):
        window = hours.window(day)
        if window is not None:
            opens, closes = window
            cursor = min(end, closes)
            if cursor > opens:
                available = cursor - opens
                if remaining <= available:
                    return cursor - remaining
                remaining -= available
        day -= timedelta(days=1)
    raise ValueError(f"no {amount} of business time within {MAX_DAYS} days")


def business_time_between(start: datetime, end: datetime, hours: BusinessHours) -> timedelta:
    """Business time from `start` to `end` (zero when end is not after start). Linear in the days
    between them, one cached lookup per day."""
    start, end = _aware(start), _aware(end)
    if end <= start:
        return ZERO
    total = ZERO
    day, last = hours.local_date(start), hours.local_date(end)
    while day <= last:
        window = hours.window(day)
        if window is not None:
            lo, hi = max(window[0], start), min(window[1], end)
            if hi > lo:
                total += hi - lo
        day += timedelta(days=1)
    return total


def add_business_minutes(start: datetime, minutes: int, hours: BusinessHours) -> datetime:
    return add_business_time(start, timedelta(minutes=minutes), hours)


def business_minutes_between(start: datetime, end: datetime, hours: BusinessHours) -> int:
    """Whole business minutes from `start` to `end`."""
    return int(business_time_between(start, end, hours).total_seconds() // 60)


# --- clocks ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CalendarClock:
    """Day and night, every day: plain time arithmetic."""

    kind: str = "calendar"

    def add(self, start: datetime, amount: timedelta) -> datetime:
        return start + amount

    def subtract(self, end: datetime, amount: timedelta) -> datetime:
        return end - amount

    def between(self, start: datetime, end: datetime) -> timedelta:
        return max(end - start, ZERO)


@dataclass(frozen=True)
class BusinessClock:
    """Only open hours of business days count."""

    hours: BusinessHours
    kind: str = "business"

    def add(self, start: datetime, amount: timedelta) -> datetime:
        return add_business_time(start, amount, self.hours)

    def subtract(self, end: datetime, amount: timedelta) -> datetime:
        return subtract_business_time(end, amount, self.hours)

    def between(self, start: datetime, end: datetime) -> timedelta:
        return business_time_between(start, end, self.hours)


Clock = CalendarClock | BusinessClock
