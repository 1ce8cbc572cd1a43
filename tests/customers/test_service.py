from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from app.audit.service import STOREFRONT, Actor
from app.customers import service
from app.customers.models import Customer
from app.errors import Conflict, InvalidInput, NotFound
from app.orders import service as orders
from app.orders.lifecycle import Stage
from app.orders.models import Order
from tests.factories import T0, make_customer, make_store


def _order(db, customer, store, amount="100.00", *, placed_at=T0, now=T0):
    item = orders.NewItem(
        product_id=None, sku="LJ-1", title="明前龙井", quantity=1, unit_price=Decimal(amount)
    )
    return orders.create_order(
        db, store=store, customer=customer, items=[item], placed_at=placed_at, actor=STOREFRONT, now=now
    )


def test_create_customer_stores_cleaned_fields(db, now):
    store = make_store(db)
    customer = service.create_customer(
        db,
        store=store,
        nickname=" 爱喝茶的小王 ",
        external_id="tb-1",
        phone="138 1234 5678",
        email="wang@example.cn",
        tags="老客，VIP, 老客",
        vip_level=3,
        now=now,
    )
    assert customer.nickname == "爱喝茶的小王"
    assert customer.phone == "13812345678"
    assert customer.tags == ["老客", "VIP"]
    assert customer.created_at == customer.updated_at == now
    assert customer.marketing_consent is False and customer.consent_at is None


def test_create_customer_accepts_a_store_slug_and_refuses_an_unknown_one(db, now):
    store = make_store(db)
    assert service.create_customer(db, store=store.slug, nickname="a", now=now).store_id == store.id
    with pytest.raises(InvalidInput) as exc:
        service.create_customer(db, store="no-such-store", nickname="a", now=now)
    assert "store" in exc.value.fields


def test_duplicate_external_id_in_the_same_store_is_a_conflict(db, now):
    store, other = make_store(db), make_store(db)
    service.create_customer(db, store=store, nickname="a", external_id="tb-1", now=now)
    with pytest.raises(Conflict):
        service.create_customer(db, store=store, nickname="b", external_id="tb-1", now=now)
    # Another store may use the same buyer id; no external id may repeat freely.
    service.create_customer(db, store=other, nickname="c", external_id="tb-1", now=now)
    service.create_customer(db, store=store, nickname="d", now=now)
    service.create_customer(db, store=store, nickname="e", now=now)


def test_invalid_fields_are_all_named_and_nothing_is_written(db, now):
    store = make_store(db)
    with pytest.raises(InvalidInput) as exc:
        service.create_customer(
            db, store=store, nickname="", phone="13x", email="not-an-email", vip_level=10, now=now
        )
    assert set(exc.value.fields) == {"nickname", "phone", "email", "vip_level"}
    assert db.exec(select(Customer).where(Customer.store_id == store.id)).first() is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("phone", "1" * 21),
        ("phone", "138-1234-abcd"),
        ("email", "a@b"),
        ("vip_level", -1),
        ("vip_level", "nine"),
        ("tags", ["x" * 33]),
        ("nickname", "n" * 65),
        ("street", "s" * 256),
    ],
)
def test_update_customer_rejects_bad_values_naming_the_field(db, now, field, value):
    customer = make_customer(db)
    before = (customer.phone, customer.email, customer.vip_level, customer.tags)
    with pytest.raises(InvalidInput) as exc:
        service.update_customer(db, customer, now=now, **{field: value})
    assert field in exc.value.fields
    assert (customer.phone, customer.email, customer.vip_level, customer.tags) == before


def test_update_customer_changes_only_given_fields(db, now):
    customer = make_customer(db, notes="old")
    later = now + timedelta(hours=1)
    service.update_customer(db, customer, tags=["爱砍价"], vip_level=2, phone="+86-138-0000-1111", now=later)
    assert customer.tags == ["爱砍价"] and customer.vip_level == 2 and customer.phone == "+86-138-0000-1111"
    assert customer.notes == "old" and customer.updated_at == later


def test_update_customer_refuses_fields_that_are_not_editable(db, now):
    customer = make_customer(db)
    with pytest.raises(InvalidInput) as exc:
        service.update_customer(db, customer, orders_count=99, now=now)
    assert "orders_count" in exc.value.fields


def test_require_customer_raises_not_found(db):
    with pytest.raises(NotFound):
        service.require_customer(db, 999_999)


def test_consent_then_opt_out_then_consent_again_keeps_times(db, now):
    customer = make_customer(db)
    service.grant_consent(db, customer, now=now)
    assert customer.marketing_consent and customer.consent_at == now and customer.opted_out_at is None
    service.grant_consent(db, customer, now=now + timedelta(days=1))
    assert customer.consent_at == now  # granting again keeps the first time
    out = now + timedelta(days=2)
    service.opt_out(db, customer, now=out)
    assert not customer.marketing_consent and customer.opted_out_at == out and customer.consent_at == now
    service.opt_out(db, customer, now=out + timedelta(days=1))
    assert customer.opted_out_at == out
    again = now + timedelta(days=5)
    service.grant_consent(db, customer, now=again)
    assert customer.marketing_consent and customer.consent_at == again and customer.opted_out_at is None


def test_erased_customer_cannot_be_edited_or_consent(db, now):
    customer = make_customer(db, erased_at=now)
    with pytest.raises(Conflict):
        service.update_customer(db, customer, notes="x", now=now)
    with pytest.raises(Conflict):
        service.grant_consent(db, customer, now=now)


def test_lifetime_figures_follow_orders_cancellations_and_refunds(db, now):
    store = make_store(db)
    customer = make_customer(db, store)
    actor = STOREFRONT
    first = _order(db, customer, store, "100.00", placed_at=now - timedelta(days=3))
    assert (customer.orders_count, customer.total_spent) == (1, Decimal("0.00"))  # unpaid
    assert customer.last_order_at == now - timedelta(days=3)
    orders.advance(db, first, to=Stage.paid, actor=actor, now=now)
    assert customer.total_spent == Decimal("100.00")

    second = _order(db, customer, store, "50.00", placed_at=now - timedelta(days=1))
    orders.advance(db, second, to=Stage.cancelled, actor=actor, now=now)
    assert customer.orders_count == 1 and customer.last_order_at == now - timedelta(days=1)

    third = _order(db, customer, store, "80.00", placed_at=now - timedelta(days=2))
    orders.advance(db, third, to=Stage.paid, actor=actor, now=now)
    orders.record_refund(db, third, amount=Decimal("30.00"), actor=actor, reason="少发一包", now=now)
    assert (customer.orders_count, customer.total_spent) == (2, Decimal("180.00"))
    assert (customer.refunds_count, customer.refunded_total) == (1, Decimal("30.00"))

    orders.record_refund(db, first, amount=Decimal("100.00"), actor=actor, reason="质量问题", now=now)
    assert first.stage == Stage.refunded
    # A refunded order still counts as placed and paid; its money shows under refunds.
    assert (customer.orders_count, customer.total_spent) == (2, Decimal("180.00"))
    assert (customer.refunds_count, customer.refunded_total) == (2, Decimal("130.00"))
    assert customer.updated_at == now


def test_lifetime_figures_of_other_customers_are_untouched(db, now):
    store = make_store(db)
    buyer, bystander = make_customer(db, store), make_customer(db, store, orders_count=7)
    _order(db, buyer, store)
    assert bystander.orders_count == 7


def test_recompute_all_lifetime_fixes_every_customer_in_one_statement(db, now):
    store = make_store(db)
    a, b, idle = make_customer(db, store), make_customer(db, store), make_customer(db, store, orders_count=5)
    rows = [
        dict(customer=a, total="120.00", paid=True, stage=Stage.paid, refunded="0.00"),
        dict(customer=a, total="60.00", paid=True, stage=Stage.cancelled, refunded="0.00"),
        dict(customer=b, total="99.00", paid=True, stage=Stage.refunded, refunded="99.00"),
        dict(customer=b, total="10.00", paid=False, stage=Stage.ordered, refunded="0.00"),
    ]
    for n, row in enumerate(rows):
        db.add(
            Order(
                store_id=store.id,
                customer_id=row["customer"].id,
                number=f"N{n}",
                stage=row["stage"],
                total=Decimal(row["total"]),
                refunded_amount=Decimal(row["refunded"]),
                placed_at=now - timedelta(days=n),
                paid_at=now if row["paid"] else None,
                created_at=now,
                updated_at=now,
            )
        )
    db.flush()
    assert a.orders_count == 0  # plain rows: no event ran
    touched = service.recompute_all_lifetime(db, now=now)
    assert touched >= 3
    assert (a.orders_count, a.total_spent, a.refunds_count, a.last_order_at) == (1, Decimal("120.00"), 0, now)
    assert (b.orders_count, b.total_spent, b.refunds_count, b.refunded_total) == (
        2,
        Decimal("99.00"),
        1,
        Decimal("99.00"),
    )
    assert b.last_order_at == now - timedelta(days=2)
    assert (idle.orders_count, idle.total_spent, idle.last_order_at) == (0, Decimal("0.00"), None)


def test_search_filters_by_text_store_vip_tag_and_update_time(db, now):
    store, other = make_store(db), make_store(db)
    hit = make_customer(db, store, nickname="爱喝茶的小王", vip_level=3, tags=["老客", "VIP"])
    make_customer(db, store, nickname="路人甲", vip_level=0, tags=["VIP2"])
    make_customer(db, other, nickname="爱喝茶的老李", vip_level=5, tags=["VIP"])

    def ids(**kw):
        return [c.id for c in service.list_customers(db, filters=service.CustomerFilters(**kw)).items]

    assert ids(q="爱喝茶", store=store.slug) == [hit.id]
    assert ids(store=store.slug, vip_min=1) == [hit.id]
    assert ids(store=store.slug, tag="VIP") == [hit.id]
    assert ids(store=store.slug, q=hit.external_id) == [hit.id]
    assert ids(store=store.slug, q="%") == []
    assert hit.id in ids(updated_since=now) and ids(updated_since=now + timedelta(seconds=1)) == []
    with pytest.raises(InvalidInput) as exc:
        ids(store="nope")
    assert "store" in exc.value.fields


def test_list_is_newest_first_with_a_cursor(db, now):
    store = make_store(db)
    made = [make_customer(db, store) for _ in range(5)]
    filters = service.CustomerFilters(store=store.slug)
    first = service.list_customers(db, filters=filters, limit=3)
    assert [c.id for c in first.items] == [c.id for c in reversed(made)][:3] and first.next_cursor
    second = service.list_customers(db, filters=filters, cursor=first.next_cursor, limit=3)
    assert [c.id for c in second.items] == [made[1].id, made[0].id] and second.next_cursor is None


def test_actor_is_not_needed_for_lifetime_updates(db, now):
    # The subscriber works whoever moved the order (agent here).
    store = make_store(db)
    customer = make_customer(db, store)
    order = _order(db, customer, store, "20.00")
    orders.advance(db, order, to=Stage.paid, actor=Actor("agent", None), now=now)
    assert customer.total_spent == Decimal("20.00")
