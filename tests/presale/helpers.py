"""Builders for presale tests: inquiries and orders through the real services."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from app.audit.service import STOREFRONT
from app.orders.service import NewItem, create_order
from app.presale import service
from tests.factories import T0, make_customer, make_product, make_store


def setup(db, **store_overrides):
    store = make_store(db, **store_overrides)
    product = make_product(db, store)
    customer = make_customer(db, store)
    return store, product, customer


def make_inquiry(db, store, customer, products, *, agent=None, opened_at=None, now=T0, **kw):
    return service.open_inquiry(
        db,
        store=store,
        customer=customer,
        product_ids=[p.id for p in products],
        question=kw.pop("question", "这款是今年的新茶吗？"),
        agent_id=agent.id if agent else None,
        opened_at=opened_at or now - timedelta(hours=1),
        now=now,
        **kw,
    )


def place_order(db, store, customer, products, *, placed_at: datetime, now=None, **kw):
    items = [
        NewItem(product_id=p.id, sku=p.sku, title=p.title, quantity=1, unit_price=p.list_price)
        for p in products
    ]
    return create_order(
        db,
        store=store,
        customer=customer,
        items=items,
        placed_at=placed_at,
        actor=STOREFRONT,
        now=now or placed_at,
        **kw,
    )


D = Decimal
