import random
import re

import sqlalchemy as sa
from faker import Faker
from rich.progress import Progress

from app.customers import demo
from app.customers.models import Customer
from app.demo import DemoContext, DemoSizes
from tests.factories import make_store

PHONE = re.compile(r"^1[3-9]\d{9}$")


def _ctx(db, now, store_ids, *, seed=7, customers=300):
    faker = Faker("zh_CN")
    faker.seed_instance(seed)
    return DemoContext(
        session=db,
        sizes=DemoSizes(customers=customers, orders=0),
        rng=random.Random(seed),
        faker=faker,
        now=now,
        progress=Progress(disable=True),
        ids={"store_ids": store_ids},
    )


def _rows(db, ids):
    query = sa.select(Customer.__table__).where(Customer.id.in_([i for i, _ in ids])).order_by(Customer.id)
    return [dict(r._mapping) for r in db.execute(query)]


def test_seed_inserts_realistic_customers_and_passes_their_ids_on(db, now):
    stores = [make_store(db).id, make_store(db).id]
    ctx = _ctx(db, now, stores)
    demo.seed(ctx)
    ids = ctx.ids["customers"]
    assert len(ids) == 300 and ids == sorted(ids) and {s for _, s in ids} == set(stores)
    rows = _rows(db, ids)
    assert all(PHONE.match(r["phone"]) for r in rows)
    assert all(r["province"] and r["city"] and r["district"] and r["street"] and r["name"] for r in rows)
    assert all(r["created_at"] < now and r["updated_at"] <= now for r in rows)
    consenting = [r for r in rows if r["marketing_consent"]]
    assert 0.45 < len(consenting) / len(rows) < 0.75 and all(r["consent_at"] for r in consenting)
    assert any(r["opted_out_at"] for r in rows) and not any(
        r["marketing_consent"] and r["opted_out_at"] for r in rows
    )
    levels = [r["vip_level"] for r in rows]
    assert levels.count(0) > len(rows) / 2 and max(levels) <= 9
    assert any("老客" in r["tags"] for r in rows)


def test_seed_is_deterministic_for_a_seed(db, now):
    first = _ctx(db, now, [make_store(db).id], seed=11, customers=50)
    demo.seed(first)
    second = _ctx(db, now, [make_store(db).id], seed=11, customers=50)
    # The same seed on another store: same people, apart from row ids and the store.
    demo.seed(second)

    def comparable(ctx):
        return [
            {k: v for k, v in r.items() if k not in ("id", "store_id")}
            for r in _rows(db, ctx.ids["customers"])
        ]

    assert comparable(first) == comparable(second)
