from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from app.audit.models import AuditEntry
from app.audit.service import STOREFRONT, SYSTEM, Actor
from app.errors import Conflict, InvalidInput
from app.events import SUBSCRIBERS
from app.orders import service, shipping
from app.orders.lifecycle import Stage
from app.orders.models import Order
from app.orders.service import NewItem
from tests.factories import T0, count, make_agent, make_customer, make_product, make_store
from tests.orders.helpers import make_order


def test_totals_use_agreed_prices_shipping_and_discount(db):
    store = make_store(db)
    a, b = make_product(db, store=store), make_product(db, store=store)
    order = service.create_order(
        db,
        store=store,
        customer=make_customer(db, store=store),
        placed_at=T0,
        actor=STOREFRONT,
        now=T0,
        items=[
            NewItem(a.id, a.sku, a.title, 2, Decimal("199.00"), Decimal("179.50")),
            NewItem(b.id, b.sku, b.title, 1, Decimal("59.90")),
        ],
        shipping_fee=Decimal("8.00"),
        discount_total=Decimal("10.00"),
    )
    assert order.subtotal == Decimal("418.90") and order.total == Decimal("416.90")
    assert order.number.startswith("HT20261111") and order.currency == "CNY"
    assert [e.to_stage for e in service.timeline_for(db, order.id)] == [Stage.ordered]


@pytest.mark.parametrize(
    ("item_overrides", "order_overrides", "field"),
    [
        ({"quantity": 0}, {}, "items.0.quantity"),
        ({"unit_price": Decimal("-1")}, {}, "items.0.unit_price"),
        ({"unit_price": "abc"}, {}, "items.0.unit_price"),
        ({"unit_price": 19.9}, {}, "items.0.unit_price"),
        ({"unit_price": Decimal("1.999")}, {}, "items.0.unit_price"),
        ({"product_id": 999999}, {}, "items.0.product_id"),
        ({}, {"currency": "XYZ"}, "currency"),
        ({}, {"shipping_fee": Decimal("-5")}, "shipping_fee"),
        ({}, {"discount_total": Decimal("5000")}, "discount_total"),
        ({}, {"items": []}, "items"),
    ],
)
def test_bad_order_input_names_the_field_and_writes_nothing(db, item_overrides, order_overrides, field):
    store = make_store(db)
    product = make_product(db, store=store)
    item = {"product_id": product.id, "sku": "S", "title": "T", "quantity": 1, "unit_price": Decimal("10")}
    item |= item_overrides
    before = count(db, Order)
    arguments = {"items": [NewItem(**item)]} | order_overrides
    with pytest.raises(InvalidInput) as exc:
        service.create_order(
            db,
            store=store,
            customer=make_customer(db, store=store),
            placed_at=T0,
            actor=STOREFRONT,
            now=T0,
            **arguments,
        )
    assert field in exc.value.fields
    assert count(db, Order) == before


def test_duplicate_external_id_in_a_store_conflicts(db):
    store = make_store(db)
    make_order(db, store=store, external_id="820982911946154508")
    with pytest.raises(Conflict):
        make_order(db, store=store, external_id="820982911946154508")


def test_order_created_event_reaches_its_subscribers(db, monkeypatch):
    seen = []
    monkeypatch.setitem(SUBSCRIBERS, "order.created", ["tests.orders.test_service:_remember"])
    _REMEMBERED.clear()
    order = make_order(db)
    seen = [o.id for o in _REMEMBERED]
    assert seen == [order.id]


_REMEMBERED: list = []


def _remember(session, *, now, order, **_):
    _REMEMBERED.append(order)


def test_partial_then_full_refund_moves_the_order_to_refunded_and_is_audited(db, now):
    order = make_order(db, stage=Stage.delivered, quantity=2)  # total 398.00
    agent = make_agent(db)
    service.record_refund(
        db, order, amount=Decimal("100.00"), actor=Actor.agent(agent), reason="差价", now=now
    )
    assert order.stage == Stage.delivered and order.refunded_amount == Decimal("100.00")
    with pytest.raises(InvalidInput):
        service.record_refund(
            db, order, amount=Decimal("298.01"), actor=Actor.agent(agent), reason="x", now=now
        )
    service.record_refund(
        db, order, amount=Decimal("298.00"), actor=Actor.agent(agent), reason="退货", now=now
    )
    assert order.stage == Stage.refunded and order.refunded_at == now
    entries = list(
        db.exec(
            select(AuditEntry).where(AuditEntry.subject_type == "order", AuditEntry.subject_id == order.id)
        )
    )
    assert [e.amount for e in entries] == [Decimal("100.00"), Decimal("298.00")]
    assert all(e.action == "order.refund" and e.actor_id == agent.id for e in entries)


def test_an_unpaid_order_cannot_be_refunded(db, now):
    order = make_order(db)
    with pytest.raises(Conflict):
        service.record_refund(db, order, amount=Decimal("1.00"), actor=SYSTEM, reason="", now=now)


def test_orders_are_confirmed_automatically_after_the_stores_auto_confirm_days(db, now):
    store = make_store(db)
    quick = make_store(db)
    quick.auto_confirm_days = 3
    shipped = make_order(db, store=store, stage=Stage.paid)
    service.advance(db, shipped, to=Stage.shipped, actor=STOREFRONT, at=now, now=now)
    delivered = make_order(db, store=quick, stage=Stage.paid)
    service.advance(db, delivered, to=Stage.shipped, actor=STOREFRONT, at=now, now=now)
    service.advance(db, delivered, to=Stage.delivered, actor=STOREFRONT, at=now + timedelta(days=1), now=now)

    assert service.auto_confirm_due(db, now=now + timedelta(days=3) - timedelta(minutes=1)) == 0
    assert service.auto_confirm_due(db, now=now + timedelta(days=3, minutes=1)) == 1
    assert delivered.stage == Stage.confirmed and shipped.stage == Stage.shipped
    assert service.auto_confirm_due(db, now=now + timedelta(days=10, minutes=1)) == 1
    assert shipped.stage == Stage.confirmed
    last = service.timeline_for(db, shipped.id)[-1]
    assert last.actor_type == "system" and "10 days" in last.reason
    assert service.auto_confirm_due(db, now=now + timedelta(days=30)) == 0


def test_adding_a_shipment_ships_a_paid_order_and_delivery_moves_it_on(db, now):
    order = make_order(db, stage=Stage.paid)
    agent = make_agent(db)
    parcel = shipping.add_shipment(
        db,
        order,
        carrier="顺丰速运",
        tracking_number="SF123",
        actor=Actor.agent(agent),
        tracking_url="https://www.sf-express.com/",
        now=now,
    )
    assert order.stage == Stage.shipped and order.shipped_at == now
    shipping.mark_delivered(db, order, parcel, actor=Actor.agent(agent), now=now + timedelta(days=2))
    assert order.stage == Stage.delivered and parcel.delivered_at == now + timedelta(days=2)


def test_an_agent_cannot_ship_an_unpaid_order(db, now):
    order = make_order(db)
    with pytest.raises(Conflict):
        shipping.add_shipment(
            db, order, carrier="中通", tracking_number="ZT1", actor=Actor.agent(make_agent(db)), now=now
        )
    assert service.shipments_for(db, order.id) == []


def test_a_carrier_exception_is_announced_for_a_proactive_task(db, now, monkeypatch):
    monkeypatch.setitem(SUBSCRIBERS, "shipment.exception", ["tests.orders.test_service:_remember_exception"])
    _EXCEPTIONS.clear()
    order = make_order(db, stage=Stage.shipped)
    parcel = shipping.add_shipment(
        db, order, carrier="圆通", tracking_number="YT9", actor=STOREFRONT, now=now
    )
    shipping.update_carrier_status(db, order, parcel, status="attempted_delivery", actor=STOREFRONT, now=now)
    assert [(order.id, "attempted_delivery")] == _EXCEPTIONS
    with pytest.raises(InvalidInput):
        shipping.update_carrier_status(db, order, parcel, status="lost-in-space", actor=STOREFRONT, now=now)


_EXCEPTIONS: list = []


def _remember_exception(session, *, now, order, shipment, **_):
    _EXCEPTIONS.append((order.id, shipment.carrier_status))


def test_order_cards_bring_items_shipments_and_timeline_in_few_queries(db, now):
    customer = make_customer(db)
    store_id = customer.store_id
    from app.integrations.models import Store

    store = db.get(Store, store_id)
    first = make_order(db, store=store, customer=customer, stage=Stage.shipped)
    second = make_order(db, store=store, customer=customer)
    cards = service.order_cards_for_customer(db, customer.id)
    assert {c.order.id for c in cards} == {first.id, second.id}
    by_id = {c.order.id: c for c in cards}
    assert len(by_id[first.id].timeline) == 3 and len(by_id[first.id].items) == 1
    assert [s["state"] for s in by_id[first.id].steps][:4] == ["done", "done", "current", "todo"]


def test_the_auto_confirm_job_looks_without_the_write_lock_and_confirms_what_is_due():
    """The dispatch job runs every cycle and mostly finds nothing: it looks in a reading
    transaction (on SQLite a writing one holds the database's only write lock from its first
    statement: at a million orders the look took half a second of every cycle) and writes only
    when an order is due."""
    import sqlite3

    from sqlmodel import Session

    from app.orders import jobs
    from tests.conftest import scratch_engine

    with scratch_engine("autoconfirm") as engine:
        with Session(engine, expire_on_commit=False) as session:
            order = make_order(session, store=make_store(session), stage=Stage.paid)
            service.advance(session, order, to=Stage.shipped, actor=STOREFRONT, at=T0, now=T0)
            session.commit()
        early, due = T0 + timedelta(days=9), T0 + timedelta(days=10, minutes=1)
        if engine.dialect.name == "sqlite":
            # Another connection holds the write lock: a job that wanted it would wait for it
            # (SQLite's busy timeout, then "database is locked").
            other = sqlite3.connect(engine.url.database, isolation_level=None)
            other.execute("BEGIN IMMEDIATE")
            try:
                assert jobs.auto_confirm(early, engine=engine) == 0
            finally:
                other.execute("ROLLBACK")
                other.close()
        else:
            assert jobs.auto_confirm(early, engine=engine) == 0
        assert jobs.auto_confirm(due, engine=engine) == 1
        with Session(engine) as session:
            assert session.get(Order, order.id).stage == Stage.confirmed
        assert jobs.auto_confirm(due, engine=engine) == 0
