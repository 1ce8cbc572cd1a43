"""Quiet hours: no automatic message goes out between quiet_start and quiet_end, store-local time."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

DEFAULT_QUIET_START = time(22, 0)
DEFAULT_QUIET_END = time(8, 0)


def parse_hhmm(value: str) -> time:
    hours, _, minutes = value.strip().partition(":")
    result = time(int(hours), int(minutes or 0))
    return result


def in_quiet_hours(at: datetime, *, tz: str, start: time, end: time) -> bool:
    if start == end:
        return False  # no quiet hours
    local = at.astimezone(ZoneInfo(tz)).time()
    if start < end:
        return start <= local < end
    return local >= start or local < end  # the window spans midnight


def next_allowed(
    at: datetime, *, tz: str, start: time = DEFAULT_QUIET_START, end: time = DEFAULT_QUIET_END
) -> datetime:
    """`at` itself when outside quiet hours, else the first minute after they end (aware UTC)."""
    if not in_quiet_hours(at, tz=tz, start=start, end=end):
        return at
    zone = ZoneInfo(tz)
    local = at.astimezone(zone)
    candidate = datetime.combine(local.date(), end, zone)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), end, zone)
    return candidate.astimezone(UTC)
