"""SLA test helpers: policies made through the real service, Shanghai local times."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import select

from app.accounts.models import Role
from app.tickets import sla_policies
from app.tickets.sla_models import SlaBreach, SlaPolicy
from tests.factories import T0, make_agent

SH = ZoneInfo("Asia/Shanghai")


def sh(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    """A Shanghai local time as aware UTC."""
    return datetime(year, month, day, hour, minute, tzinfo=SH).astimezone(UTC)


def make_policy(db, **values: Any) -> SlaPolicy:
    admin = make_agent(db, role=Role.admin)
    base: dict[str, Any] = {
        "clock": "business",
        "pause_when_pending": True,
        "pause_when_snoozed": True,
        "risk_percent": 20,
    }
    return sla_policies.create_policy(db, actor=admin, values=base | values, now=T0)


def breaches(db, ticket_id: int | None = None) -> list[SlaBreach]:
    query = select(SlaBreach).order_by(SlaBreach.id)
    if ticket_id is not None:
        query = query.where(SlaBreach.ticket_id == ticket_id)
    return list(db.exec(query))
