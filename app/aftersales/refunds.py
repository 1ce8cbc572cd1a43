"""Refunding a case: the agent refund limit, the supervisor's approval, the money on the order.

An agent (or a write-scope API key) refunding more than the store's agent_refund_limit asks a
supervisor; the case stays where it is until the approval is decided. Supervisors, admins,
admin-scope keys, storefronts and the system refund directly. Every refund is audit-logged by
orders.service.record_refund; approvals by the audit service.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session, select

from app.accounts.models import Agent, ApiKey, Role, Scope
from app.aftersales import lifecycle
from app.aftersales.lifecycle import KIND_LABELS, CaseKind, CaseState
from app.aftersales.models import AftersalesCase
from app.aftersales.service import SUBJECT, _conflict, add_note, move, require_case
from app.audit import service as audit
from app.audit.models import Approval, ApprovalKind, ApprovalStatus
from app.audit.service import SYSTEM, Actor
from app.errors import Conflict, InvalidInput
from app.integrations.models import Store
from app.money import parse_money
from app.orders import service as orders


def bound_by_limit(session: Session, actor: Actor) -> bool:
    """Agents of the agent role and non-admin API keys need approval above the limit."""
    if actor.type == "agent":
        agent = session.get(Agent, actor.id) if actor.id is not None else None
        return agent is None or Role(agent.role) == Role.agent
    if actor.type == "api_key":
        key = session.get(ApiKey, actor.id) if actor.id is not None else None
        return key is None or Scope(key.scope) != Scope.admin
    return False


def pending_approval(session: Session, case: AftersalesCase) -> Approval | None:
    query = select(Approval).where(
        Approval.subject_type == SUBJECT,
        Approval.subject_id == case.id,
        Approval.kind == ApprovalKind.refund_over_limit,
        Approval.status == ApprovalStatus.pending,
    )
    return session.exec(query).first()


def _check(session: Session, case: AftersalesCase, amount: Any) -> Decimal:
    """Everything that must hold before money moves or an approval is asked for."""
    if not lifecycle.is_allowed(case.kind, case.state, CaseState.refunded):
        raise _conflict(case, CaseState.refunded)
    amount = parse_money(amount, field="amount")
    if amount <= 0:
        raise InvalidInput("A refund must be more than zero.", fields={"amount": "must be > 0"})
    order = orders.require_order(session, case.order_id)
    refundable = order.total - order.refunded_amount
    if amount > refundable:
        raise InvalidInput(
            "The refund {amount} is more than the {refundable} still refundable on this order.",
            fields={"amount": f"at most {refundable}"},
            amount=str(amount),
            refundable=str(refundable),
        )
    return amount


def _pay(
    session: Session, case: AftersalesCase, *, amount: Decimal, actor: Actor, now: datetime, note: str = ""
) -> AftersalesCase:
    order = orders.require_order(session, case.order_id)
    reason = f"after-sales case #{case.id} ({CaseKind(case.kind).value})"
    orders.record_refund(session, order, amount=amount, actor=actor, reason=reason, now=now)
    case.refunded_amount = case.refunded_amount + amount
    return move(session, case, to=CaseState.refunded, actor=actor, now=now, note=note or f"refunded {amount}")


def refund(
    session: Session, case: AftersalesCase, *, amount: Decimal | str, actor: Actor, now: datetime
) -> AftersalesCase:
    """Refund `amount` and move the case to refunded — or, above the actor's limit, ask a supervisor."""
    amount = _check(session, case, amount)
    if pending_approval(session, case) is not None:
        raise Conflict("A refund on this case is already waiting for a supervisor's approval.")
    store = session.get(Store, case.store_id)
    order = orders.require_order(session, case.order_id)
    # The limit covers everything refunded on the order, so splitting a refund over several
    # cases (or several refunds) cannot slip past the supervisor.
    if order.refunded_amount + amount > store.agent_refund_limit and bound_by_limit(session, actor):
        audit.request_approval(
            session,
            kind=ApprovalKind.refund_over_limit,
            subject_type=SUBJECT,
            subject_id=case.id,
            amount=amount,
            limit_amount=store.agent_refund_limit,
            currency=case.currency,
            reason=f"{KIND_LABELS[CaseKind(case.kind)]} · case #{case.id}",
            requested_by_id=actor.id if actor.type == "agent" else None,
            actor=actor,
            now=now,
        )
        add_note(session, case, actor=actor, note=f"refund of {amount} waits for a supervisor", now=now)
        return case
    return _pay(session, case, amount=amount, actor=actor, now=now)


def on_approval_decided(session: Session, *, now: datetime, approval: Approval, **_: Any) -> None:
    """approval.decided subscriber: pay an approved over-limit refund; note a rejected one."""
    if approval.kind != ApprovalKind.refund_over_limit or approval.subject_type != SUBJECT:
        return
    case = require_case(session, approval.subject_id)
    decider = Actor("agent", approval.decided_by_id) if approval.decided_by_id is not None else SYSTEM
    if approval.status == ApprovalStatus.approved:
        try:
            amount = _check(session, case, approval.amount)
        except (Conflict, InvalidInput) as exc:
            # The case moved on since the request: the decision stands, the money does not move.
            add_note(session, case, actor=decider, note=f"approved refund not paid: {exc.english()}", now=now)
            return
        _pay(session, case, amount=amount, actor=decider, now=now, note=f"refund of {amount} approved")
    elif approval.status == ApprovalStatus.rejected:
        note = f"refund of {approval.amount} rejected"
        if approval.decision_note:
            note = f"{note}: {approval.decision_note}"
        add_note(session, case, actor=decider, note=note, now=now)
