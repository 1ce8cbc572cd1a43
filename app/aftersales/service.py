"""After-sales cases: opening one, the one door for state changes (move), deadlines, read models.

Refunds and their supervisor approval live in refunds.py; `refund` and `on_approval_decided`
are re-exported here so other domains name one module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import Session, select

from app.aftersales import lifecycle, policy
from app.aftersales.lifecycle import CaseKind, CaseReason, CaseState
from app.aftersales.models import AftersalesCase, CaseHistoryEntry
from app.audit.models import Approval
from app.audit.service import Actor
from app.errors import Conflict, InvalidInput, NotFound
from app.events import emit
from app.integrations.models import Store
from app.money import parse_money
from app.orders.lifecycle import Stage
from app.orders.models import Order
from app.pagination import Rows, paginate

MAX_DESCRIPTION = 2000
UNPAID = frozenset({Stage.ordered, Stage.cancelled})
SUBJECT = "aftersales_case"


# --- reading ---------------------------------------------------------------------------------


def get_case(session: Session, case_id: int) -> AftersalesCase | None:
    return session.get(AftersalesCase, case_id)


def require_case(session: Session, case_id: int) -> AftersalesCase:
    case = get_case(session, case_id)
    if case is None:
        raise NotFound("After-sales case {id} does not exist.", id=case_id)
    return case


def history_for(session: Session, case_id: int) -> list[CaseHistoryEntry]:
    query = select(CaseHistoryEntry).where(CaseHistoryEntry.case_id == case_id)
    return list(session.exec(query.order_by(CaseHistoryEntry.occurred_at, CaseHistoryEntry.id)))


def approvals_for(session: Session, case_id: int) -> list[Approval]:
    query = select(Approval).where(Approval.subject_type == SUBJECT, Approval.subject_id == case_id)
    return list(session.exec(query.order_by(Approval.id)))


def overdue(case: AftersalesCase, now: datetime) -> dict[str, bool]:
    """Which due times have passed while the work they measure is still undone."""
    state = CaseState(case.state)
    respond = state == CaseState.requested and case.respond_by_at is not None and now > case.respond_by_at
    awaiting_refund = state == CaseState.return_received or (
        state == CaseState.approved and lifecycle.refund_after_decision(case.kind)
    )
    refund = awaiting_refund and case.refund_by_at is not None and now > case.refund_by_at
    return {"respond": respond, "refund": refund}


@dataclass
class CaseView:
    """A case as pages show it: the row (attributes pass through) plus what is derived from it."""

    row: AftersalesCase
    order_number: str = ""
    respond_overdue: bool = False
    refund_overdue: bool = False
    pending_approval: Approval | None = None
    allowed_next: tuple[CaseState, ...] = field(default_factory=tuple)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.row, name)

    @property
    def overdue(self) -> bool:
        return self.respond_overdue or self.refund_overdue

    @property
    def recommendation_text(self) -> str:
        return policy.explain(self.row.recommendation)

    @property
    def kind_label(self) -> str:
        return lifecycle.KIND_LABELS[CaseKind(self.row.kind)]

    @property
    def reason_label(self) -> str:
        return lifecycle.REASON_LABELS[CaseReason(self.row.reason)]

    @property
    def state_label(self) -> str:
        return lifecycle.STATE_LABELS[CaseState(self.row.state)]

    @property
    def moves(self) -> list[tuple[str, str]]:
        """(state, button msgid) for the moves a button makes; refunding needs the amount form."""
        return [(s.value, lifecycle.MOVE_LABELS[s]) for s in self.allowed_next if s != CaseState.refunded]

    @property
    def can_refund(self) -> bool:
        return CaseState.refunded in self.allowed_next and self.pending_approval is None


def case_views(session: Session, cases: list[AftersalesCase], *, now: datetime) -> list[CaseView]:
    """Views of many cases in three queries, whatever their number."""
    if not cases:
        return []
    ids = [c.id for c in cases]
    query = select(Order.id, Order.number).where(Order.id.in_({c.order_id for c in cases}))
    numbers = {order_id: number for order_id, number in session.exec(query)}
    pending: dict[int, Approval] = {}
    query = select(Approval).where(
        Approval.subject_type == SUBJECT, Approval.subject_id.in_(ids), Approval.status == "pending"
    )
    for approval in session.exec(query):
        pending[approval.subject_id] = approval
    views = []
    for case in cases:
        late = overdue(case, now)
        views.append(
            CaseView(
                row=case,
                order_number=numbers.get(case.order_id, ""),
                respond_overdue=late["respond"],
                refund_overdue=late["refund"],
                pending_approval=pending.get(case.id),
                allowed_next=lifecycle.allowed_next(case.kind, case.state),
            )
        )
    return views


def case_view(session: Session, case: AftersalesCase, *, now: datetime) -> CaseView:
    return case_views(session, [case], now=now)[0]


def cases_for_customer(session: Session, customer_id: int, *, now: datetime) -> list[CaseView]:
    """A buyer's cases, newest first. `now` decides overdue highlighting (the caller's clock)."""
    query = select(AftersalesCase).where(AftersalesCase.customer_id == customer_id)
    cases = list(session.exec(query.order_by(AftersalesCase.requested_at.desc(), AftersalesCase.id.desc())))
    return case_views(session, cases, now=now)


def cases_for_order(session: Session, order_id: int, *, now: datetime) -> list[CaseView]:
    query = select(AftersalesCase).where(AftersalesCase.order_id == order_id)
    return case_views(session, list(session.exec(query.order_by(AftersalesCase.id.desc()))), now=now)


def _parse(enum_cls: Any, value: Any, name: str) -> Any:
    try:
        return enum_cls(value)
    except ValueError as exc:
        allowed = " | ".join(m.value for m in enum_cls)
        raise InvalidInput(
            "{value} is not one of: {allowed}.", fields={name: allowed}, value=value, allowed=allowed
        ) from exc


def list_cases(
    session: Session,
    *,
    cursor: str | None = None,
    limit: int = 50,
    store_id: int | None = None,
    state: CaseState | str | None = None,
    kind: CaseKind | str | None = None,
    customer_id: int | None = None,
    order_id: int | None = None,
    updated_since: datetime | None = None,
) -> Rows[AftersalesCase]:
    """Filtered cases, newest first (the API's list)."""
    query = select(AftersalesCase)
    if store_id is not None:
        query = query.where(AftersalesCase.store_id == store_id)
    if state:
        query = query.where(AftersalesCase.state == _parse(CaseState, state, "state"))
    if kind:
        query = query.where(AftersalesCase.kind == _parse(CaseKind, kind, "kind"))
    if customer_id is not None:
        query = query.where(AftersalesCase.customer_id == customer_id)
    if order_id is not None:
        query = query.where(AftersalesCase.order_id == order_id)
    if updated_since is not None:
        if updated_since.tzinfo is None:
            raise InvalidInput(
                "updated_since needs a time zone, e.g. 2026-11-11T00:00:00Z.",
                fields={"updated_since": "aware"},
            )
        query = query.where(AftersalesCase.updated_at >= updated_since)
    return paginate(session, query, AftersalesCase.id, cursor=cursor, limit=limit)


def work_queue(
    session: Session,
    *,
    now: datetime,
    state: CaseState | str | None = None,
    kind: CaseKind | str | None = None,
    limit: int = 100,
) -> list[CaseView]:
    """The /cases page: overdue first, then the oldest due time; open cases unless a state is asked."""
    query = select(AftersalesCase)
    if state:
        query = query.where(AftersalesCase.state == _parse(CaseState, state, "state"))
    else:
        query = query.where(AftersalesCase.state.in_(list(lifecycle.OPEN_STATES)))
    if kind:
        query = query.where(AftersalesCase.kind == _parse(CaseKind, kind, "kind"))
    # The indexed (state, respond_by_at) order bounds the rows; overdue ones are lifted after.
    query = query.order_by(AftersalesCase.respond_by_at, AftersalesCase.id).limit(limit)
    views = case_views(session, list(session.exec(query)), now=now)
    far = datetime.max.replace(tzinfo=now.tzinfo)
    return sorted(views, key=lambda v: (not v.overdue, v.refund_by_at or v.respond_by_at or far))


# --- opening ---------------------------------------------------------------------------------


def open_case(
    session: Session,
    *,
    order: Order,
    kind: CaseKind | str,
    reason: CaseReason | str,
    description: str = "",
    requested_amount: Decimal | str = Decimal("0.00"),
    actor: Actor,
    now: datetime,
    requested_at: datetime | None = None,
    external_id: str | None = None,
) -> AftersalesCase:
    """A buyer's after-sales request on a paid order; validated whole before anything is written."""
    if Stage(order.stage) in UNPAID:
        raise Conflict(
            "Order {number} is {stage}: an after-sales case needs a paid order.",
            number=order.number,
            stage=Stage(order.stage).value,
        )
    kind = _parse(CaseKind, kind, "kind")
    reason = _parse(CaseReason, reason, "reason")
    amount = parse_money(requested_amount, field="requested_amount")
    refundable = order.total - order.refunded_amount
    if amount > refundable:
        raise InvalidInput(
            "The requested amount {amount} is more than the {refundable} still refundable on this order.",
            fields={"requested_amount": f"at most {refundable}"},
            amount=str(amount),
            refundable=str(refundable),
        )
    description = (description or "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput(
            "The description is longer than {max} characters.",
            fields={"description": f"at most {MAX_DESCRIPTION}"},
            max=MAX_DESCRIPTION,
        )
    store = session.get(Store, order.store_id)
    requested_at = requested_at or now
    days = None
    if order.delivered_at is not None:
        days = (requested_at - order.delivered_at).total_seconds() / 86400
    advice = policy.recommend(kind, reason, days_since_delivery=days)
    case = AftersalesCase(
        order_id=order.id,
        customer_id=order.customer_id,
        store_id=order.store_id,
        external_id=(external_id or "").strip()[:64] or None,
        kind=kind,
        reason=reason,
        state=CaseState.requested,
        description=description,
        currency=order.currency,
        requested_amount=amount,
        recommendation=advice.code,
        opened_by_id=actor.id if actor.type == "agent" else None,
        requested_at=requested_at,
        respond_by_at=requested_at + timedelta(hours=store.aftersales_respond_hours),
        created_at=now,
        updated_at=now,
    )
    session.add(case)
    session.flush()
    _history(session, case, None, CaseState.requested, actor, "case opened", requested_at)
    session.flush()
    emit(session, "case.changed", now=now, case=case, from_state=None, to_state=CaseState.requested)
    return case


# --- the one door for states -----------------------------------------------------------------


def _history(
    session: Session,
    case: AftersalesCase,
    from_state: CaseState | None,
    to_state: CaseState,
    actor: Actor,
    note: str,
    at: datetime,
) -> None:
    actor_type = actor.type if actor.type in ("agent", "storefront", "system") else "storefront"
    session.add(
        CaseHistoryEntry(
            case_id=case.id,
            from_state=from_state,
            to_state=to_state,
            actor_type=actor_type,
            actor_id=actor.id,
            note=(note or "")[:500],
            occurred_at=at,
        )
    )


def add_note(session: Session, case: AftersalesCase, *, actor: Actor, note: str, now: datetime) -> None:
    """A history row that changes no state (e.g. a supervisor turned a refund down)."""
    state = CaseState(case.state)
    _history(session, case, state, state, actor, note, now)
    case.updated_at = now
    session.add(case)
    session.flush()


def _conflict(case: AftersalesCase, to: CaseState) -> Conflict:
    allowed = ", ".join(s.value for s in lifecycle.allowed_next(case.kind, case.state)) or "none (closed)"
    return Conflict(
        "A {kind} case cannot move from {current} to {to}. Allowed next: {allowed}.",
        kind=CaseKind(case.kind).value,
        current=CaseState(case.state).value,
        to=to.value,
        allowed=allowed,
    )


def move(
    session: Session,
    case: AftersalesCase,
    *,
    to: CaseState | str,
    actor: Actor,
    now: datetime,
    note: str = "",
) -> AftersalesCase:
    """Move a case to its next state, the only way a state changes; writes a history row."""
    to = _parse(CaseState, to, "to")
    current = CaseState(case.state)
    if not lifecycle.is_allowed(case.kind, current, to):
        raise _conflict(case, to)
    if to == CaseState.refunded and case.refunded_amount <= 0:
        raise Conflict("A case becomes refunded by recording the refund with its amount.")
    store = session.get(Store, case.store_id)
    refund_hours = timedelta(hours=store.aftersales_refund_hours)
    if to in (CaseState.approved, CaseState.rejected):
        case.decided_at = now
        if to == CaseState.rejected:
            case.decided_in_buyer_favour = False
        elif lifecycle.refund_after_decision(case.kind):
            case.refund_by_at = now + refund_hours
    elif to == CaseState.return_received:
        case.return_received_at = now
        case.refund_by_at = now + refund_hours
    elif to in lifecycle.OUTCOMES:
        case.resolved_at = now
        case.decided_in_buyer_favour = True
    elif to == CaseState.closed:
        case.closed_at = now
    case.state = to
    case.updated_at = now
    session.add(case)
    _history(session, case, current, to, actor, note, now)
    session.flush()
    emit(session, "case.changed", now=now, case=case, from_state=current, to_state=to)
    return case


def refund(
    session: Session, case: AftersalesCase, *, amount: Decimal | str, actor: Actor, now: datetime
) -> AftersalesCase:
    from app.aftersales import refunds  # late: refunds builds on this module

    return refunds.refund(session, case, amount=amount, actor=actor, now=now)


def on_approval_decided(session: Session, *, now: datetime, approval: Approval, **_: Any) -> None:
    from app.aftersales import refunds

    refunds.on_approval_decided(session, now=now, approval=approval)
