"""Portable SQL for the KPI queries: local day and hour, seconds between two times (SQLite, PostgreSQL).

Local time: PostgreSQL converts with the zone's rules (`timezone(tz, ts)`, exact through DST).
SQLite has no time zones, so it adds the zone's UTC offset; where the offset changes inside the
period (a DST zone), a CASE picks the offset in force at each row's instant, so both engines agree.
Asia/Shanghai has had one offset (+08:00) since 1991, so there it is a constant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from app.db import UTCDateTime, broad
from app.metrics.period import Period


def _offset_minutes(at: datetime, tz: Any) -> int:
    offset = at.astimezone(tz).utcoffset() or timedelta(0)
    return int(offset.total_seconds() // 60)


def offset_segments(start: datetime, end: datetime, tz: Any) -> list[tuple[datetime, int]]:
    """[(from instant, offset minutes)] covering [start, end): a new segment at each transition."""
    segments = [(start, _offset_minutes(start, tz))]
    step = start
    while step < end:
        following = min(step + timedelta(hours=6), end)
        probe = following if following < end else end - timedelta(microseconds=1)
        if _offset_minutes(probe, tz) != segments[-1][1]:
            lo, hi = step, probe  # the transition lies in (lo, hi]: find it to the minute
            while hi - lo > timedelta(minutes=1):
                mid = lo + (hi - lo) / 2
                if _offset_minutes(mid, tz) == segments[-1][1]:
                    lo = mid
                else:
                    hi = mid
            hi = hi.replace(second=0, microsecond=0)
            segments.append((hi, _offset_minutes(hi, tz)))
        step = following
    return segments


@dataclass
class Sql:
    """Dialect-aware expressions for one period's queries."""

    dialect: str  # "sqlite" | "postgresql"
    period: Period

    @classmethod
    def for_session(cls, session: Any, period: Period) -> Sql:
        return cls(session.get_bind().dialect.name, period)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    # --- bounds -----------------------------------------------------------------------------
    def start(self) -> Any:
        return sa.literal(self.period.start_utc, UTCDateTime())

    def end(self) -> Any:
        return sa.literal(self.period.end_utc, UTCDateTime())

    def within(self, column: Any) -> Any:
        """start <= column < end (the period's UTC bounds; an index range)."""
        return sa.and_(column >= self.start(), column < self.end())

    def unselective(self, condition: Any) -> Any:
        """A condition most rows of the period's range meet (tickets solved in it are solved):
        without it SQLite read all solved tickets for one day's (4 s instead of 16 ms at 2M)."""
        return broad(condition, self.dialect)

    # --- arithmetic -------------------------------------------------------------------------
    def seconds(self, earlier: Any, later: Any) -> Any:
        """Whole seconds from `earlier` to `later` (truncated), as an integer."""
        if self.is_sqlite:
            diff = (sa.func.julianday(later) - sa.func.julianday(earlier)) * 86400.0
            # julianday carries ~50 µs of float noise: round to the millisecond before truncating.
            return sa.cast(sa.func.round(diff, 3), sa.Integer)
        return sa.cast(sa.func.floor(sa.extract("epoch", later - earlier)), sa.BigInteger)

    # --- local time -------------------------------------------------------------------------
    def _sqlite_modifier(self, column: Any) -> Any:
        segments = offset_segments(self.period.start_utc, self.period.end_utc, self.period.zone)
        if len(segments) == 1:
            return sa.literal(f"{segments[0][1]:+d} minutes")
        whens = [
            (column < sa.literal(at, UTCDateTime()), f"{segments[i - 1][1]:+d} minutes")
            for i, (at, _) in enumerate(segments)
            if i > 0
        ]
        return sa.case(*whens, else_=f"{segments[-1][1]:+d} minutes")

    def local_day(self, column: Any) -> Any:
        """The local calendar date of an instant (rows come back as date or 'YYYY-MM-DD')."""
        if self.is_sqlite:
            return sa.func.date(column, self._sqlite_modifier(column))
        return sa.cast(sa.func.timezone(self.period.tz, column), sa.Date)

    def local_hour(self, column: Any) -> Any:
        if self.is_sqlite:
            return sa.cast(sa.func.strftime("%H", column, self._sqlite_modifier(column)), sa.Integer)
        return sa.cast(sa.extract("hour", sa.func.timezone(self.period.tz, column)), sa.Integer)


def as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.astimezone(UTC).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
