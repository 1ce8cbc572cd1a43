"""The order lifecycle as data: stages, their order, and the moves allowed between them.

Pure: no database, no clock. `orders.service.advance` is the one door that applies it.
"""

from __future__ import annotations

import enum

from app.i18n import N_


class Stage(enum.StrEnum):
    ordered = "ordered"
    paid = "paid"
    shipped = "shipped"
    delivered = "delivered"
    confirmed = "confirmed"
    review_requested = "review_requested"
    reviewed = "reviewed"
    cancelled = "cancelled"
    refunded = "refunded"


class ActorType(enum.StrEnum):
    agent = "agent"
    storefront = "storefront"
    system = "system"


# The buyer's path; "forward" means later in this list.
SEQUENCE: tuple[Stage, ...] = (
    Stage.ordered,
    Stage.paid,
    Stage.shipped,
    Stage.delivered,
    Stage.confirmed,
    Stage.review_requested,
    Stage.reviewed,
)
TERMINAL = frozenset({Stage.cancelled, Stage.refunded})

# One step at a time. Shipped → confirmed covers auto-confirmation without a delivery scan;
# confirmed → reviewed covers a buyer who reviews before being asked.
ALLOWED: dict[Stage, tuple[Stage, ...]] = {
    Stage.ordered: (Stage.paid, Stage.cancelled),
    Stage.paid: (Stage.shipped, Stage.cancelled, Stage.refunded),
    Stage.shipped: (Stage.delivered, Stage.confirmed, Stage.refunded),
    Stage.delivered: (Stage.confirmed, Stage.refunded),
    Stage.confirmed: (Stage.review_requested, Stage.reviewed, Stage.refunded),
    Stage.review_requested: (Stage.reviewed, Stage.refunded),
    Stage.reviewed: (Stage.refunded,),
    Stage.cancelled: (),
    Stage.refunded: (),
}

# The order column that records when each stage was reached.
TIMESTAMP_FIELD: dict[Stage, str] = {
    Stage.ordered: "placed_at",
    Stage.paid: "paid_at",
    Stage.shipped: "shipped_at",
    Stage.delivered: "delivered_at",
    Stage.confirmed: "confirmed_at",
    Stage.review_requested: "review_requested_at",
    Stage.reviewed: "reviewed_at",
    Stage.cancelled: "cancelled_at",
    Stage.refunded: "refunded_at",
}


def manual_next(current: Stage) -> tuple[Stage, ...]:
    """The moves a person may ask for. `refunded` is reached only by recording the money
    (orders.service.record_refund, usually through an after-sales case), never by a click."""
    return tuple(stage for stage in ALLOWED[current] if stage != Stage.refunded)


def is_allowed(current: Stage, to: Stage) -> bool:
    return to in ALLOWED[current]


def is_behind(current: Stage, to: Stage) -> bool:
    """`to` is a stage the order has already passed (or is at): a late event, not a move."""
    return current in SEQUENCE and to in SEQUENCE and SEQUENCE.index(to) <= SEQUENCE.index(current)


def catch_up_path(current: Stage, to: Stage) -> list[Stage] | None:
    """The stages to pass through, one allowed step at a time, to reach a later `to`.

    Storefronts skip events (a cash-on-delivery order ships before it is paid; deliveries arrive
    out of order); they may move an order forward several steps at once. None if unreachable.
    """
    if current not in SEQUENCE or to not in SEQUENCE:
        return None
    start, end = SEQUENCE.index(current), SEQUENCE.index(to)
    if end <= start:
        return None
    path: list[Stage] = []
    here = current
    while here != to:
        # Prefer a direct allowed jump to the target, else the next stage in the sequence.
        step = to if to in ALLOWED[here] else SEQUENCE[SEQUENCE.index(here) + 1]
        if step not in ALLOWED[here]:
            return None
        path.append(step)
        here = step
    return path


STAGE_LABELS: dict[Stage, str] = {
    Stage.ordered: N_("Ordered"),
    Stage.paid: N_("Paid"),
    Stage.shipped: N_("Shipped"),
    Stage.delivered: N_("Delivered"),
    Stage.confirmed: N_("Receipt confirmed"),
    Stage.review_requested: N_("Review requested"),
    Stage.reviewed: N_("Reviewed"),
    Stage.cancelled: N_("Cancelled"),
    Stage.refunded: N_("Refunded"),
}


def steps(order_stage: Stage, timestamps: dict[Stage, object]) -> list[dict[str, object]]:
    """The visual timeline: each stage of the path as done / current / todo, with its time."""
    order_stage = Stage(order_stage)
    reached = (
        SEQUENCE.index(order_stage)
        if order_stage in SEQUENCE
        else max((SEQUENCE.index(s) for s in SEQUENCE if timestamps.get(s)), default=0)
    )
    result = []
    for index, stage in enumerate(SEQUENCE):
        state = (
            "done"
            if index < reached
            else "current"
            if index == reached and order_stage in SEQUENCE
            else "todo"
        )
        if order_stage not in SEQUENCE and index <= reached:
            state = "done"
        result.append(
            {"stage": stage, "label": STAGE_LABELS[stage], "at": timestamps.get(stage), "state": state}
        )
    if order_stage in TERMINAL:
        result.append(
            {
                "stage": order_stage,
                "label": STAGE_LABELS[order_stage],
                "at": timestamps.get(order_stage),
                "state": "terminal",
            }
        )
    return result
