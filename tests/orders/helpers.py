"""Order factories built on the real service."""

from __future__ import annotations

from decimal import Decimal

from app.audit.service import STOREFRONT, Actor
from app.orders import service
from app.orders.lifecycle import Stage
from app.orders.service import NewItem
from tests.factories import T0, make_customer, make_product, make_store


def make_order(
    db,
    *,
    store=None,
    customer=None,
    product=None,
    stage: Stage = Stage.ordered,
    quantity=1,
    unit_price=Decimal("199.00"),
    actor: Actor = STOREFRONT,
    **overrides,
):
    store = store or make_store(db)
    customer = customer or make_customer(db, store=store)
    product = product or make_product(db, store=store)
    values = {
        "store": store,
        "customer": customer,
        "placed_at": T0,
        "actor": actor,
        "now": T0,
        "items": [NewItem(product.id, product.sku, product.title, quantity, unit_price)],
    } | overrides
    order = service.create_order(db, **values)
    path = {
        Stage.ordered: [],
        Stage.paid: [Stage.paid],
        Stage.shipped: [Stage.paid, Stage.shipped],
        Stage.delivered: [Stage.paid, Stage.shipped, Stage.delivered],
        Stage.confirmed: [Stage.paid, Stage.shipped, Stage.delivered, Stage.confirmed],
        Stage.review_requested: [
            Stage.paid,
            Stage.shipped,
            Stage.delivered,
            Stage.confirmed,
            Stage.review_requested,
        ],
        Stage.reviewed: [Stage.paid, Stage.shipped, Stage.delivered, Stage.confirmed, Stage.reviewed],
        Stage.cancelled: [Stage.cancelled],
        Stage.refunded: [Stage.paid],
    }[stage]
    for step in path:
        service.advance(db, order, to=step, actor=STOREFRONT, now=T0)
    if stage == Stage.refunded:  # only money makes an order refunded
        service.record_refund(db, order, amount=order.total, actor=STOREFRONT, reason="refund", now=T0)
    return order
