from itertools import product as pairs

import pytest

from app.audit.models import AuditEntry
from app.audit.service import SYSTEM
from app.errors import Conflict
from app.presale import lifecycle, service
from app.presale.models import InquiryStatus
from tests.factories import T0, count, make_agent
from tests.presale.helpers import make_inquiry, place_order, setup

ALLOWED = {
    ("open", "bargaining"),
    ("open", "won"),
    ("open", "lost"),
    ("bargaining", "won"),
    ("bargaining", "lost"),
}
ALL = [s.value for s in InquiryStatus]


@pytest.mark.parametrize(("from_status", "to_status"), list(pairs(ALL, ALL)))
def test_every_status_pair_moves_only_when_the_table_allows_it(db, from_status, to_status):
    store, product, customer = setup(db)
    inquiry = make_inquiry(db, store, customer, [product])
    inquiry.status = InquiryStatus(from_status)
    db.flush()
    order = place_order(db, store, customer, [product], placed_at=T0 + lifecycle_gap())
    # place_order's auto-won may have closed an active inquiry; put the starting status back.
    inquiry.status, inquiry.won_order_id, inquiry.closed_at = InquiryStatus(from_status), None, None
    db.flush()
    before = count(db, AuditEntry, subject_type="inquiry", subject_id=inquiry.id)
    move = lambda: service.move(  # noqa: E731
        db, inquiry, to=to_status, actor=SYSTEM, now=T0, order=order, lost_reason="price", note="嫌贵"
    )
    if (from_status, to_status) in ALLOWED:
        move()
        assert inquiry.status == InquiryStatus(to_status)
        assert (inquiry.closed_at is not None) == (to_status in ("won", "lost"))
        assert count(db, AuditEntry, subject_type="inquiry", subject_id=inquiry.id) == before + 1
        if to_status == "won":
            assert inquiry.won_order_id == order.id
        if to_status == "lost":
            assert inquiry.lost_reason.value == "price" and inquiry.lost_note == "嫌贵"
    else:
        with pytest.raises(Conflict) as exc:
            move()
        assert inquiry.status == InquiryStatus(from_status)
        allowed = [s.value for s in lifecycle.allowed_next(InquiryStatus(from_status))]
        for name in allowed:
            assert name in exc.value.english()
        if not allowed:
            assert "closed" in exc.value.english()
        assert count(db, AuditEntry, subject_type="inquiry", subject_id=inquiry.id) == before


def lifecycle_gap():
    from datetime import timedelta

    return timedelta(days=30)  # far outside the win window: no automatic won


def test_lost_needs_a_known_reason(db):
    from app.errors import InvalidInput

    store, product, customer = setup(db)
    inquiry = make_inquiry(db, store, customer, [product])
    for reason in (None, "", "too_expensive"):
        with pytest.raises(InvalidInput) as exc:
            service.mark_lost(db, inquiry, reason=reason, actor=SYSTEM, now=T0)
        assert "reason" in exc.value.fields
    assert inquiry.status == InquiryStatus.open


def test_won_needs_an_order_of_the_same_customer(db):
    from app.errors import InvalidInput
    from tests.factories import make_customer

    store, product, customer = setup(db)
    other = make_customer(db, store)
    inquiry = make_inquiry(db, store, customer, [product])
    order = place_order(db, store, other, [product], placed_at=T0)
    with pytest.raises(InvalidInput) as exc:
        service.mark_won(db, inquiry, order=order, now=T0)
    assert "order_id" in exc.value.fields and inquiry.status == InquiryStatus.open


def test_allowed_next_lists_states_in_lifecycle_order():
    assert lifecycle.allowed_next(InquiryStatus.open) == [
        InquiryStatus.bargaining,
        InquiryStatus.won,
        InquiryStatus.lost,
    ]
    assert lifecycle.allowed_next(InquiryStatus.won) == []


def test_open_inquiry_validates_products_and_store(db):
    from app.errors import InvalidInput
    from tests.factories import make_product, make_store

    store, product, customer = setup(db)
    foreign = make_product(db, make_store(db))
    for ids, needle in (([], "at least"), ([999999], "999999"), ([foreign.id], "store")):
        with pytest.raises(InvalidInput) as exc:
            service.open_inquiry(db, store=store, customer=customer, product_ids=ids, now=T0)
        assert "product_ids" in exc.value.fields and needle in exc.value.english()
    agent = make_agent(db)
    inquiry = make_inquiry(db, store, customer, [product, product], agent=agent)
    assert [p.id for p in service.products_of(db, inquiry.id)] == [product.id]
    assert inquiry.status == InquiryStatus.open and inquiry.agent_id == agent.id
