"""Phrasing factories built on the real service."""

from __future__ import annotations

import itertools

from app.audit.service import STOREFRONT
from app.customers.models import Customer
from app.orders import shipping
from app.orders.lifecycle import Stage
from app.phrasing import service
from app.phrasing.models import PhrasingScope
from app.tickets.service import open_task
from tests.factories import T0, make_customer, make_store
from tests.orders.helpers import make_order

_seq = itertools.count(1)


def make_template(db, *, agent=None, **overrides):
    """A global template (written as the shop, agent None) unless told otherwise."""
    n = next(_seq)
    values = {
        "title": f"模板 {n}",
        "category": "payment_reminder",
        "variants": {
            "zh_CN": "亲，订单 {{ order_number }} 还没有付款哦～",
            "en": "Order {{ order_number }} is unpaid.",
        },
        "scope": PhrasingScope.global_,
        "shortcut": "",
    } | overrides
    return service.create_template(db, data=service.TemplateInput(**values), agent=agent, now=T0)


def make_ticket(db, *, kind="payment_reminder", customer=None, order=None, now=T0, **overrides):
    """A task ticket of `kind` for the order's customer (or a new buyer of a new shop)."""
    if customer is None and order is not None:
        customer = db.get(Customer, order.customer_id)
    if customer is None:
        customer = make_customer(db, store=make_store(db, name="西湖茶庄"), nickname="小鹿")
    values = {
        "kind": kind,
        "customer_id": customer.id,
        "subject": f"工单 {next(_seq)}",
        "body": "任务",
        "priority": "normal",
        "now": now,
        "order_id": order.id if order is not None else None,
    } | overrides
    return open_task(db, **values)


def shipped_order(db, **overrides):
    """An order of a tea shop, shipped with 顺丰速运 SF1234567890."""
    store = make_store(db, name="西湖茶庄")
    customer = make_customer(db, store=store, nickname="小鹿")
    order = make_order(db, store=store, customer=customer, stage=Stage.paid, **overrides)
    shipping.add_shipment(
        db,
        order,
        carrier="顺丰速运",
        tracking_number="SF1234567890",
        tracking_url="https://www.sf-express.com/track/SF1234567890",
        actor=STOREFRONT,
        now=T0,
    )
    return order
