"""Reporting periods: whole local days [start, end] in the store's time zone, as aware UTC bounds.

A period of local dates runs from 00:00 local on `start` to 00:00 local on the day after `end`
(end exclusive), so an event at 23:59 local on the last day counts and one at 00:00 the next day
does not. Periods longer than MAX_DAYS are refused: the dashboard answers a year at most.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.db import utc_now
from app.errors import InvalidInput
from app.i18n import N_

MAX_DAYS = 366

# preset key → English msgid (the period picker's labels)
PRESETS: dict[str, str] = {
    "today": N_("Today"),
    "7d": N_("Last 7 days"),
    "30d": N_("Last 30 days"),
    "this_month": N_("This month"),
    "last_month": N_("Last month"),
}
DEFAULT_PRESET = "30d"


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive
    tz: str = "Asia/Shanghai"

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise InvalidInput(
                "The period ends ({end}) before it starts ({start}).",
                fields={"end": "on or after the start"},
                start=self.start.isoformat(),
                end=self.end.isoformat(),
            )
        if self.days > MAX_DAYS:
            raise InvalidInput(
                "A period can span at most {max} days.", fields={"end": f"≤ {MAX_DAYS} days"}, max=MAX_DAYS
            )
        zone(self.tz)

    @property
    def zone(self) -> ZoneInfo:
        return zone(self.tz)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def start_utc(self) -> datetime:
        return local_midnight(self.start, self.zone)

    @property
    def end_utc(self) -> datetime:
        """Exclusive: local midnight after the last day."""
        return local_midnight(self.end + timedelta(days=1), self.zone)

    def dates(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]

    def previous(self) -> Period:
        """The period of the same length just before this one (for comparisons)."""
        length = timedelta(days=self.days)
        return Period(self.start - length, self.end - length, self.tz)

    def query(self) -> dict[str, str]:
        """Its query-string form, for links that keep the filters."""
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}

    def __str__(self) -> str:
        if self.start == self.end:
            return self.start.isoformat()
        return f"{self.start.isoformat()} – {self.end.isoformat()}"


def zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput("{tz} is not a time zone.", fields={"tz": "an IANA time zone"}, tz=tz) from exc


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def local_today(now: datetime, tz: str) -> date:
    return now.astimezone(zone(tz)).date()


def month_period(year: int, month: int, tz: str) -> Period:
    if not 1 <= month <= 12 or not 1 <= year <= 9999:
        raise InvalidInput("{year}-{month} is not a month.", fields={"month": "1–12"}, year=year, month=month)
    first = date(year, month, 1)
    following = date(year + (month == 12), month % 12 + 1, 1)
    return Period(first, following - timedelta(days=1), tz)


def preset_period(preset: str, *, now: datetime, tz: str) -> Period:
    today = local_today(now, tz)
    if preset == "today":
        return Period(today, today, tz)
    if preset == "7d":
        return Period(today - timedelta(days=6), today, tz)
    if preset == "30d":
        return Period(today - timedelta(days=29), today, tz)
    if preset == "this_month":
        return Period(today.replace(day=1), today, tz)
    if preset == "last_month":
        last = today.replace(day=1) - timedelta(days=1)
        return month_period(last.year, last.month, tz)
    raise InvalidInput(
        "{preset} is not a period preset.",
        fields={"preset": " | ".join(PRESETS)},
        preset=preset,
    )


def _parse_date(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise InvalidInput(
            "{value} is not a date (YYYY-MM-DD).", fields={field: "YYYY-MM-DD"}, value=value[:40]
        ) from exc


def parse_period(
    start: str | None,
    end: str | None,
    *,
    tz: str,
    preset: str | None = None,
    now: datetime | None = None,
) -> Period:
    """A period from query-string values: explicit dates win; else the preset (default: 30 days).

    One date alone means that single day. Presets count back from `now` (the edge's clock when
    not given).
    """
    start, end = (start or "").strip() or None, (end or "").strip() or None
    if start or end:
        first = _parse_date(start or end or "", "start" if start else "end")
        last = _parse_date(end, "end") if end else first
        return Period(first, last, tz)
    return preset_period(preset or DEFAULT_PRESET, now=utc_now(now), tz=tz)
