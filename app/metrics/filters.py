"""The dashboard's filters from query-string values: period, store, team, agent — checked, so an
unknown id or a period that ends before it starts is a clear 4xx, never a 500."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from app.accounts.models import Agent, Team
from app.config import get_settings
from app.errors import InvalidInput
from app.integrations.models import Store
from app.metrics.base import Scope
from app.metrics.period import PRESETS, Period, parse_period

MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class Filters:
    period: Period
    scope: Scope
    preset: str  # the chosen preset, or "" for explicit dates

    def query(self, **extra: Any) -> str:
        """The query string that reproduces these filters (for links, exports, drill-down)."""
        values: dict[str, Any] = {"start": self.period.start.isoformat(), "end": self.period.end.isoformat()}
        for name, value in (
            ("store", self.scope.store_id),
            ("team", self.scope.team_id),
            ("agent", self.scope.agent_id),
        ):
            if value is not None:
                values[name] = value
        values.update({k: v for k, v in extra.items() if v not in (None, "")})
        return urlencode(values)


def _id(value: str | None, field: str) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    if not value.isascii() or not value.isdigit() or int(value) > MAX_ID:
        raise InvalidInput("{value} is not an id.", fields={field: "a whole number"}, value=value[:40])
    return int(value)


def parse(
    session: Any,
    *,
    now: datetime,
    preset: str | None = None,
    start: str | None = None,
    end: str | None = None,
    store: str | None = None,
    team: str | None = None,
    agent: str | None = None,
) -> Filters:
    store_id, team_id, agent_id = _id(store, "store"), _id(team, "team"), _id(agent, "agent")
    tz = get_settings().default_timezone
    if store_id is not None:
        found = session.get(Store, store_id)
        if found is None:
            raise InvalidInput("There is no store {id}.", fields={"store": "unknown store"}, id=store_id)
        tz = found.timezone or tz  # the store's own days
    if team_id is not None and session.get(Team, team_id) is None:
        raise InvalidInput("There is no team {id}.", fields={"team": "unknown team"}, id=team_id)
    if agent_id is not None and session.get(Agent, agent_id) is None:
        raise InvalidInput("There is no agent {id}.", fields={"agent": "unknown agent"}, id=agent_id)
    preset = (preset or "").strip()
    if preset and preset not in PRESETS:
        raise InvalidInput(
            "{preset} is not a period preset.", fields={"preset": " | ".join(PRESETS)}, preset=preset[:40]
        )
    period = parse_period(start, end, tz=tz, preset=preset or None, now=now)
    explicit = bool((start or "").strip() or (end or "").strip())
    return Filters(
        period,
        Scope(store_id=store_id, team_id=team_id, agent_id=agent_id),
        "" if explicit else preset or "30d",
    )


def parse_api(session: Any, *, now: datetime, store_slug: str | None, **values: str | None) -> Filters:
    """`parse` for the JSON API, which names a store by its slug (unknown slug: 404)."""
    from app.integrations import service as stores

    store_id = stores.require_store(session, store_slug).id if store_slug else None
    return parse(session, now=now, store=str(store_id) if store_id is not None else None, **values)
