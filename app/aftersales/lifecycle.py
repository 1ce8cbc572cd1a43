"""The after-sales case lifecycle as data: kinds, reasons, states. Pure; the service applies it."""

from __future__ import annotations

import enum

from app.i18n import N_


class CaseKind(enum.StrEnum):
    return_refund = "return_refund"  # 退货退款
    exchange = "exchange"  # 换货
    refund_only = "refund_only"  # 仅退款
    resend = "resend"  # 补发
    price_adjustment = "price_adjustment"  # 价格补差


class CaseReason(enum.StrEnum):
    quality = "quality"
    wrong_item = "wrong_item"
    size_fit = "size_fit"
    damaged_in_transit = "damaged_in_transit"
    not_as_described = "not_as_described"
    seven_day_no_reason = "seven_day_no_reason"  # 七天无理由
    other = "other"


class CaseState(enum.StrEnum):
    requested = "requested"
    approved = "approved"
    rejected = "rejected"
    awaiting_return = "awaiting_return"
    return_received = "return_received"
    refunded = "refunded"
    exchanged = "exchanged"
    resent = "resent"
    closed = "closed"


# The outcome each kind resolves to, and the kinds whose goods come back to the shop first.
OUTCOME: dict[CaseKind, CaseState] = {
    CaseKind.return_refund: CaseState.refunded,
    CaseKind.exchange: CaseState.exchanged,
    CaseKind.refund_only: CaseState.refunded,
    CaseKind.resend: CaseState.resent,
    CaseKind.price_adjustment: CaseState.refunded,
}
NEEDS_RETURN = frozenset({CaseKind.return_refund, CaseKind.exchange})
OUTCOMES = frozenset({CaseState.refunded, CaseState.exchanged, CaseState.resent})
# A case in one of these states is still somebody's work.
OPEN_STATES = frozenset(
    {CaseState.requested, CaseState.approved, CaseState.awaiting_return, CaseState.return_received}
)


def allowed_next(kind: CaseKind | str, state: CaseState | str) -> tuple[CaseState, ...]:
    """The states a case of `kind` may move to from `state` (empty: nothing more to do)."""
    kind, state = CaseKind(kind), CaseState(state)
    outcome = OUTCOME[kind]
    returns = kind in NEEDS_RETURN
    if state == CaseState.requested:
        return (CaseState.approved, CaseState.rejected)
    if state == CaseState.approved:
        return (CaseState.awaiting_return,) if returns else (outcome,)
    if state == CaseState.awaiting_return:
        return (CaseState.return_received,) if returns else ()
    if state == CaseState.return_received:
        return (outcome,) if returns else ()
    if state == CaseState.rejected or state == outcome:
        return (CaseState.closed,)
    return ()


def is_allowed(kind: CaseKind | str, state: CaseState | str, to: CaseState | str) -> bool:
    return CaseState(to) in allowed_next(kind, state)


def refund_after_decision(kind: CaseKind | str) -> bool:
    """Kinds refunded without waiting for goods: their refund clock starts at the decision."""
    kind = CaseKind(kind)
    return kind not in NEEDS_RETURN and OUTCOME[kind] == CaseState.refunded


KIND_LABELS: dict[CaseKind, str] = {
    CaseKind.return_refund: N_("Return and refund"),
    CaseKind.exchange: N_("Exchange"),
    CaseKind.refund_only: N_("Refund only"),
    CaseKind.resend: N_("Resend"),
    CaseKind.price_adjustment: N_("Price adjustment"),
}
REASON_LABELS: dict[CaseReason, str] = {
    CaseReason.quality: N_("Quality problem"),
    CaseReason.wrong_item: N_("Wrong item sent"),
    CaseReason.size_fit: N_("Size or fit"),
    CaseReason.damaged_in_transit: N_("Damaged in transit"),
    CaseReason.not_as_described: N_("Not as described"),
    CaseReason.seven_day_no_reason: N_("Seven-day no-reason return"),
    CaseReason.other: N_("Other"),
}
STATE_LABELS: dict[CaseState, str] = {
    CaseState.requested: N_("Requested"),
    CaseState.approved: N_("Approved"),
    CaseState.rejected: N_("Rejected"),
    CaseState.awaiting_return: N_("Awaiting return"),
    CaseState.return_received: N_("Return received"),
    CaseState.refunded: N_("Refunded"),
    CaseState.exchanged: N_("Exchanged"),
    CaseState.resent: N_("Resent"),
    CaseState.closed: N_("Closed"),
}
# The button an agent presses to move a case into each state.
MOVE_LABELS: dict[CaseState, str] = {
    CaseState.approved: N_("Approve"),
    CaseState.rejected: N_("Reject"),
    CaseState.awaiting_return: N_("Send return address"),
    CaseState.return_received: N_("Return received"),
    CaseState.refunded: N_("Refund"),
    CaseState.exchanged: N_("Replacement sent"),
    CaseState.resent: N_("Resent"),
    CaseState.closed: N_("Close case"),
}
