"""Targets (目标管理): per agent and per team per month for chosen KPIs, attainment against the
month's actual figures (app.metrics.kpis), and the month's self-assessment with the supervisor's.

Attainment = actual ÷ target when higher is better, target ÷ actual when lower is better (response
times, refund rate), capped at 200 %; no actual figure (nothing to measure) → None, shown "—".
Target values are in the KPI's own unit: percent as 0–100, seconds, money, a count, a score.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from app.accounts.models import Agent, Team
from app.config import get_settings
from app.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.metrics import kpis
from app.metrics.models import SelfAssessment, Target, TargetDirection
from app.metrics.period import month_period

MAX_ATTAINMENT = Decimal(2)
FOUR_PLACES = Decimal("0.0001")
MAX_VALUE = Decimal("1000000000")
TEXT_MAX = 4000
MONTH_RE = re.compile(r"^([0-9]{4})-([0-9]{2})$")
SUBJECT_RE = re.compile(r"^(agent|team):([0-9]{1,18})$")


# --- months and values -------------------------------------------------------------------------


def parse_month(text: str | None) -> tuple[int, int]:
    """ "2026-11" → (2026, 11); anything else → InvalidInput."""
    match = MONTH_RE.match((text or "").strip())
    if match is None or not 1 <= int(match.group(2)) <= 12 or not 2000 <= int(match.group(1)) <= 2100:
        raise InvalidInput(
            "{month} is not a month (YYYY-MM).", fields={"month": "YYYY-MM"}, month=(text or "")[:20] or "—"
        )
    return int(match.group(1)), int(match.group(2))


def month_text(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def current_month(now: datetime, tz: str | None = None) -> tuple[int, int]:
    local = now.astimezone(ZoneInfo(tz or get_settings().default_timezone))
    return local.year, local.month


def month_or_current(text: str | None, now: datetime) -> tuple[int, int]:
    return parse_month(text) if (text or "").strip() else current_month(now)


def shift_month(year: int, month: int, by: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + by
    return index // 12, index % 12 + 1


def require_kpi(key: str) -> kpis.KpiDef:
    kpi = kpis.KPIS.get((key or "").strip())
    if kpi is None:
        raise InvalidInput("Unknown KPI: {keys}.", fields={"kpi": "unknown KPI"}, keys=(key or "—")[:40])
    return kpi


def parse_value(text: Any, kpi: kpis.KpiDef) -> Decimal:
    raw = str(text if text is not None else "").strip().removesuffix("%").strip().replace(",", "")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or not raw.isascii():
        raise InvalidInput("A target is a number, e.g. 85 or 30.5.", fields={"value": "a number"})
    if value < 0 or value > MAX_VALUE:
        raise InvalidInput("A target cannot be negative or that large.", fields={"value": "≥ 0"})
    if kpi.unit == "percent" and value > 100:
        raise InvalidInput("A percentage target is at most 100.", fields={"value": "0–100"})
    if value != value.quantize(FOUR_PLACES):
        raise InvalidInput("A target has at most four decimal places.", fields={"value": "≤ 4 decimals"})
    return value


def attainment(actual: Decimal | None, target: Decimal, higher_is_better: bool) -> Decimal | None:
    """How much of the target the actual figure reaches (1 = exactly), capped at 200 %."""
    if actual is None:
        return None
    if higher_is_better:
        if target <= 0:
            return Decimal(1) if actual <= 0 else MAX_ATTAINMENT
        ratio = actual / target
    else:
        if actual <= 0:
            return Decimal(1) if target <= 0 else MAX_ATTAINMENT
        ratio = target / actual
    return min(ratio, MAX_ATTAINMENT).quantize(FOUR_PLACES, rounding=ROUND_HALF_UP)


def is_met(actual: Decimal | None, target: Decimal, higher_is_better: bool) -> bool | None:
    if actual is None:
        return None
    return actual >= target if higher_is_better else actual <= target


# --- setting targets -----------------------------------------------------------------------------


def resolve_subject(session: Session, subject: str) -> tuple[str, Agent | Team]:
    """ "agent:12" / "team:3" → the row; unknown → InvalidInput."""
    match = SUBJECT_RE.match((subject or "").strip())
    row: Agent | Team | None = None
    if match is not None:
        model = Agent if match.group(1) == "agent" else Team
        row = session.get(model, int(match.group(2)))
    if row is None:
        raise InvalidInput(
            "{subject} is not an agent or team.",
            fields={"subject": "unknown agent or team"},
            subject=subject[:40],
        )
    return match.group(1), row


def set_target(
    session: Session,
    *,
    subject: str,
    year: int,
    month: int,
    kpi: str,
    value: Any,
    direction: str | None = None,
    actor: Agent,
    now: datetime,
) -> Target:
    """Create or replace the target of a subject ("agent:12" / "team:3") for a month and KPI."""
    kind, row = resolve_subject(session, subject)
    definition = require_kpi(kpi)
    amount = parse_value(value, definition)
    default = TargetDirection.higher if definition.higher_is_better else TargetDirection.lower
    try:
        way = TargetDirection(direction) if direction else default
    except ValueError as exc:
        raise InvalidInput("Direction is higher or lower.", fields={"direction": "higher | lower"}) from exc
    month_period(year, month, get_settings().default_timezone)  # validates the month
    key = f"{kind}:{row.id}"
    target = session.exec(
        select(Target).where(
            Target.year == year, Target.month == month, Target.subject == key, Target.kpi == definition.key
        )
    ).first()
    if target is None:
        target = Target(
            year=year,
            month=month,
            subject=key,
            agent_id=row.id if kind == "agent" else None,
            team_id=row.id if kind == "team" else None,
            kpi=definition.key,
            value=amount,
            direction=way,
            created_at=now,
            updated_at=now,
        )
    target.value, target.direction, target.set_by_id, target.updated_at = amount, way, actor.id, now
    session.add(target)
    session.flush()
    return target


def require_target(session: Session, target_id: int) -> Target:
    target = session.get(Target, target_id)
    if target is None:
        raise NotFound("Target {id} does not exist.", id=target_id)
    return target


def delete_target(session: Session, target: Target) -> None:
    session.delete(target)
    session.flush()


# --- targets against actual figures ------------------------------------------------------------


@dataclass
class TargetLine:
    target: Target
    kpi: kpis.KpiDef | None
    actual: Decimal | None
    attainment: Decimal | None
    met: bool | None

    @property
    def percent(self) -> int:
        """Attainment as a whole percentage for the progress bar (0 when unknown)."""
        if self.attainment is None:
            return 0
        return int((self.attainment * 100).to_integral_value(rounding=ROUND_HALF_UP))


def targets_for(
    session: Session, *, year: int, month: int, agent_id: int | None = None, team_id: int | None = None
) -> list[Target]:
    query = select(Target).where(Target.year == year, Target.month == month)
    if agent_id is not None:
        query = query.where(Target.agent_id == agent_id)
    if team_id is not None:
        query = query.where(Target.team_id == team_id)
    return list(session.exec(query.order_by(Target.subject, Target.id)))


def lines(
    session: Session, targets: list[Target], *, year: int, month: int, now: datetime | None = None
) -> list[TargetLine]:
    """Each target with the month's actual figure: one KPI computation per agent or team (with
    `now`, a page's clock: as of the rollup's last refresh, see kpis.collect)."""
    period = month_period(year, month, get_settings().default_timezone)
    by_subject: dict[str, list[Target]] = defaultdict(list)
    for target in targets:
        by_subject[target.subject].append(target)
    actuals: dict[tuple[str, str], Decimal | None] = {}
    for subject, group in by_subject.items():
        keys = sorted({t.kpi for t in group if t.kpi in kpis.KPIS})
        if not keys:
            continue
        first = group[0]
        values = kpis.compute(
            session, period=period, agent_id=first.agent_id, team_id=first.team_id, keys=keys, now=now
        )
        for key, value in values.items():
            actuals[(subject, key)] = value.value
    out = []
    for target in targets:
        actual = actuals.get((target.subject, target.kpi))
        higher = TargetDirection(target.direction) == TargetDirection.higher
        out.append(
            TargetLine(
                target=target,
                kpi=kpis.KPIS.get(target.kpi),
                actual=actual,
                attainment=attainment(actual, target.value, higher),
                met=is_met(actual, target.value, higher),
            )
        )
    return out


@dataclass
class SubjectMonth:
    """One agent's or team's month on the supervisor's page."""

    name: str
    subject: str
    lines: list[TargetLine]
    agent: Agent | None = None
    assessment: SelfAssessment | None = None


def month_overview(
    session: Session, *, year: int, month: int, now: datetime | None = None
) -> dict[str, list[SubjectMonth]]:
    """Every agent and team with targets this month (and agents who wrote an assessment)."""
    all_lines = lines(session, targets_for(session, year=year, month=month), year=year, month=month, now=now)
    grouped: dict[str, list[TargetLine]] = defaultdict(list)
    for line in all_lines:
        grouped[line.target.subject].append(line)
    assessments = {
        a.agent_id: a
        for a in session.exec(
            select(SelfAssessment).where(SelfAssessment.year == year, SelfAssessment.month == month)
        )
    }
    agent_ids = {int(s.split(":")[1]) for s in grouped if s.startswith("agent:")} | set(assessments)
    team_ids = {int(s.split(":")[1]) for s in grouped if s.startswith("team:")}
    agents = (
        {a.id: a for a in session.exec(select(Agent).where(Agent.id.in_(agent_ids)))} if agent_ids else {}
    )
    teams = {t.id: t for t in session.exec(select(Team).where(Team.id.in_(team_ids)))} if team_ids else {}
    return {
        "agents": [
            SubjectMonth(
                a.display_name, f"agent:{a.id}", grouped.get(f"agent:{a.id}", []), a, assessments.get(a.id)
            )
            for a in sorted(agents.values(), key=lambda a: a.display_name)
        ],
        "teams": [
            SubjectMonth(t.name, f"team:{t.id}", grouped.get(f"team:{t.id}", []))
            for t in sorted(teams.values(), key=lambda t: t.name)
        ],
    }


# --- self-assessment and the supervisor's assessment ---------------------------------------------


def assessment_for(session: Session, agent_id: int, *, year: int, month: int) -> SelfAssessment | None:
    query = select(SelfAssessment).where(
        SelfAssessment.agent_id == agent_id, SelfAssessment.year == year, SelfAssessment.month == month
    )
    return session.exec(query).first()


def _rating(value: Any) -> int | None:
    text = str(value if value is not None else "").strip()
    if not text:
        return None
    if text.isascii() and text.isdigit() and len(text) == 1 and 1 <= int(text) <= 5:
        return int(text)
    raise InvalidInput("A rating is from 1 to 5.", fields={"rating": "1–5"})


def _text(value: str | None) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidInput("Write a few words for the assessment.", fields={"text": "required"})
    if len(text) > TEXT_MAX:
        raise InvalidInput(
            "An assessment has at most {max} characters.", fields={"text": f"≤ {TEXT_MAX}"}, max=TEXT_MAX
        )
    return text


def _month_started(year: int, month: int, now: datetime) -> None:
    if (year, month) > current_month(now):
        raise InvalidInput(
            "A month can be assessed once it has begun.", fields={"month": "this month or earlier"}
        )


def _row(session: Session, agent_id: int, year: int, month: int, now: datetime) -> SelfAssessment:
    row = assessment_for(session, agent_id, year=year, month=month)
    return row or SelfAssessment(agent_id=agent_id, year=year, month=month, created_at=now, updated_at=now)


def write_self_assessment(
    session: Session, agent: Agent, *, year: int, month: int, text: str, rating: Any, now: datetime
) -> SelfAssessment:
    """The agent's own words on their month; editable until the supervisor has assessed it."""
    _month_started(year, month, now)
    body, score = _text(text), _rating(rating)
    row = _row(session, agent.id, year, month, now)
    if row.supervisor_at is not None:
        raise Conflict("Your supervisor has already assessed this month; the self-assessment is closed.")
    row.self_text, row.self_rating, row.self_at, row.updated_at = body, score, now, now
    session.add(row)
    session.flush()
    return row


def write_supervisor_assessment(
    session: Session,
    agent: Agent,
    *,
    year: int,
    month: int,
    text: str,
    rating: Any,
    actor: Agent,
    now: datetime,
) -> SelfAssessment:
    """The supervisor's assessment beside the agent's (nobody assesses their own month)."""
    if actor.id == agent.id:
        raise Forbidden("You cannot write the supervisor's assessment of your own month.")
    _month_started(year, month, now)
    body, score = _text(text), _rating(rating)
    row = _row(session, agent.id, year, month, now)
    row.supervisor_text, row.supervisor_rating = body, score
    row.supervisor_id, row.supervisor_at, row.updated_at = actor.id, now, now
    session.add(row)
    session.flush()
    return row


# --- showing numbers -----------------------------------------------------------------------------


def format_value(value: Decimal | None, unit: str) -> str:
    """A KPI value or target in its unit ("—" when there is none)."""
    if value is None:
        return "—"
    if unit == "percent":
        return f"{value.quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}%"
    if unit == "seconds":
        seconds = int(value.to_integral_value(rounding=ROUND_HALF_UP))
        if seconds < 120:
            return f"{seconds} s"
        if seconds < 3600:
            return f"{seconds // 60} min {seconds % 60} s" if seconds % 60 else f"{seconds // 60} min"
        hours, minutes = seconds // 3600, seconds % 3600 // 60
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if unit == "money":
        return f"¥{value.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,}"
    if unit == "count":
        return f"{value.to_integral_value(rounding=ROUND_HALF_UP)}"
    return f"{value.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP).normalize():f}"
