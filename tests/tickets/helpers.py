"""Ticket factories built on the real service."""

from __future__ import annotations

import itertools
from datetime import datetime

from app.tickets import service
from app.tickets.models import Ticket
from tests.factories import T0, make_customer

_seq = itertools.count(1)


def make_ticket(db, *, customer=None, now: datetime = T0, **overrides) -> Ticket:
    """A task ticket (as a follow-up opens it): open, unassigned, of kind payment_reminder unless told."""
    customer = customer or make_customer(db)
    values = {
        "kind": "payment_reminder",
        "customer_id": customer.id,
        "subject": f"催付 · 买家{next(_seq)}",
        "body": "亲，看到您拍下了订单还没有付款～",
        "priority": "normal",
        "now": now,
    } | overrides
    return service.open_task(db, **values)


def buyer_says(db, customer, body: str = "请问什么时候发货？", *, now: datetime = T0, **overrides):
    """A buyer message through receive_message; returns the recorded message."""
    values = {"store_id": customer.store_id, "customer_id": customer.id, "body": body, "now": now} | overrides
    return service.receive_message(db, **values)
