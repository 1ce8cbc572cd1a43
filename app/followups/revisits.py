"""Revisit plans (回访): a segment, a calendar (relative cadence or named dates), a phrasing
category and an action. Consent, opt-out and the frequency cap are always honoured; a plan shows
its reach before it runs and its results after.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, select

from app.catalog.models import Product
from app.customers.models import Customer
from app.errors import InvalidInput, NotFound
from app.followups import calendar
from app.followups.models import (
    Action,
    CustomerDate,
    Followup,
    FollowupKind,
    FollowupStatus,
    RevisitPlan,
    Trigger,
)
from app.followups.rules import DEFAULT_CAP_DAYS, settings_for
from app.followups.schedule import due_for_auto, insert_followups
from app.i18n import N_
from app.integrations.models import Store
from app.orders.models import Order, OrderItem
from app.phrasing.categories import require_category
from app.tickets.models import MessageDirection, Ticket, TicketMessage

LOOKAHEAD = timedelta(days=7)  # the job materialises revisits due within the coming week
REPLAN_EVERY = timedelta(hours=1)
RESULT_WINDOW = timedelta(days=30)
SEGMENT_KEYS = ("category", "last_order_within_days", "min_vip_level", "min_total_spent")
SAMPLE = 50


# --- validation --------------------------------------------------------------------------------


def _int(value: Any, name: str, lo: int, hi: int, errors: dict[str, str], *, required: bool) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors[name] = "required"
        return None
    try:
        if isinstance(value, bool | float):
            raise ValueError
        number = int(str(value).strip())
    except ValueError:
        errors[name] = "a whole number"
        return None
    if not lo <= number <= hi:
        errors[name] = f"from {lo} to {hi}"
    return number


def validate_segment(session: Session, segment: Any, errors: dict[str, str]) -> dict[str, Any]:
    """A segment the database can evaluate, or field errors saying why not."""
    if segment is None:
        return {}
    if not isinstance(segment, dict):
        errors["segment"] = "must be an object of criteria"
        return {}
    clean: dict[str, Any] = {}
    for key, value in segment.items():
        name = f"segment.{key}"
        if key not in SEGMENT_KEYS:
            errors[name] = f"cannot be evaluated: unknown criterion (known: {', '.join(SEGMENT_KEYS)})"
        elif value is None or (isinstance(value, str) and not value.strip()):
            continue
        elif key == "category":
            category = str(value).strip()
            known = session.exec(select(Product.id).where(Product.category == category).limit(1)).first()
            if known is None:
                errors[name] = "no product has this category"
            clean[key] = category
        elif key == "min_total_spent":
            try:
                amount = Decimal(str(value).strip())
                if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
                    raise InvalidOperation
                clean[key] = str(amount.quantize(Decimal("0.01")))
            except InvalidOperation:
                errors[name] = "an amount of money, 0 or more"
        else:
            lo, hi = (0, 9) if key == "min_vip_level" else (1, 3650)
            number = _int(value, name, lo, hi, errors, required=True)
            if number is not None:
                clean[key] = number
    return clean


def _cap_days(session: Session, store_id: int | None) -> int:
    if store_id is None:
        return max([DEFAULT_CAP_DAYS, *[settings_for(session, s).revisit_cap_days for s in _stores(session)]])
    store = session.get(Store, store_id)
    return settings_for(session, store).revisit_cap_days if store else DEFAULT_CAP_DAYS


def _stores(session: Session) -> list[Store]:
    return list(session.exec(select(Store)))


def validate_plan(session: Session, data: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    name = str(data.get("name") or "").strip()
    if not name:
        errors["name"] = "required"
    elif len(name) > 100:
        errors["name"] = "at most 100 characters"
    store_id = data.get("store_id") or None
    if store_id is not None:
        store_id = _int(store_id, "store_id", 1, 2**31, errors, required=True)
        if store_id and session.get(Store, store_id) is None:
            errors["store_id"] = "unknown store"
    segment = validate_segment(session, data.get("segment") or {}, errors)
    schedule = str(data.get("schedule") or "").strip()
    first = repeat = None
    named: list[str] = []
    if schedule == "relative":
        first = _int(data.get("first_after_days"), "first_after_days", 0, 3650, errors, required=True)
        repeat = _int(data.get("repeat_days"), "repeat_days", 1, 3650, errors, required=False)
        cap = _cap_days(session, store_id)
        if repeat is not None and repeat < cap:
            errors["repeat_days"] = (
                f"the cadence ({repeat} days) is shorter than the frequency cap ({cap} days)"
            )
    elif schedule == "named":
        named = [str(n).strip() for n in (data.get("named_dates") or []) if str(n).strip()]
        unknown = [n for n in named if n not in calendar.NAMED_DATE_LABELS]
        if not named:
            errors["named_dates"] = "choose at least one date"
        elif unknown:
            errors["named_dates"] = f"unknown: {', '.join(unknown)}"
    else:
        errors["schedule"] = "relative or named"
    offset = _int(data.get("offset_days", 0) or 0, "offset_days", -30, 30, errors, required=False) or 0
    send_hour = _int(data.get("send_hour", 10), "send_hour", 0, 23, errors, required=True)
    try:
        category = require_category(str(data.get("category") or "")).key
    except InvalidInput as exc:
        errors["category"] = exc.fields["category"]
        category = None
    try:
        action = Action(str(data.get("action") or ""))
    except ValueError:
        errors["action"] = "task or auto"
        action = None
    if errors:
        summary = "; ".join(f"{k}: {v}" for k, v in errors.items())
        raise InvalidInput("This revisit plan is not valid — {summary}", fields=errors, summary=summary)
    return {
        "name": name,
        "store_id": store_id,
        "segment": segment,
        "schedule": schedule,
        "first_after_days": first,
        "repeat_days": repeat,
        "named_dates": named,
        "offset_days": offset,
        "send_hour": send_hour,
        "category": category,
        "action": action,
        "enabled": bool(data.get("enabled", True)),
    }


def create_plan(
    session: Session, *, data: dict[str, Any], now: datetime, created_by_id: int | None = None
) -> RevisitPlan:
    plan = RevisitPlan(
        **validate_plan(session, data), created_by_id=created_by_id, created_at=now, updated_at=now
    )
    session.add(plan)
    session.flush()
    return plan


def update_plan(session: Session, plan: RevisitPlan, *, data: dict[str, Any], now: datetime) -> RevisitPlan:
    for key, value in validate_plan(session, data).items():
        setattr(plan, key, value)
    plan.updated_at = now
    session.add(plan)
    session.flush()
    return plan


def require_plan(session: Session, plan_id: int) -> RevisitPlan:
    plan = session.get(RevisitPlan, plan_id)
    if plan is None:
        raise NotFound("Revisit plan {id} does not exist.", id=plan_id)
    return plan


def list_plans(session: Session) -> list[RevisitPlan]:
    return list(session.exec(select(RevisitPlan).order_by(RevisitPlan.id)))


def set_customer_date(
    session: Session, *, customer_id: int, month: int, day: int, now: datetime, label: str = "birthday"
) -> CustomerDate:
    try:
        date(2024, month, day)  # a leap year: 02-29 is a real date
    except (TypeError, ValueError) as exc:
        raise InvalidInput("Not a calendar date.", fields={"day": "month and day"}) from exc
    row = session.exec(
        select(CustomerDate).where(CustomerDate.customer_id == customer_id, CustomerDate.label == label)
    ).first() or CustomerDate(customer_id=customer_id, label=label, month=month, day=day, created_at=now)
    row.month, row.day = month, day
    session.add(row)
    session.flush()
    return row


# --- evaluation --------------------------------------------------------------------------------


@dataclass
class Candidate:
    customer_id: int
    nickname: str
    store_id: int
    next_at: datetime | None = None
    occasion: str = ""
    reason: str | None = None


@dataclass
class Reach:
    matched: int = 0
    eligible: int = 0
    skipped: Counter = field(default_factory=Counter)
    sample: list[Candidate] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _segment_query(plan: RevisitPlan, now: datetime) -> Any:
    seg = plan.segment or {}
    anchor = (
        select(Order.customer_id, sa.func.max(Order.confirmed_at).label("confirmed_at"))
        .where(Order.confirmed_at.is_not(None))
        .group_by(Order.customer_id)
        .subquery()
    )
    last_revisit = (
        select(Followup.customer_id, sa.func.max(Followup.handled_at).label("handled_at"))
        .where(Followup.kind == FollowupKind.revisit, Followup.status == FollowupStatus.done)
        .group_by(Followup.customer_id)
        .subquery()
    )
    query = (
        select(
            Customer.id,
            Customer.nickname,
            Customer.store_id,
            Customer.marketing_consent,
            Customer.opted_out_at,
            Customer.erased_at,
            anchor.c.confirmed_at,
            last_revisit.c.handled_at,
        )
        .outerjoin(anchor, anchor.c.customer_id == Customer.id)
        .outerjoin(last_revisit, last_revisit.c.customer_id == Customer.id)
    )
    if plan.store_id is not None:
        query = query.where(Customer.store_id == plan.store_id)
    if "category" in seg:
        bought = (
            select(Order.customer_id)
            .join(OrderItem, OrderItem.order_id == Order.id)
            .join(Product, Product.id == OrderItem.product_id)
            .where(Product.category == seg["category"])
        )
        query = query.where(Customer.id.in_(bought))
    if "last_order_within_days" in seg:
        query = query.where(
            Customer.last_order_at >= now - timedelta(days=int(seg["last_order_within_days"]))
        )
    if "min_vip_level" in seg:
        query = query.where(Customer.vip_level >= int(seg["min_vip_level"]))
    if "min_total_spent" in seg:
        query = query.where(Customer.total_spent >= Decimal(seg["min_total_spent"]))
    return query.order_by(Customer.id)


def _at(day: date, hour: int, tz: str) -> datetime:
    return datetime.combine(day, time(hour), ZoneInfo(tz)).astimezone(UTC)


def _occurrences(
    plan: RevisitPlan,
    *,
    tz: str,
    start: datetime,
    end: datetime,
    confirmed_at: datetime | None,
    own_date: tuple[int, int] | None,
    notes: set[str],
) -> list[tuple[datetime, str]]:
    """(send time, occasion) of the plan for one customer within [start, end], earliest first."""
    found: list[tuple[datetime, str]] = []
    if plan.schedule == "relative":
        if confirmed_at is None or plan.first_after_days is None:
            return []
        first = confirmed_at.astimezone(ZoneInfo(tz)).date() + timedelta(days=plan.first_after_days)
        day, step = first, plan.repeat_days
        while True:
            at = _at(day, plan.send_hour, tz)
            if at > end:
                break
            if at >= start:
                found.append((at, "relative"))
                break
            if not step:
                break
            skip = max(1, (start - at).days // step)
            day += timedelta(days=step * skip)
        return found
    local_start = start.astimezone(ZoneInfo(tz)).date()
    for year in range(local_start.year, end.year + 1):
        for name in plan.named_dates:
            if name in calendar.HOLIDAYS and not calendar.has_data(year):
                notes.add(str(year))  # a year the installed chinese-calendar has no holidays for
                continue
            day = calendar.named_date(year, name, own_date)
            if day is None:
                continue
            at = _at(day + timedelta(days=plan.offset_days), plan.send_hour, tz)
            if start <= at <= end:
                found.append((at, name))
    return sorted(found)


def _evaluate(
    session: Session, plan: RevisitPlan, *, now: datetime, horizon: timedelta, sample: int
) -> tuple[Reach, list[Candidate]]:
    reach = Reach()
    notes: set[str] = set()
    eligible: list[Candidate] = []
    stores = {s.id: s for s in _stores(session)}
    caps = {sid: settings_for(session, s).revisit_cap_days for sid, s in stores.items()}
    own_dates: dict[int, tuple[int, int]] = {}
    if calendar.CUSTOMER_DATE in plan.named_dates:
        for row in session.exec(select(CustomerDate).order_by(CustomerDate.id)):
            own_dates.setdefault(row.customer_id, (row.month, row.day))
    start = now - timedelta(days=1)  # a same-day occurrence planned late still goes out today
    for cid, nickname, store_id, consent, opted_out, erased, confirmed_at, last_done in session.exec(
        _segment_query(plan, now)
    ):
        reach.matched += 1
        candidate = Candidate(cid, nickname, store_id)
        tz = stores[store_id].timezone
        if erased is not None:
            candidate.reason = N_("customer erased")
        elif opted_out is not None:
            candidate.reason = N_("opted out")
        elif not consent:
            candidate.reason = N_("no marketing consent")
        else:
            if (
                plan.schedule == "named"
                and calendar.CUSTOMER_DATE in plan.named_dates
                and cid not in own_dates
            ) and plan.named_dates == [calendar.CUSTOMER_DATE]:
                candidate.reason = N_("no date known")
            if candidate.reason is None:
                times = _occurrences(
                    plan,
                    tz=tz,
                    start=start,
                    end=now + horizon,
                    confirmed_at=confirmed_at,
                    own_date=own_dates.get(cid),
                    notes=notes,
                )
                if not times:
                    candidate.reason = (
                        N_("no confirmed order")
                        if plan.schedule == "relative" and confirmed_at is None
                        else N_("no date in range")
                    )
                else:
                    candidate.next_at, candidate.occasion = times[0]
                    if last_done is not None and candidate.next_at - last_done < timedelta(
                        days=caps[store_id]
                    ):
                        candidate.reason = N_("cap reached")
        if candidate.reason:
            reach.skipped[candidate.reason] += 1
        else:
            reach.eligible += 1
            eligible.append(candidate)
        if len(reach.sample) < sample:
            reach.sample.append(candidate)
    reach.notes = sorted(notes)
    return reach, eligible


def reach(session: Session, plan: RevisitPlan, *, now: datetime, sample: int = SAMPLE) -> Reach:
    """Who the plan would contact at each customer's next date within a year, and who not and why."""
    return _evaluate(session, plan, now=now, horizon=timedelta(days=366), sample=sample)[0]


def materialise(session: Session, plan: RevisitPlan, *, now: datetime) -> int:
    """Create the plan's revisits due within the look-ahead (once per customer and date)."""
    if not plan.enabled:
        return 0
    return store_revisits(session, plan, revisit_rows(session, plan, now=now), now=now)


def revisit_rows(session: Session, plan: RevisitPlan, *, now: datetime) -> list[dict[str, Any]]:
    """The plan's revisits due within the look-ahead, as follow-up rows (reads only: at 250,000
    buyers this takes seconds, which the dispatch job spends outside any write transaction)."""
    _, eligible = _evaluate(session, plan, now=now, horizon=LOOKAHEAD, sample=0)
    stores = {s.id: s for s in _stores(session)}
    rows = []
    for c in eligible:
        due = max(c.next_at, now)
        if plan.action == Action.auto:
            due = due_for_auto(session, stores[c.store_id], due)
        rows.append(
            {
                "dedupe_key": f"p{plan.id}:c{c.customer_id}:{c.next_at:%Y%m%d}",
                "kind": FollowupKind.revisit.value,
                "trigger": Trigger.revisit_plan.value,
                "rule_id": None,
                "plan_id": plan.id,
                "store_id": c.store_id,
                "customer_id": c.customer_id,
                "category": plan.category,
                "action": Action(plan.action).value,
                "priority": "normal",
                "due_at": due,
                "status": FollowupStatus.pending.value,
                "reason": "",
                "message": "",
                "context": {"occasion": c.occasion, "holiday": calendar.NAMED_DATE_ZH.get(c.occasion, "")},
                "attempts": 0,
                "last_error": "",
                "created_at": now,
            }
        )
    return rows


STORE_CHUNK = 1000


def store_revisits(session: Session, plan: RevisitPlan, rows: list[dict[str, Any]], *, now: datetime) -> int:
    """Insert rows from revisit_rows (a customer's date already planned is skipped) and mark the
    plan planned."""
    inserted = 0
    for i in range(0, len(rows), STORE_CHUNK):
        inserted += insert_followups(session, rows[i : i + STORE_CHUNK])
    plan.last_planned_at = now
    session.add(plan)
    session.flush()
    return inserted


def plans_due(session: Session, *, now: datetime) -> list[RevisitPlan]:
    """Enabled plans not planned within the last hour."""
    query = (
        select(RevisitPlan)
        .where(RevisitPlan.enabled.is_(True))
        .where(
            sa.or_(RevisitPlan.last_planned_at.is_(None), RevisitPlan.last_planned_at <= now - REPLAN_EVERY)
        )
    )
    return list(session.exec(query.order_by(RevisitPlan.id)))


def plan_due(session: Session, *, now: datetime) -> int:
    """Materialise every enabled plan not planned within the last hour."""
    return sum(materialise(session, plan, now=now) for plan in plans_due(session, now=now))


# --- results -----------------------------------------------------------------------------------


@dataclass
class Results:
    by_status: dict[str, int]
    skipped: dict[str, int]
    contacted: int
    replied: int
    repurchased: int


def results(session: Session, plan: RevisitPlan) -> Results:
    """What the plan did: contacted, skipped and why, replies and repurchases within 30 days."""
    counts = session.exec(
        select(Followup.status, Followup.reason, sa.func.count())
        .where(Followup.plan_id == plan.id)
        .group_by(Followup.status, Followup.reason)
    ).all()
    by_status: Counter = Counter()
    skipped: Counter = Counter()
    for status, reason, n in counts:
        by_status[str(getattr(status, "value", status))] += n
        if status == FollowupStatus.skipped:
            skipped[reason] += n
    done = list(
        session.exec(
            select(Followup.customer_id, Followup.handled_at).where(
                Followup.plan_id == plan.id, Followup.status == FollowupStatus.done
            )
        )
    )
    replied = repurchased = 0
    for i in range(0, len(done), 500):
        chunk = done[i : i + 500]
        ids = {cid for cid, _ in chunk}
        orders: dict[int, list[datetime]] = {}
        for cid, placed in session.exec(
            select(Order.customer_id, Order.placed_at).where(Order.customer_id.in_(ids))
        ):
            orders.setdefault(cid, []).append(placed)
        replies: dict[int, list[datetime]] = {}
        for cid, at in session.exec(
            select(Ticket.customer_id, TicketMessage.created_at)
            .join(Ticket, Ticket.id == TicketMessage.ticket_id)
            .where(Ticket.customer_id.in_(ids), TicketMessage.direction == MessageDirection.inbound)
        ):
            replies.setdefault(cid, []).append(at)
        for cid, handled in chunk:
            window = (handled, handled + RESULT_WINDOW)
            if any(window[0] < t <= window[1] for t in orders.get(cid, [])):
                repurchased += 1
            if any(window[0] < t <= window[1] for t in replies.get(cid, [])):
                replied += 1
    return Results(dict(by_status), dict(skipped), len(done), replied, repurchased)
