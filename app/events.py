"""Cross-domain effects, in one place: a domain emits a lifecycle event, subscribers react.

Subscribers run synchronously inside the emitter's transaction, so an effect is committed with
its cause or not at all. They are named as "module:function" strings, imported on first use, so
no domain imports another just to be told about it. Each handler is called as
`handler(session, now=now, **payload)`.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from sqlmodel import Session

# event name -> subscribers, in the order they run.
SUBSCRIBERS: dict[str, list[str]] = {
    # payload: order
    "order.created": [
        "app.customers.service:on_order_changed",
        "app.presale.service:on_order_created",
        "app.followups.schedule:on_order_created",
    ],
    # payload: order, from_stage, to_stage
    "order.stage_changed": [
        "app.customers.service:on_order_changed",
        "app.followups.schedule:on_order_stage_changed",
        "app.phrasing.stats:on_order_stage_changed",
    ],
    # payload: order (totals changed by a newer storefront report)
    "order.updated": ["app.customers.service:on_order_changed"],
    # payload: order, amount (a refund recorded on the order, partial or full)
    "order.refunded": ["app.customers.service:on_order_changed"],
    # payload: order, shipment (a carrier status such as failure / attempted_delivery / delayed)
    "shipment.exception": ["app.followups.schedule:on_shipment_exception"],
    # payload: review. A rating of 2 or less must open a 差评处理 ticket: the tickets domain subscribes here.
    "review.posted": ["app.followups.schedule:on_review_posted", "app.phrasing.stats:on_review_posted"],
    # payload: approval
    "approval.decided": [
        "app.presale.service:on_approval_decided",
        "app.aftersales.service:on_approval_decided",
    ],
    # payload: case, from_state, to_state
    "case.changed": [
        "app.integrations.outbound:on_case_changed",
        "app.followups.schedule:on_case_changed",
    ],
    # payload: inquiry (an inquiry won or lost; presale emits it when it closes one)
    "inquiry.closed": ["app.followups.schedule:on_inquiry_closed", "app.phrasing.stats:on_inquiry_closed"],
    # payload: ticket (the desk emits it when a ticket is solved)
    "ticket.solved": ["app.followups.schedule:on_ticket_solved"],
}

# Subscribers that only bring derived figures up to date from the database's state, with the
# payload entry they are about: inside `coalescing`, each runs once per such object at the end of
# the block instead of on every event (a storefront order arrives created and paid at once: one
# lifetime recomputation for its buyer).
COALESCED = {"app.customers.service:on_order_changed": "order"}
_COALESCING_KEY = "huitou_events_coalesced"

_resolved: dict[str, Callable[..., Any]] = {}


def _resolve(target: str) -> Callable[..., Any]:
    if target not in _resolved:
        module, _, name = target.partition(":")
        _resolved[target] = getattr(importlib.import_module(module), name)
    return _resolved[target]


def emit(session: Session, event: str, *, now: datetime, **payload: Any) -> None:
    if event not in SUBSCRIBERS:
        raise KeyError(f"unknown event {event!r}: add it to app.events.SUBSCRIBERS")
    deferred = session.info.get(_COALESCING_KEY)
    for target in SUBSCRIBERS[event]:
        if deferred is not None and target in COALESCED:
            key = (target, id(payload[COALESCED[target]]))
            deferred[key] = (target, now, payload)
            continue
        _resolve(target)(session, now=now, **payload)


@contextlib.contextmanager
def coalescing(session: Session) -> Iterator[None]:
    """Run the COALESCED subscribers of the events emitted in this block once each per payload, at
    its end (the latest call's arguments). Nested blocks join the outermost; on an error nothing
    deferred runs (the transaction is rolled back anyway)."""
    if session.info.get(_COALESCING_KEY) is not None:
        yield
        return
    deferred: dict[tuple[Any, ...], tuple[str, datetime, dict[str, Any]]] = {}
    session.info[_COALESCING_KEY] = deferred
    try:
        yield
    finally:
        session.info.pop(_COALESCING_KEY, None)
    for target, now, payload in deferred.values():
        _resolve(target)(session, now=now, **payload)
