import random
from decimal import Decimal

from faker import Faker
from rich.progress import Progress

from app.catalog import demo
from app.catalog.models import Product
from app.demo import DemoContext, DemoSizes
from tests.factories import make_store


def _ctx(db, now, store_ids, seed=3):
    faker = Faker("zh_CN")
    faker.seed_instance(seed)
    return DemoContext(
        session=db,
        sizes=DemoSizes(customers=0, orders=0),
        rng=random.Random(seed),
        faker=faker,
        now=now,
        progress=Progress(disable=True),
        ids={"store_ids": store_ids},
    )


def test_seed_makes_forty_products_per_store_with_floors_below_list_price(db, now):
    stores = [make_store(db).id, make_store(db).id]
    ctx = _ctx(db, now, stores)
    demo.seed(ctx)
    products = ctx.ids["products"]
    assert len(products) == 80
    assert set(products[0]) == {"id", "store_id", "sku", "title", "category", "list_price", "floor_price"}
    for p in products:
        assert isinstance(p["list_price"], Decimal) and p["list_price"] > 0
        assert p["list_price"] * Decimal("0.74") < p["floor_price"] <= p["list_price"] * Decimal("0.91")
    assert {"绿茶", "茶具", "零食", "服饰"} <= {p["category"] for p in products}
    stored = db.get(Product, products[0]["id"])
    assert stored.care_tips and stored.currency == "CNY"


def test_seed_is_deterministic_for_a_seed(db, now):
    a = _ctx(db, now, [make_store(db).id])
    demo.seed(a)
    b = _ctx(db, now, [make_store(db).id])
    demo.seed(b)

    def comparable(ctx):
        return [(p["title"], p["category"], p["list_price"], p["floor_price"]) for p in ctx.ids["products"]]

    assert comparable(a) == comparable(b)
