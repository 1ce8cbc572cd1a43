from datetime import timedelta
from decimal import Decimal as D

import pytest
from sqlmodel import select

from app.audit.models import AuditEntry
from app.orders.models import OrderItem
from app.presale import service
from app.presale.models import InquiryStatus
from app.presale.rounds import record_round
from tests.factories import T0, count, make_agent, make_customer, make_product
from tests.presale.helpers import make_inquiry, place_order, setup


@pytest.mark.parametrize(
    ("opened_before_order", "won"),
    [
        (timedelta(hours=1), True),
        (timedelta(days=2, hours=23), True),
        (timedelta(days=3), True),  # the window's edge is inside
        (timedelta(days=3, minutes=1), False),
        (-timedelta(minutes=5), False),  # opened after the order was placed
    ],
)
def test_order_within_the_window_wins_the_inquiry(db, opened_before_order, won):
    store, product, customer = setup(db)
    placed = T0 + timedelta(days=10)
    inquiry = make_inquiry(db, store, customer, [product], opened_at=placed - opened_before_order, now=placed)
    order = place_order(db, store, customer, [product], placed_at=placed)
    assert (inquiry.status == InquiryStatus.won) is won
    assert (inquiry.won_order_id == order.id) is won
    assert (inquiry.closed_at is not None) is won


def test_store_window_setting_is_honoured(db):
    store, product, customer = setup(db)
    store.inquiry_win_days = 7
    db.flush()
    placed = T0 + timedelta(days=10)
    inquiry = make_inquiry(db, store, customer, [product], opened_at=placed - timedelta(days=6), now=placed)
    place_order(db, store, customer, [product], placed_at=placed)
    assert inquiry.status == InquiryStatus.won


def test_another_customers_order_does_not_win_it(db):
    store, product, customer = setup(db)
    inquiry = make_inquiry(db, store, customer, [product])
    place_order(db, store, make_customer(db, store), [product], placed_at=T0)
    assert inquiry.status == InquiryStatus.open


def test_order_without_the_inquired_product_does_not_win_it(db):
    store, product, customer = setup(db)
    other = make_product(db, store)
    inquiry = make_inquiry(db, store, customer, [product])
    place_order(db, store, customer, [other], placed_at=T0)
    assert inquiry.status == InquiryStatus.open


def test_already_lost_inquiry_stays_lost(db):
    from app.audit.service import SYSTEM

    store, product, customer = setup(db)
    inquiry = make_inquiry(db, store, customer, [product])
    service.mark_lost(db, inquiry, reason="no_reply", actor=SYSTEM, now=T0 - timedelta(minutes=30))
    place_order(db, store, customer, [product], placed_at=T0)
    assert inquiry.status == InquiryStatus.lost and inquiry.won_order_id is None


def test_won_order_credits_the_agent_and_carries_the_agreed_price(db):
    store, product, customer = setup(db)
    second = make_product(db, store)
    agent = make_agent(db)
    inquiry = make_inquiry(db, store, customer, [product, second], agent=agent)
    record_round(
        db, inquiry, product_id=product.id, speaker="buyer", offered_price="160", agent=agent, now=T0
    )
    record_round(
        db,
        inquiry,
        product_id=product.id,
        speaker="agent",
        offered_price="169",
        is_agreed=True,
        agent=agent,
        now=T0,
    )
    order = place_order(db, store, customer, [product, second], placed_at=T0 + timedelta(hours=1))
    assert inquiry.status == InquiryStatus.won and order.assisted_by_id == agent.id
    items = {i.product_id: i for i in db.exec(select(OrderItem))}
    assert items[product.id].agreed_price == D("169.00")
    assert items[second.id].agreed_price is None  # no agreement about it
    entry = db.exec(select(AuditEntry).where(AuditEntry.action == "presale.inquiry.won")).one()
    assert entry.actor_type == "system" and entry.detail["order_id"] == order.id


def test_existing_attribution_and_agreed_price_are_kept(db):
    store, product, customer = setup(db)
    agent, other_agent = make_agent(db), make_agent(db)
    inquiry = make_inquiry(db, store, customer, [product], agent=agent)
    record_round(
        db,
        inquiry,
        product_id=product.id,
        speaker="agent",
        offered_price="170",
        is_agreed=True,
        agent=agent,
        now=T0,
    )
    from app.audit.service import STOREFRONT
    from app.orders.service import NewItem, create_order

    order = create_order(
        db,
        store=store,
        customer=customer,
        items=[NewItem(product.id, product.sku, product.title, 1, D("199"), agreed_price=D("175"))],
        placed_at=T0,
        actor=STOREFRONT,
        now=T0,
        assisted_by_id=other_agent.id,
    )
    item = db.exec(select(OrderItem).where(OrderItem.order_id == order.id)).one()
    assert inquiry.status == InquiryStatus.won
    assert order.assisted_by_id == other_agent.id and item.agreed_price == D("175.00")


def test_one_order_wins_every_matching_inquiry_once(db):
    store, product, customer = setup(db)
    first = make_inquiry(db, store, customer, [product])
    second = make_inquiry(db, store, customer, [product])
    place_order(db, store, customer, [product], placed_at=T0)
    assert first.status == second.status == InquiryStatus.won
    assert count(db, AuditEntry, action="presale.inquiry.won") == 2
