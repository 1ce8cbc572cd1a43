"""Follow-up rules: the defaults, validation, supervisor edits, and per-store quiet hours and caps."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from sqlalchemy import event
from sqlmodel import Session, select

from app.errors import InvalidInput, NotFound
from app.followups.models import Action, FollowupKind, FollowupRule, FollowupSettings, Trigger
from app.followups.quiet import DEFAULT_QUIET_END, DEFAULT_QUIET_START
from app.i18n import N_
from app.integrations.models import Store
from app.phrasing.categories import require_category
from app.tickets.models import TicketPriority

MAX_DELAY_MINUTES = 365 * 24 * 60
DEFAULT_CAP_DAYS = 14
DEFAULT_SURVEY_DAYS = 7
# The survey invitation's text lives with the survey (app.reviews.surveys, in the survey's locale);
# its rules carry this category key instead of a phrasing category.
SURVEY_CATEGORY = "csat_survey"
HHMM_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")

# Which triggers each kind of follow-up may hang on, and the conditions re-checked when due.
KIND_TRIGGERS: dict[FollowupKind, tuple[Trigger, ...]] = {
    FollowupKind.payment_reminder: (Trigger.order_created,),
    FollowupKind.reassurance: (Trigger.order_paid,),
    FollowupKind.shipping_notice: (Trigger.order_shipped,),
    FollowupKind.confirm_nudge: (Trigger.order_delivered,),
    FollowupKind.review_request: (Trigger.order_confirmed,),
    FollowupKind.review_thanks: (Trigger.review_posted,),
    FollowupKind.bad_review: (Trigger.review_posted,),
    FollowupKind.lost_lead: (Trigger.inquiry_lost,),
    FollowupKind.shipping_exception: (Trigger.order_shipped, Trigger.shipment_exception),
    FollowupKind.aftersales_deadline: (Trigger.case_opened, Trigger.case_updated),
    FollowupKind.care: tuple(t for t in Trigger if t != Trigger.revisit_plan),
    FollowupKind.csat_survey: (Trigger.ticket_solved,),
}
CONDITIONS: dict[FollowupKind, tuple[str, ...]] = {
    FollowupKind.payment_reminder: ("order_unpaid",),
    FollowupKind.reassurance: ("order_active",),
    FollowupKind.shipping_notice: ("order_active",),
    FollowupKind.confirm_nudge: ("order_not_confirmed",),
    FollowupKind.review_request: ("order_not_reviewed", "in_review_window", "not_opted_out"),
    FollowupKind.review_thanks: (),
    FollowupKind.bad_review: (),
    FollowupKind.lost_lead: ("inquiry_still_lost", "no_order_since", "not_opted_out"),
    FollowupKind.shipping_exception: ("order_not_delivered",),
    FollowupKind.aftersales_deadline: ("deadline_pending",),
    FollowupKind.care: ("not_opted_out",),
    FollowupKind.revisit: ("marketing_consent", "not_opted_out", "within_cap"),
    FollowupKind.csat_survey: ("ticket_still_solved", "survey_not_sent", "agent_replied", "not_opted_out"),
}
KIND_LABELS: dict[FollowupKind, str] = {
    FollowupKind.payment_reminder: N_("Payment reminder"),
    FollowupKind.reassurance: N_("Reassurance after payment"),
    FollowupKind.shipping_notice: N_("Shipping notice"),
    FollowupKind.confirm_nudge: N_("Confirm-receipt reminder"),
    FollowupKind.review_request: N_("Review request"),
    FollowupKind.review_thanks: N_("Thanks for a good review"),
    FollowupKind.bad_review: N_("Bad review handling"),
    FollowupKind.lost_lead: N_("Lost lead follow-up"),
    FollowupKind.shipping_exception: N_("Shipping exception"),
    FollowupKind.aftersales_deadline: N_("After-sales deadline"),
    FollowupKind.care: N_("Care follow-up"),
    FollowupKind.revisit: N_("Revisit"),
    FollowupKind.csat_survey: N_("Satisfaction survey"),
}
TRIGGER_LABELS: dict[Trigger, str] = {
    Trigger.inquiry_lost: N_("Inquiry lost"),
    Trigger.order_created: N_("Order created"),
    Trigger.order_paid: N_("Order paid"),
    Trigger.order_shipped: N_("Order shipped"),
    Trigger.order_delivered: N_("Order delivered"),
    Trigger.order_confirmed: N_("Receipt confirmed"),
    Trigger.review_posted: N_("Review posted"),
    Trigger.shipment_exception: N_("Carrier exception"),
    Trigger.case_opened: N_("After-sales case opened"),
    Trigger.case_updated: N_("After-sales case updated"),
    Trigger.case_closed: N_("After-sales case closed"),
    Trigger.ticket_solved: N_("Ticket solved"),
    Trigger.revisit_plan: N_("Revisit plan"),
}


@dataclass(frozen=True)
class DefaultRule:
    trigger: Trigger
    kind: FollowupKind
    delay_minutes: int | None
    category: str
    action: Action
    once: bool = True
    priority: str = "normal"
    extra_conditions: tuple[str, ...] = ()


DEFAULT_RULES: tuple[DefaultRule, ...] = (
    DefaultRule(Trigger.order_created, FollowupKind.payment_reminder, 30, "payment_reminder", Action.task),
    DefaultRule(Trigger.order_paid, FollowupKind.reassurance, 0, "payment_reassurance", Action.auto),
    DefaultRule(Trigger.order_shipped, FollowupKind.shipping_notice, 0, "shipping_notice", Action.auto),
    DefaultRule(Trigger.order_delivered, FollowupKind.confirm_nudge, 24 * 60, "confirm_receipt", Action.task),
    DefaultRule(Trigger.order_confirmed, FollowupKind.review_request, 24 * 60, "review_request", Action.auto),
    DefaultRule(
        Trigger.review_posted, FollowupKind.review_thanks, 0, "review_thanks", Action.auto, once=False
    ),
    DefaultRule(
        Trigger.review_posted,
        FollowupKind.bad_review,
        0,
        "bad_review_reply",
        Action.task,
        once=False,
        priority="high",
    ),
    DefaultRule(Trigger.inquiry_lost, FollowupKind.lost_lead, 2 * 24 * 60, "lost_lead", Action.task),
    # None: the store's own shipping_exception_days.
    DefaultRule(Trigger.order_shipped, FollowupKind.shipping_exception, None, "shipping_notice", Action.task),
    DefaultRule(
        Trigger.shipment_exception,
        FollowupKind.shipping_exception,
        0,
        "shipping_notice",
        Action.task,
        once=False,
        priority="high",
    ),
    # For deadlines the delay is the warning's lead time before the deadline.
    DefaultRule(
        Trigger.case_opened,
        FollowupKind.aftersales_deadline,
        12 * 60,
        "aftersales",
        Action.task,
        extra_conditions=("respond_by",),
    ),
    DefaultRule(
        Trigger.case_updated,
        FollowupKind.aftersales_deadline,
        12 * 60,
        "aftersales",
        Action.task,
        extra_conditions=("refund_by",),
    ),
    # Not once: a ticket reopened before its survey went out gets one when solved again; the
    # survey_not_sent condition keeps it to one survey per ticket.
    DefaultRule(
        Trigger.ticket_solved, FollowupKind.csat_survey, 10, SURVEY_CATEGORY, Action.auto, once=False
    ),
)


def ensure_default_rules(session: Session, *, now: datetime) -> list[FollowupRule]:
    """Insert the default rules when the rules table is empty (first use, the demo seed)."""
    if session.exec(select(FollowupRule.id).limit(1)).first() is not None:
        return []
    created = []
    for d in DEFAULT_RULES:
        rule = FollowupRule(
            trigger=d.trigger,
            kind=d.kind,
            delay_minutes=d.delay_minutes,
            category=d.category,
            action=d.action,
            priority=d.priority,
            once=d.once,
            enabled=True,
            conditions=list(CONDITIONS[d.kind] + d.extra_conditions),
            created_at=now,
            updated_at=now,
        )
        session.add(rule)
        created.append(rule)
    session.flush()
    return created


# The enabled rules by trigger, read once per transaction: one order event schedules for several
# triggers (created, paid, shipped …) and each used to probe and read the rules table again.
_RULES_KEY = "huitou_followup_rules"


def _rules_changed(session: Session) -> bool:
    return any(isinstance(o, FollowupRule) for o in (*session.new, *session.dirty, *session.deleted))


@event.listens_for(Session, "before_flush")
def _forget_rules(session: Session, _context: Any, _instances: Any) -> None:
    if _RULES_KEY in session.info and _rules_changed(session):
        del session.info[_RULES_KEY]


def rules_for(session: Session, trigger: Trigger, *, now: datetime) -> list[FollowupRule]:
    """The enabled rules of a trigger, in id order."""
    transaction = session.get_transaction()
    cached = session.info.get(_RULES_KEY)
    if cached is None or transaction is None or cached[0] is not transaction or _rules_changed(session):
        ensure_default_rules(session, now=now)
        by_trigger: dict[str, list[FollowupRule]] = defaultdict(list)
        query = select(FollowupRule).where(FollowupRule.enabled.is_(True)).order_by(FollowupRule.id)
        for rule in session.exec(query):
            by_trigger[rule.trigger].append(rule)
        cached = session.info[_RULES_KEY] = (session.get_transaction(), by_trigger)
    return list(cached[1].get(trigger, ()))


def list_rules(session: Session, *, now: datetime) -> list[FollowupRule]:
    ensure_default_rules(session, now=now)
    return list(session.exec(select(FollowupRule).order_by(FollowupRule.id)))


def require_rule(session: Session, rule_id: int) -> FollowupRule:
    rule = session.get(FollowupRule, rule_id)
    if rule is None:
        raise NotFound("Follow-up rule {id} does not exist.", id=rule_id)
    return rule


# --- validation --------------------------------------------------------------------------------


def _enum(enum_cls: Any, value: Any, field: str, errors: dict[str, str]) -> Any:
    try:
        return enum_cls(str(value).strip())
    except ValueError:
        errors[field] = f"one of: {', '.join(m.value for m in enum_cls)}"
        return None


def parse_delay(value: Any, errors: dict[str, str], *, allow_store_setting: bool) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if allow_store_setting:
            return None
        errors["delay_minutes"] = "required"
        return None
    try:
        if isinstance(value, (bool, float)):
            raise ValueError
        minutes = int(str(value).strip())
    except ValueError:
        errors["delay_minutes"] = "a whole number of minutes"
        return None
    if minutes < 0:
        errors["delay_minutes"] = "must not be negative"
    elif minutes > MAX_DELAY_MINUTES:
        errors["delay_minutes"] = f"at most {MAX_DELAY_MINUTES} (one year)"
    return minutes


def _check_category(value: Any, errors: dict[str, str]) -> str | None:
    try:
        return require_category(str(value or "")).key
    except InvalidInput as exc:
        errors["category"] = exc.fields["category"]
        return None


def _survey_rule(action: Action | None, errors: dict[str, str]) -> str:
    """A survey invitation is an automatic message with its own text (no phrasing category)."""
    if action is not None and action != Action.auto:
        errors["action"] = "a survey invitation is an automatic message"
    return SURVEY_CATEGORY


def _raise(errors: dict[str, str]) -> None:
    if errors:
        summary = "; ".join(f"{k}: {v}" for k, v in errors.items())
        raise InvalidInput("This follow-up rule is not valid — {summary}", fields=errors, summary=summary)


def create_rule(
    session: Session,
    *,
    trigger: Any,
    kind: Any,
    delay_minutes: Any,
    category: Any,
    action: Any,
    now: datetime,
    once: bool = True,
    priority: Any = "normal",
    enabled: bool = True,
) -> FollowupRule:
    errors: dict[str, str] = {}
    trigger = _enum(Trigger, trigger, "trigger", errors)
    kind = _enum(FollowupKind, kind, "kind", errors)
    if kind == FollowupKind.revisit:
        errors["kind"] = "revisits come from revisit plans"
    elif trigger is not None and kind is not None and trigger not in KIND_TRIGGERS[kind]:
        errors["trigger"] = f"{kind.value} follows: {', '.join(t.value for t in KIND_TRIGGERS[kind])}"
    delay = parse_delay(delay_minutes, errors, allow_store_setting=False)
    action = _enum(Action, action, "action", errors)
    if kind == FollowupKind.csat_survey:
        category = _survey_rule(action, errors)
    else:
        category = _check_category(category, errors)
    priority = _enum(TicketPriority, priority, "priority", errors)
    _raise(errors)
    extra: tuple[str, ...] = ()
    if kind == FollowupKind.aftersales_deadline:
        extra = ("respond_by",) if trigger == Trigger.case_opened else ("refund_by",)
    rule = FollowupRule(
        trigger=trigger,
        kind=kind,
        delay_minutes=delay,
        category=category,
        action=action,
        priority=priority.value,
        once=bool(once),
        enabled=bool(enabled),
        conditions=list(CONDITIONS[kind] + extra),
        created_at=now,
        updated_at=now,
    )
    session.add(rule)
    session.flush()
    return rule


def update_rule(
    session: Session,
    rule: FollowupRule,
    *,
    now: datetime,
    delay_minutes: Any,
    enabled: bool,
    action: Any,
    category: Any,
) -> FollowupRule:
    """What a supervisor edits: the delay, on/off, task or automatic, and the phrasing category.
    An empty delay keeps "the store's setting" for rules that have one."""
    errors: dict[str, str] = {}
    store_setting = rule.kind == FollowupKind.shipping_exception and rule.trigger == Trigger.order_shipped
    delay = parse_delay(delay_minutes, errors, allow_store_setting=store_setting)
    new_action = _enum(Action, action, "action", errors)
    if rule.kind == FollowupKind.csat_survey:
        new_category = _survey_rule(new_action, errors)
    else:
        new_category = _check_category(category, errors)
    _raise(errors)
    rule.delay_minutes = delay
    rule.enabled = bool(enabled)
    rule.action = new_action
    rule.category = new_category
    rule.updated_at = now
    session.add(rule)
    session.flush()
    return rule


# --- per-store settings ------------------------------------------------------------------------


@dataclass(frozen=True)
class StoreFollowupSettings:
    store_id: int
    timezone: str
    quiet_start: time
    quiet_end: time
    revisit_cap_days: int
    csat_expiry_days: int = DEFAULT_SURVEY_DAYS


def settings_for(session: Session, store: Store) -> StoreFollowupSettings:
    row = session.get(FollowupSettings, store.id)
    if row is None:
        return StoreFollowupSettings(
            store.id, store.timezone, DEFAULT_QUIET_START, DEFAULT_QUIET_END, DEFAULT_CAP_DAYS
        )
    return StoreFollowupSettings(
        store.id,
        store.timezone,
        _hhmm(row.quiet_start),
        _hhmm(row.quiet_end),
        row.revisit_cap_days,
        row.csat_expiry_days,
    )


def _hhmm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def update_settings(
    session: Session,
    store: Store,
    *,
    quiet_start: str,
    quiet_end: str,
    revisit_cap_days: Any,
    now: datetime,
    csat_expiry_days: Any = None,
) -> FollowupSettings:
    """Quiet hours, the revisit cap and how long survey links stay open (None: keep as is)."""
    errors: dict[str, str] = {}
    for name, value in (("quiet_start", quiet_start), ("quiet_end", quiet_end)):
        if not HHMM_RE.match((value or "").strip()):
            errors[name] = "a time as HH:MM, e.g. 22:00"
    try:
        cap = int(str(revisit_cap_days).strip())
        if not 1 <= cap <= 365:
            errors["revisit_cap_days"] = "from 1 to 365 days"
    except ValueError:
        errors["revisit_cap_days"] = "a whole number of days"
        cap = DEFAULT_CAP_DAYS
    survey_days = None
    if csat_expiry_days is not None and str(csat_expiry_days).strip():
        try:
            survey_days = int(str(csat_expiry_days).strip())
            if not 1 <= survey_days <= 60:
                errors["csat_expiry_days"] = "from 1 to 60 days"
        except ValueError:
            errors["csat_expiry_days"] = "a whole number of days"
    if errors:
        summary = "; ".join(f"{k}: {v}" for k, v in errors.items())
        raise InvalidInput(
            "These follow-up settings are not valid — {summary}", fields=errors, summary=summary
        )
    row = session.get(FollowupSettings, store.id) or FollowupSettings(store_id=store.id, updated_at=now)
    row.quiet_start = _hhmm(quiet_start.strip()).strftime("%H:%M")
    row.quiet_end = _hhmm(quiet_end.strip()).strftime("%H:%M")
    row.revisit_cap_days = cap
    if survey_days is not None:
        row.csat_expiry_days = survey_days
    row.updated_at = now
    session.add(row)
    session.flush()
    return row
