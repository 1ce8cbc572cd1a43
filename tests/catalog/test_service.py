from decimal import Decimal

import pytest
from sqlmodel import select

from app.audit.models import AuditEntry
from app.audit.service import SYSTEM, Actor
from app.catalog import service
from app.catalog.models import Product
from app.errors import Conflict, InvalidInput, NotFound
from tests.factories import make_product, make_store


def test_create_product_with_store_currency_and_decimal_prices(db, now):
    store = make_store(db)
    product = service.create_product(
        db,
        store=store,
        sku="LJ-250",
        title="明前龙井",
        category="绿茶",
        list_price="398.00",
        floor_price="338",
        now=now,
    )
    assert product.currency == "CNY" and product.list_price == Decimal("398.00")
    assert product.floor_price == Decimal("338.00") and product.is_active


def test_duplicate_sku_in_a_store_is_a_conflict(db, now):
    store = make_store(db)
    service.create_product(db, store=store, sku="A-1", title="t", list_price="10", floor_price="8", now=now)
    with pytest.raises(Conflict):
        service.create_product(
            db, store=store, sku="A-1", title="t2", list_price="10", floor_price="8", now=now
        )
    service.create_product(
        db, store=make_store(db), sku="A-1", title="t", list_price="10", floor_price="8", now=now
    )


def test_floor_above_list_price_is_refused_naming_floor_price(db, now):
    store = make_store(db)
    with pytest.raises(InvalidInput) as exc:
        service.create_product(
            db, store=store, sku="A-2", title="t", list_price="10", floor_price="10.01", now=now
        )
    assert set(exc.value.fields) == {"floor_price"}
    assert db.exec(select(Product).where(Product.store_id == store.id)).first() is None


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"sku": ""}, "sku"),
        ({"sku": "has space"}, "sku"),
        ({"title": " "}, "title"),
        ({"list_price": "-1"}, "list_price"),
        ({"list_price": "abc"}, "list_price"),
        ({"floor_price": "1.234"}, "floor_price"),
        ({"currency": "XXY"}, "currency"),
        ({"store": "no-such-store"}, "store"),
    ],
)
def test_create_product_rejects_bad_input_naming_the_field(db, now, overrides, field):
    store = make_store(db)
    values = {"store": store, "sku": "OK-1", "title": "t", "list_price": "10", "floor_price": "8", "now": now}
    with pytest.raises(InvalidInput) as exc:
        service.create_product(db, **(values | overrides))
    assert field in exc.value.fields


def test_floor_price_change_is_audit_logged_with_old_and_new(db, now):
    product = make_product(db)
    actor = Actor("agent", 42)
    service.update_product(db, product, floor_price="149.00", actor=actor, now=now)
    entry = db.exec(select(AuditEntry).where(AuditEntry.action == "catalog.floor_price_changed")).one()
    assert entry.subject_id == product.id and entry.amount == Decimal("149.00")
    assert entry.detail["old_floor_price"] == "159.00" and entry.actor_id == 42


def test_update_without_floor_change_writes_no_audit_entry(db, now):
    product = make_product(db)
    service.update_product(
        db, product, floor_price="159.00", list_price="209.00", care_tips="冷藏", actor=SYSTEM, now=now
    )
    assert product.list_price == Decimal("209.00") and product.care_tips == "冷藏"
    assert db.exec(select(AuditEntry).where(AuditEntry.subject_id == product.id)).first() is None


def test_lowering_list_price_below_the_floor_is_refused(db, now):
    product = make_product(db)
    with pytest.raises(InvalidInput) as exc:
        service.update_product(db, product, list_price="100.00", actor=SYSTEM, now=now)
    assert "floor_price" in exc.value.fields and product.list_price == Decimal("199.00")


def test_deactivate_and_filter_by_active(db, now):
    store = make_store(db)
    on, off = make_product(db, store), make_product(db, store, category="茶具")
    service.deactivate(db, off, now=now)
    filters = service.ProductFilters(store=store.slug, active=True)
    assert [p.id for p in service.list_products(db, filters=filters).items] == [on.id]
    by_category = service.ProductFilters(store=store.slug, category="茶具")
    assert [p.id for p in service.list_products(db, filters=by_category).items] == [off.id]
    by_text = service.ProductFilters(store=store.slug, q=on.sku)
    assert [p.id for p in service.list_products(db, filters=by_text).items] == [on.id]


def test_require_product_and_get_all(db):
    store = make_store(db)
    product = make_product(db, store)
    assert service.require_product(db, product.id) is product
    assert [p.id for p in service.get_all_products(db, store_id=store.id)] == [product.id]
    with pytest.raises(NotFound):
        service.require_product(db, 999_999)
