"""After-sales factories built on the real services."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from app.aftersales import service
from app.aftersales.lifecycle import OUTCOME, CaseKind, CaseReason, CaseState
from app.audit.service import Actor
from app.orders.lifecycle import Stage
from tests.factories import T0, make_agent
from tests.orders.helpers import make_order

# The path each kind walks from requested to its outcome.
PATHS: dict[CaseKind, list[CaseState]] = {
    kind: [CaseState.approved]
    + (
        [CaseState.awaiting_return, CaseState.return_received]
        if kind in (CaseKind.return_refund, CaseKind.exchange)
        else []
    )
    + [OUTCOME[kind]]
    for kind in CaseKind
}


def make_case(
    db,
    *,
    order=None,
    kind=CaseKind.return_refund,
    reason=CaseReason.quality,
    requested_amount=Decimal("0.00"),
    actor=None,
    now=T0,
    **order_overrides,
):
    order = order or make_order(db, stage=order_overrides.pop("stage", Stage.delivered), **order_overrides)
    actor = actor or Actor.agent(make_agent(db))
    return service.open_case(
        db,
        order=order,
        kind=kind,
        reason=reason,
        description="尺码偏小想换大一号",
        requested_amount=requested_amount,
        actor=actor,
        now=now,
    )


def walk(db, case, until: CaseState, *, actor, now=T0, step=timedelta(hours=1)):
    """Move `case` along its kind's path (through the service) until it reaches `until`."""
    if until == CaseState.requested:
        return case
    path = [CaseState.rejected] if until == CaseState.rejected else list(PATHS[CaseKind(case.kind)])
    if until == CaseState.closed:
        path.append(CaseState.closed)
    at = now
    for state in path:
        at = at + step
        if state == CaseState.refunded:
            service.refund(db, case, amount=case.requested_amount or Decimal("1.00"), actor=actor, now=at)
        else:
            service.move(db, case, to=state, actor=actor, now=at)
        if state == until:
            break
    return case
