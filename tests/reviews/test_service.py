from datetime import timedelta

import pytest

import app.events
from app.errors import Conflict, InvalidInput
from app.orders.lifecycle import Stage
from app.reviews import service
from app.reviews.models import Grade, Review
from tests.factories import T0, count, make_customer, make_store
from tests.orders.helpers import make_order

CAUGHT: list[dict] = []


def _catch(session, **payload):
    CAUGHT.append(payload)


@pytest.fixture
def caught(monkeypatch):
    monkeypatch.setitem(app.events.SUBSCRIBERS, "review.posted", ["tests.reviews.test_service:_catch"])
    CAUGHT.clear()
    return CAUGHT


def _post(db, order, **overrides):
    store = overrides.pop("store", None) or _store(db, order)
    values = {
        "store": store,
        "customer": _customer(db, order),
        "order": order,
        "rating": 5,
        "text": "茶香很正，包装用心",
        "posted_at": T0 + timedelta(days=3),
        "now": T0 + timedelta(days=3),
    } | overrides
    return service.post_review(db, **values)


def _store(db, order):
    from app.integrations.models import Store

    return db.get(Store, order.store_id)


def _customer(db, order):
    from app.customers.models import Customer

    return db.get(Customer, order.customer_id)


@pytest.mark.parametrize(
    ("rating", "grade"),
    [(5, Grade.good), (4, Grade.good), (3, Grade.neutral), (2, Grade.bad), (1, Grade.bad)],
)
def test_grade_defaults_from_the_rating(rating, grade):
    assert service.default_grade(rating) == grade


@pytest.mark.parametrize(
    ("rating", "grade", "needs"),
    [
        (5, Grade.good, False),
        (4, Grade.good, False),
        (3, Grade.neutral, False),
        (3, Grade.bad, True),
        (5, Grade.bad, True),
        (2, Grade.neutral, True),
        (2, Grade.bad, True),
        (1, Grade.good, True),
        (4, Grade.neutral, False),
    ],
)
def test_needs_bad_review_ticket(rating, grade, needs):
    assert service.needs_bad_review_ticket(Review(rating=rating, grade=grade)) is needs


def test_a_review_moves_its_order_to_reviewed_and_emits_once(db, caught):
    order = make_order(db, stage=Stage.delivered)
    review = _post(db, order, rating=2)
    assert review.grade == Grade.bad and order.stage == Stage.reviewed
    assert order.reviewed_at == T0 + timedelta(days=3)
    assert len(caught) == 1 and caught[0]["review"] is review
    assert service.needs_bad_review_ticket(caught[0]["review"])


def test_the_same_external_review_again_updates_instead_of_duplicating(db, caught):
    order = make_order(db, stage=Stage.confirmed)
    first = _post(db, order, external_id="rv-1", rating=4, text="不错")
    again = _post(
        db, order, external_id="rv-1", rating=4, text="不错，回购", followup_text="喝完再来：回甘好"
    )
    assert again.id == first.id and count(db, Review, external_id="rv-1") == 1
    assert again.text == "不错，回购" and again.followup_text == "喝完再来：回甘好"
    assert len(caught) == 1


def test_a_late_review_on_a_reviewed_or_refunded_order_is_fine(db, caught):
    reviewed = make_order(db, stage=Stage.reviewed)
    _post(db, reviewed)
    refunded = make_order(db, stage=Stage.refunded)
    _post(db, refunded, rating=1)
    assert reviewed.stage == Stage.reviewed and refunded.stage == Stage.refunded and len(caught) == 2


def test_a_review_without_an_order(db, caught):
    store = make_store(db)
    customer = make_customer(db, store=store)
    review = service.post_review(db, store=store, customer=customer, rating=3, text="一般", now=T0)
    assert review.order_id is None and review.grade == Grade.neutral and review.posted_at == T0
    assert len(caught) == 1


@pytest.mark.parametrize("rating", [0, 6, "5", 4.5, True])
def test_a_rating_outside_one_to_five_names_rating_and_writes_nothing(db, caught, rating):
    order = make_order(db, stage=Stage.delivered)
    with pytest.raises(InvalidInput) as error:
        _post(db, order, rating=rating)
    assert "rating" in error.value.fields
    assert count(db, Review, order_id=order.id) == 0 and order.stage == Stage.delivered and caught == []


def test_an_order_of_another_customer_is_refused(db):
    order = make_order(db, stage=Stage.delivered)
    stranger = make_customer(db, store=_store(db, order))
    with pytest.raises(InvalidInput) as error:
        _post(db, order, customer=stranger)
    assert "order_id" in error.value.fields and count(db, Review, order_id=order.id) == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [({"grade": "meh"}, "grade"), ({"text": "长" * 5001}, "text"), ({"product_id": 999_999}, "product_id")],
)
def test_other_bad_input_names_the_field(db, overrides, field):
    order = make_order(db, stage=Stage.delivered)
    with pytest.raises(InvalidInput) as error:
        _post(db, order, **overrides)
    assert field in error.value.fields


def test_followup_once(db):
    order = make_order(db, stage=Stage.delivered)
    review = _post(db, order)
    at = review.posted_at + timedelta(days=30)
    service.add_followup(db, review, text="喝了一个月，回甘很好", at=at, now=at)
    assert review.followup_text == "喝了一个月，回甘很好" and review.followup_at == at
    with pytest.raises(Conflict):
        service.add_followup(db, review, text="再追一次", at=at, now=at)
    with pytest.raises(InvalidInput):
        service.add_followup(db, _post(db, make_order(db, stage=Stage.delivered)), text="  ", now=at)


def test_reviews_for_customer_carry_the_order_number(db):
    order = make_order(db, stage=Stage.delivered)
    review = _post(db, order)
    views = service.reviews_for_customer(db, order.customer_id)
    assert [v.id for v in views] == [review.id] and views[0].order_number == order.number
    assert views[0].stars == "★★★★★"
