"""app.events: subscribers run in the emitter's transaction; inside `coalescing`, the ones that
only bring derived figures up to date run once at the end (a storefront order arrives created and
paid in one delivery: one lifetime recomputation, with the final figures)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app import events
from app.audit.service import STOREFRONT
from app.orders import service as orders
from app.orders.lifecycle import Stage
from app.orders.service import NewItem
from tests.factories import make_customer, make_product, make_store


def _order(db, now):
    store = make_store(db)
    customer = make_customer(db, store)
    product = make_product(db, store)
    order = orders.create_order(
        db,
        store=store,
        customer=customer,
        items=[NewItem(product.id, product.sku, product.title, 2, Decimal("50.00"))],
        placed_at=now,
        actor=STOREFRONT,
        now=now,
    )
    return customer, order


def test_without_coalescing_every_event_updates_the_buyer_at_once(db, now):
    customer, order = _order(db, now)
    assert customer.orders_count == 1 and customer.total_spent == Decimal("0")
    orders.advance(db, order, to=Stage.paid, actor=STOREFRONT, now=now, at=now)
    assert customer.total_spent == Decimal("100.00")


def test_coalesced_subscribers_run_once_at_the_end_with_the_final_state(db, now, monkeypatch):
    calls = []
    recompute = events._resolve("app.customers.service:on_order_changed")

    def counting(session, **kwargs):
        calls.append(kwargs["order"].id)
        recompute(session, **kwargs)

    monkeypatch.setitem(events._resolved, "app.customers.service:on_order_changed", counting)
    with events.coalescing(db):
        customer, order = _order(db, now)
        orders.advance(db, order, to=Stage.paid, actor=STOREFRONT, now=now, at=now)
        with events.coalescing(db):  # a nested block joins the outer one
            orders.advance(db, order, to=Stage.shipped, actor=STOREFRONT, now=now, at=now)
        assert calls == []  # deferred: the other subscribers (follow-ups …) ran as usual
        assert customer.orders_count == 0
    assert calls == [order.id]
    assert customer.orders_count == 1 and customer.total_spent == Decimal("100.00")


def test_an_error_in_the_block_runs_nothing_deferred(db, now, monkeypatch):
    calls = []
    monkeypatch.setitem(
        events._resolved, "app.customers.service:on_order_changed", lambda session, **kw: calls.append(kw)
    )
    with pytest.raises(RuntimeError), events.coalescing(db):
        _order(db, now)
        raise RuntimeError("the delivery failed")
    assert calls == []
    assert events._COALESCING_KEY not in db.info
