"""The daily rollup of KPI components (app.metrics.rollups keeps it correct).

One row per local day and (store, credited agent) cell with the day's additive components and
histograms, plus one `whole_day` row per day with the day's totals — the dashboard reads about 30
whole-day rows for a month instead of millions of tickets. A day is rolled up once it has a
whole-day row (today too, recomputed as it goes); `metric_rollup_state` holds the watermarks that
tell which days changed since.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime


class MetricRollup(SQLModel, table=True):
    __tablename__ = "metric_rollups"
    __table_args__ = (sa.Index("ix_metric_rollups_whole_day_day", "whole_day", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    day: date = Field(sa_type=sa.Date)
    whole_day: bool = Field(default=False)
    # Plain ids, no foreign keys: a rollup outlives nothing and is rebuilt from the live tables.
    store_id: int | None = Field(default=None)
    agent_id: int | None = Field(default=None)
    sums: dict[str, int] = Field(default_factory=dict, sa_type=sa.JSON)
    # component → {bucket (as text): count}: first-response seconds, hours of the day, template ids
    hists: dict[str, dict[str, int]] = Field(default_factory=dict, sa_type=sa.JSON)
    # When the day was computed (whole-day rows): today's figures are shown "as of" this time.
    computed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class MetricRollupState(SQLModel, table=True):
    """One row: the time zone the days are in and the watermarks of the last two refreshes."""

    __tablename__ = "metric_rollup_state"

    id: int = Field(default=1, primary_key=True)
    tz: str = Field(max_length=64)
    # Watermarks when the last refresh started, and when the one before it started: a change
    # newer than `safe` may not be in the rollup yet (a transaction can commit after a refresh read).
    seen: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    safe: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    # Days known to have changed but not recomputed yet (today, recomputed once a minute at most).
    pending: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    refreshed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # No refresh starts before this (any worker): a refresh that took t seconds rests until t / share
    # after its start (app.metrics.rollups.CORE_SHARE).
    rests_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
