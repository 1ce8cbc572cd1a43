"""Cross-domain effects, in one place: a domain emits a lifecycle event, subscribers react.

Subscribers run synchronously inside the emitter's transaction, so an effect is committed with
its cause or not at all. They are named as "module:function" strings, imported on first use, so
no domain imports another just to be told about it. Each handler is called as
`handler(session, now=now, **payload)`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
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

_resolved: dict[str, Callable[..., Any]] = {}


def _resolve(target: str) -> Callable[..., Any]:
    if target not in _resolved:
        module, _, name = target.partition(":")
        _resolved[target] = getattr(importlib.import_module(module), name)
    return _resolved[target]


def emit(session: Session, event: str, *, now: datetime, **payload: Any) -> None:
    if event not in SUBSCRIBERS:
        raise KeyError(f"unknown event {event!r}: add it to app.events.SUBSCRIBERS")
    for target in SUBSCRIBERS[event]:
        _resolve(target)(session, now=now, **payload)
