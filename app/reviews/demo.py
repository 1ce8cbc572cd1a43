"""Demo reviews: one per reviewed order (mostly warm 5★, a few bad), some 追评, a few without orders."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from app.demo import BATCH, DemoContext, chunked
from app.orders.models import Order, OrderItem
from app.reviews.models import Grade, Review

GOOD = (
    "茶香很正，泡了三泡还有回甘，包装也很用心，会回购！",
    "物流超快，第二天就到了，客服小姐姐态度特别好。",
    "质量很好，和描述的一样，给家里老人买的，他们很喜欢。",
    "第二次买了，一如既往的好，送朋友也很有面子。",
    "尺码标准，面料舒服，穿着很合身，好评！",
    "包装严实，没有磕碰，味道很新鲜，孩子很爱吃。",
    "性价比很高，比超市的好太多了，已经推荐给同事。",
    "客服很耐心，帮我选了合适的规格，收到很满意。",
)
NEUTRAL = (
    "东西还可以，就是物流有点慢。",
    "味道一般，没有想象中那么香，价格倒是实惠。",
    "尺码偏大一点，凑合能穿。",
    "包装有点简陋，东西本身还行。",
)
BAD = (
    "收到时罐子压扁了，茶叶撒了一半，很失望。",
    "和图片差别太大，颜色完全不一样，不推荐。",
    "物流太慢了，催了好几次客服也没回复。",
    "有一股怪味，不敢吃，申请售后也很慢。",
)
FOLLOWUPS = (
    "喝了一个月再来追评：回甘很好，已经回购两次了。",
    "用了一段时间，质量确实不错，没有起球。",
    "朋友收到礼物很开心，追加好评！",
    "后来联系客服处理了，补发很及时，态度好，改观了。",
)
WITHOUT_ORDER = (
    (5, "在直播间买的，店铺服务很好，下次还来。"),
    (4, "门店自提的，和网上一样正品，挺好。"),
    (2, "赠品没有收到，问了也没答复。"),
)


def _next_id(ctx: DemoContext) -> int:
    table = Review.__table__
    return int(ctx.session.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar_one()) + 1


def _rating(ctx: DemoContext) -> int:
    roll = ctx.rng.random()
    return 5 if roll < 0.80 else 4 if roll < 0.90 else 3 if roll < 0.97 else ctx.rng.choice((1, 2))


def _review(ctx: DemoContext, review_id: int, rating: int, posted_at: Any) -> dict[str, Any]:
    rng, now = ctx.rng, ctx.now
    pool = GOOD if rating >= 4 else NEUTRAL if rating == 3 else BAD
    grade = Grade.good if rating >= 4 else Grade.neutral if rating == 3 else Grade.bad
    followup_at = posted_at + timedelta(days=rng.uniform(7, 40)) if rng.random() < 0.08 else None
    if followup_at is not None and followup_at > now:
        followup_at = None
    return {
        "id": review_id,
        "external_id": f"rv{review_id}",
        "product_id": None,
        "rating": rating,
        "grade": grade,
        "text": pool[rng.randrange(len(pool))],
        "followup_text": FOLLOWUPS[rng.randrange(len(FOLLOWUPS))] if followup_at else "",
        "followup_at": followup_at,
        "posted_at": posted_at,
        "created_at": posted_at,
        "updated_at": followup_at or posted_at,
    }


def seed(ctx: DemoContext) -> None:
    orders: list[tuple[int, int, int, str]] = ctx.ids.get("orders", [])
    reviewed = [order_id for order_id, _, _, stage in orders if stage == "reviewed"]
    counter = [_next_id(ctx)]
    table, items = Order.__table__, OrderItem.__table__

    def rows() -> Iterator[dict[str, Any]]:
        for batch in chunked(({"id": i} for i in reviewed), BATCH):
            ids = [b["id"] for b in batch]
            query = sa.select(table.c.id, table.c.customer_id, table.c.store_id, table.c.reviewed_at).where(
                table.c.id.in_(ids)
            )
            first_product = dict(
                ctx.session.execute(
                    sa.select(items.c.order_id, sa.func.min(items.c.product_id))
                    .where(items.c.order_id.in_(ids))
                    .group_by(items.c.order_id)
                ).all()
            )
            for order in ctx.session.execute(query.order_by(table.c.id)):
                if order.reviewed_at is None:
                    continue
                row = _review(ctx, counter[0], _rating(ctx), order.reviewed_at)
                row |= {
                    "store_id": order.store_id,
                    "customer_id": order.customer_id,
                    "order_id": order.id,
                    "product_id": first_product.get(order.id),
                }
                counter[0] += 1
                yield row
        customers: list[tuple[int, int]] = ctx.ids.get("customers", [])
        for rating, text in WITHOUT_ORDER if customers else ():
            customer_id, store_id = customers[ctx.rng.randrange(len(customers))]
            posted_at = ctx.now - timedelta(days=ctx.rng.uniform(1, 60))
            row = _review(ctx, counter[0], rating, posted_at)
            row |= {"store_id": store_id, "customer_id": customer_id, "order_id": None, "text": text}
            counter[0] += 1
            yield row

    ctx.insert_batches(Review.__table__, rows(), len(reviewed) + len(WITHOUT_ORDER), "reviews")
    if ctx.session.get_bind().dialect.name == "postgresql":
        sql = (
            "SELECT setval(pg_get_serial_sequence('reviews', 'id'), "
            "(SELECT COALESCE(MAX(id), 1) FROM reviews))"
        )
        ctx.session.execute(sa.text(sql))
