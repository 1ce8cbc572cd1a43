"""SLA policies: which one a ticket follows, and how supervisors add, change and remove them.

A policy matches a ticket when each of its team / kind / priority is empty ("any") or equal to the
ticket's. Of the matching policies the most specific wins: team+kind+priority, team+kind,
team+priority, team, kind+priority, kind, priority, then the store-wide default (all empty).
Without any policy the desk's calendar defaults apply (tickets.sla.DEFAULT_RESPONSE_TARGETS).

Changing a policy changes the deadlines of clocks started afterwards; running clocks keep theirs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from app.accounts.models import Agent, Role, Team
from app.errors import Forbidden, InvalidInput, NotFound
from app.tickets.models import TicketKind, TicketPriority
from app.tickets.sla_models import SlaClock, SlaPolicy

MAX_MINUTES = 30 * 24 * 60  # 30 days
MIN_DAY_MINUTES = 60  # business hours of at least an hour a day
MAX_RISK_PERCENT = 90
TARGETS = ("first_response_minutes", "next_response_minutes", "resolution_minutes")


def specificity(policy: SlaPolicy) -> int:
    return (
        (4 if policy.team_id is not None else 0)
        + (2 if policy.kind is not None else 0)
        + (1 if policy.priority is not None else 0)
    )


def _value(value: Any) -> str:
    return str(getattr(value, "value", value))


def matches(policy: SlaPolicy, *, team_id: int | None, kind: Any, priority: Any) -> bool:
    return (
        (policy.team_id is None or policy.team_id == team_id)
        and (policy.kind is None or policy.kind == _value(kind))
        and (policy.priority is None or policy.priority == _value(priority))
    )


def choose(
    policies: Iterable[SlaPolicy], *, team_id: int | None, kind: Any, priority: Any
) -> SlaPolicy | None:
    """The most specific matching policy (the oldest of equals), or None."""
    best: SlaPolicy | None = None
    for policy in policies:
        if not matches(policy, team_id=team_id, kind=kind, priority=priority):
            continue
        if best is None or (specificity(policy), -(policy.id or 0)) > (specificity(best), -(best.id or 0)):
            best = policy
    return best


def policy_for(session: Session, *, team_id: int | None, kind: Any, priority: Any) -> SlaPolicy | None:
    """One query for the (at most eight) candidate policies of a ticket."""
    team_match = SlaPolicy.team_id.is_(None)
    if team_id is not None:
        team_match = sa.or_(team_match, SlaPolicy.team_id == team_id)
    query = select(SlaPolicy).where(
        team_match,
        sa.or_(SlaPolicy.kind.is_(None), SlaPolicy.kind == _value(kind)),
        sa.or_(SlaPolicy.priority.is_(None), SlaPolicy.priority == _value(priority)),
    )
    return choose(session.exec(query), team_id=team_id, kind=kind, priority=priority)


@dataclass
class PolicySet:
    """Every policy, loaded once (the dispatch job resolves many tickets with one query), and the
    stores' time zones as they are looked up."""

    policies: list[SlaPolicy]
    timezones: dict[int | None, str] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session) -> PolicySet:
        return cls(list(session.exec(select(SlaPolicy).order_by(SlaPolicy.id))))

    def choose(self, *, team_id: int | None, kind: Any, priority: Any) -> SlaPolicy | None:
        return choose(self.policies, team_id=team_id, kind=kind, priority=priority)


# --- reading ----------------------------------------------------------------------------------------


def list_policies(session: Session, *, team_id: int | None = None) -> list[SlaPolicy]:
    """The store-wide policies and (when given) a team's, most general first."""
    scope = SlaPolicy.team_id.is_(None)
    if team_id is not None:
        scope = sa.or_(scope, SlaPolicy.team_id == team_id)
    rows = list(session.exec(select(SlaPolicy).where(scope).order_by(SlaPolicy.id)))
    return sorted(rows, key=lambda p: (specificity(p), p.kind or "", p.priority or "", p.id))


def require_policy(session: Session, policy_id: int) -> SlaPolicy:
    policy = session.get(SlaPolicy, policy_id)
    if policy is None:
        raise NotFound("SLA policy {id} does not exist.", id=policy_id)
    return policy


# --- changing -------------------------------------------------------------------------------------


def may_manage(actor: Agent, team_id: int | None) -> None:
    """Store-wide policies: supervisors and admins; a team's: its supervisors and admins."""
    role = Role(actor.role)
    if role == Role.admin:
        return
    if role == Role.supervisor and (team_id is None or team_id == actor.team_id):
        return
    raise Forbidden("Only a supervisor of this team (or an admin) can change its SLA policies.")


def _text(values: dict[str, Any], name: str) -> str:
    value = values.get(name)
    return "" if value is None else str(value).strip()


def _minutes(values: dict[str, Any], name: str) -> int | None:
    text = _text(values, name)
    if not text:
        return None
    try:
        minutes = int(text)
    except ValueError:
        minutes = -1
    if minutes < 1 or minutes > MAX_MINUTES:
        raise InvalidInput(
            "A target is a whole number of minutes from 1 to {max} (30 days), or empty for none.",
            fields={name: f"1–{MAX_MINUTES}"},
            max=MAX_MINUTES,
        )
    return minutes


def _time(values: dict[str, Any], name: str, default: time) -> time:
    text = _text(values, name)
    if not text:
        return default
    try:
        parsed = time.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput("{value} is not a time of day.", fields={name: "HH:MM"}, value=text[:20]) from exc
    return parsed.replace(second=0, microsecond=0, tzinfo=None)


def _flag(values: dict[str, Any], name: str) -> bool:
    value = values.get(name)
    if isinstance(value, bool):
        return value
    return _text(values, name).lower() in ("1", "true", "on", "yes")


def clean(session: Session, values: dict[str, Any]) -> dict[str, Any]:
    """Every field checked before anything is written; raises InvalidInput naming the field."""
    name = _text(values, "name")
    if len(name) > 64:
        raise InvalidInput("A name is at most {max} characters.", fields={"name": "≤ 64"}, max=64)
    team_text = _text(values, "team_id")
    team_id: int | None = None
    if team_text:
        if not team_text.isascii() or not team_text.isdigit() or len(team_text) > 18:
            raise InvalidInput("Choose a team from the list.", fields={"team_id": "unknown team"})
        team_id = int(team_text)
        if session.get(Team, team_id) is None:
            raise InvalidInput("Team {id} does not exist.", fields={"team_id": "unknown team"}, id=team_id)
    kind = _text(values, "kind") or None
    if kind is not None and kind not in {k.value for k in TicketKind}:
        raise InvalidInput(
            "{kind} is not a ticket kind.", fields={"kind": ", ".join(TicketKind)}, kind=kind[:40]
        )
    priority = _text(values, "priority") or None
    if priority is not None and priority not in {p.value for p in TicketPriority}:
        raise InvalidInput(
            "{priority} is not a priority.",
            fields={"priority": ", ".join(TicketPriority)},
            priority=priority[:40],
        )
    minutes = {target: _minutes(values, target) for target in TARGETS}
    clock_text = _text(values, "clock") or SlaClock.business.value
    try:
        clock = SlaClock(clock_text)
    except ValueError as exc:
        raise InvalidInput(
            "Count in business hours or in calendar hours.", fields={"clock": "business | calendar"}
        ) from exc
    day_start = _time(values, "day_start", time(9, 0))
    day_end = _time(values, "day_end", time(18, 0))
    open_minutes = (day_end.hour * 60 + day_end.minute) - (day_start.hour * 60 + day_start.minute)
    if open_minutes < MIN_DAY_MINUTES:
        raise InvalidInput(
            "Business hours end at least an hour after they start.",
            fields={"day_end": "after the start, by an hour or more"},
        )
    risk_text = _text(values, "risk_percent")
    try:
        risk = int(risk_text) if risk_text else 20
    except ValueError:
        risk = -1
    if risk < 0 or risk > MAX_RISK_PERCENT:
        raise InvalidInput(
            "The warning share is a whole percentage from 0 to {max}.",
            fields={"risk_percent": f"0–{MAX_RISK_PERCENT}"},
            max=MAX_RISK_PERCENT,
        )
    return {
        "name": name,
        "team_id": team_id,
        "kind": kind,
        "priority": priority,
        **minutes,
        "clock": clock,
        "day_start": day_start,
        "day_end": day_end,
        "pause_when_pending": _flag(values, "pause_when_pending"),
        "pause_when_snoozed": _flag(values, "pause_when_snoozed"),
        "risk_percent": risk,
    }


def _check_unique(session: Session, cleaned: dict[str, Any], *, except_id: int | None) -> None:
    def same(column: Any, value: Any) -> Any:
        return column.is_(None) if value is None else column == value

    query = select(SlaPolicy.id).where(
        same(SlaPolicy.team_id, cleaned["team_id"]),
        same(SlaPolicy.kind, cleaned["kind"]),
        same(SlaPolicy.priority, cleaned["priority"]),
    )
    if except_id is not None:
        query = query.where(SlaPolicy.id != except_id)
    if session.exec(query).first() is not None:
        raise InvalidInput(
            "A policy for this team, kind and priority exists already: change that one.",
            fields={"kind": "taken", "priority": "taken"},
        )


def create_policy(session: Session, *, actor: Agent, values: dict[str, Any], now: datetime) -> SlaPolicy:
    cleaned = clean(session, values)
    may_manage(actor, cleaned["team_id"])
    _check_unique(session, cleaned, except_id=None)
    policy = SlaPolicy(**cleaned, created_at=now, updated_at=now)
    session.add(policy)
    session.flush()
    return policy


def update_policy(
    session: Session, policy: SlaPolicy, *, actor: Agent, values: dict[str, Any], now: datetime
) -> SlaPolicy:
    may_manage(actor, policy.team_id)
    cleaned = clean(session, values)
    may_manage(actor, cleaned["team_id"])
    _check_unique(session, cleaned, except_id=policy.id)
    for key, value in cleaned.items():
        setattr(policy, key, value)
    policy.updated_at = now
    session.add(policy)
    session.flush()
    return policy


def delete_policy(session: Session, policy: SlaPolicy, *, actor: Agent) -> None:
    may_manage(actor, policy.team_id)
    session.delete(policy)
    session.flush()
