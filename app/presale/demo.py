"""Demo inquiries with bargaining rounds: about one per three orders, ~45% won by a real order of
the same customer, the rest open, bargaining or lost; a few agreements below the floor await a
supervisor. Batched inserts with explicit ids; deterministic for a seed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from app.audit.models import ApprovalKind
from app.audit.service import request_approval
from app.bulk import insert_rows
from app.demo import BATCH, DemoContext, chunked
from app.orders.models import Order, OrderItem
from app.presale.bargaining import suggest_counter
from app.presale.models import BargainRound, Inquiry, InquiryProduct, InquiryStatus, LostReason

QUESTIONS = (
    "这款是今年的新货吗？",
    "有现货吗？今天下单什么时候发货？",
    "和上次买的是一样的吗？",
    "能开发票吗？",
    "送人的话有礼盒包装吗？",
    "保质期多久？怎么保存？",
    "尺码偏大还是偏小？我平时穿L",
    "是正品吗？有没有质检报告？",
)
BUYER_NOTES = (
    "包邮吗？",
    "能便宜点吗？",
    "送个茶宠吧",
    "老顾客了，再少点呗",
    "别家比你们便宜",
    "买两件能打折吗？",
    "再便宜点我马上拍",
    "",
)
AGENT_NOTES = (
    "亲，这已经是活动价了哦",
    "最低了，再低就亏本了",
    "老顾客给您特别优惠",
    "",
)
LOST_REASONS = (
    (LostReason.price, 40),
    (LostReason.no_reply, 25),
    (LostReason.chose_another_shop, 15),
    (LostReason.delivery_time, 8),
    (LostReason.stock, 7),
    (LostReason.other, 5),
)
LOST_NOTES = {
    LostReason.price: ("嫌贵，说再看看", "预算不够", ""),
    LostReason.no_reply: ("报价后没有回复", ""),
    LostReason.chose_another_shop: ("去了别家买", "别家有赠品", ""),
    LostReason.delivery_time: ("等不及，要明天到", ""),
    LostReason.stock: ("想要的规格缺货", ""),
    LostReason.other: ("改主意了", ""),
}
CONCESSIONS = (
    ("free_shipping", "8.00", "包邮", "给您包邮哦"),
    ("gift", "15.00", "茶宠", "送您一个小茶宠"),
    ("coupon", "10.00", "店铺券", "给您申请了一张店铺优惠券"),
)
PENDING_APPROVALS = 5
YUAN = Decimal("1")


def _next_id(ctx: DemoContext, table: sa.Table) -> int:
    return int(ctx.session.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar_one()) + 1


def _whole(amount: Decimal) -> Decimal:
    return amount.quantize(YUAN, rounding=ROUND_HALF_UP).quantize(Decimal("0.01"))


def _won_orders(ctx: DemoContext, count: int) -> list[tuple[int, int, int, datetime, int]]:
    """(order id, customer id, store id, placed_at, a product of it) for `count` sampled orders."""
    usable = [o for o in ctx.ids.get("orders", []) if o[3] != "cancelled"]
    chosen = sorted(ctx.rng.sample(usable, min(count, len(usable))))
    orders, items = Order.__table__, OrderItem.__table__
    found: dict[int, tuple[datetime, int]] = {}
    for chunk in chunked(({"id": o[0]} for o in chosen), 2000):
        ids = [row["id"] for row in chunk]
        query = (
            sa.select(orders.c.id, orders.c.placed_at, sa.func.min(items.c.product_id))
            .join(items, items.c.order_id == orders.c.id)
            .where(orders.c.id.in_(ids), items.c.product_id.is_not(None))
            .group_by(orders.c.id, orders.c.placed_at)
        )
        for order_id, placed_at, product_id in ctx.session.execute(query):
            found[order_id] = (placed_at, product_id)
    return [(o[0], o[1], o[2], *found[o[0]]) for o in chosen if o[0] in found]


def seed(ctx: DemoContext) -> None:
    customers: list[tuple[int, int]] = ctx.ids.get("customers", [])
    products: list[dict[str, Any]] = ctx.ids.get("products", [])
    if not customers or not products:
        return
    rng, now = ctx.rng, ctx.now
    by_store: dict[int, list[dict[str, Any]]] = {}
    for product in products:
        by_store.setdefault(product["store_id"], []).append(product)
    by_id = {p["id"]: p for p in products}
    agents = ctx.ids.get("agents") or [None]
    orders = ctx.ids.get("orders", [])
    total = max(len(orders) // 3, min(len(customers), 10))
    won = _won_orders(ctx, round(total * 0.45))
    others = total - len(won)
    ids = {
        "inquiry": _next_id(ctx, Inquiry.__table__),
        "link": _next_id(ctx, InquiryProduct.__table__),
        "round": _next_id(ctx, BargainRound.__table__),
    }
    links: list[dict[str, Any]] = []
    rounds: list[dict[str, Any]] = []
    credits: list[dict[str, Any]] = []
    agreed: list[dict[str, Any]] = []
    pending: list[tuple[int, dict[str, Any], int | None]] = []

    def bargain(
        inquiry_id: int, product: dict[str, Any], start: datetime, n: int, agent_id, *, agree: bool
    ) -> datetime:
        """n rounds converging toward the floor; the last is agreed when `agree`. Returns the last time."""
        item = SimpleNamespace(
            id=product["id"], list_price=product["list_price"], floor_price=product["floor_price"]
        )
        history: list[SimpleNamespace] = []
        at = start
        buyer_price = _whole(item.list_price * Decimal(str(rng.uniform(0.6, 0.85))))
        for i in range(n):
            at = at + timedelta(minutes=rng.uniform(1, 90))
            speaker = "buyer" if i % 2 == 0 else "agent"
            concessions: list[dict[str, str]] = []
            if speaker == "buyer":
                price, note = buyer_price, rng.choice(BUYER_NOTES)
                buyer_price = _whole(buyer_price * Decimal(str(rng.uniform(1.0, 1.06))))
            else:
                price, note = suggest_counter(item, history), rng.choice(AGENT_NOTES)
                if rng.random() < 0.35:
                    kind, value, label = rng.choice(
                        (
                            ("free_shipping", "8.00", "包邮"),
                            ("gift", "15.00", "茶宠"),
                            ("coupon", "10.00", "店铺券"),
                        )
                    )
                    concessions.append({"kind": kind, "value": value, "note": label})
            last = i == n - 1
            if last and agree:
                # The deal: the agent's price (or the buyer accepting the agent's last offer).
                accepted = price if speaker == "agent" or not history else history[-1].offered_price
                price = max(accepted, item.floor_price)
                note = (
                    "好的，就这个价，我去拍了" if speaker == "buyer" else "好的，就按这个价，您拍下我来改价"
                )
            value = sum((Decimal(c["value"]) for c in concessions), Decimal("0.00"))
            row = {
                "id": ids["round"],
                "inquiry_id": inquiry_id,
                "product_id": item.id,
                "seq": i + 1,
                "speaker": speaker,
                "offered_price": price,
                "concessions": concessions,
                "concessions_value": value,
                "is_agreed": bool(last and agree),
                "note": note,
                "agent_id": agent_id,
                "offered_at": at,
                "created_at": at,
            }
            ids["round"] += 1
            rounds.append(row)
            history.append(SimpleNamespace(**row))
        return at

    def inquiries() -> Iterator[dict[str, Any]]:
        plan: list[tuple[str, Any]] = [("won", w) for w in won] + [("other", None)] * others
        for kind, order in plan:
            inquiry_id = ids["inquiry"]
            ids["inquiry"] += 1
            agent_id = rng.choice(agents) if rng.random() < 0.9 else None
            if kind == "won":
                order_id, customer_id, store_id, placed_at, product_id = order
                product = by_id.get(product_id) or rng.choice(by_store[store_id])
                opened = placed_at - timedelta(hours=rng.uniform(8, 70))
                chosen = [product]
                n_rounds = rng.choice((0, 2, 2, 3, 4, 5))
                last = bargain(inquiry_id, product, opened, n_rounds, agent_id, agree=n_rounds > 0)
                status, closed, updated = InquiryStatus.won, placed_at, placed_at
                if agent_id is not None:
                    credits.append({"oid": order_id, "aid": agent_id})
                if n_rounds:
                    agreed.append(
                        {"oid": order_id, "pid": product["id"], "price": rounds[-1]["offered_price"]}
                    )
                reason, note, won_id = None, "", order_id
            else:
                customer_id, store_id = rng.choice(customers)
                pool = by_store.get(store_id) or products
                chosen = rng.sample(pool, min(len(pool), rng.choice((1, 1, 1, 2))))
                roll = rng.random()
                status = (
                    InquiryStatus.open
                    if roll < 0.15
                    else InquiryStatus.bargaining
                    if roll < 0.4
                    else InquiryStatus.lost
                )
                recent = status != InquiryStatus.lost
                opened = now - timedelta(hours=rng.uniform(8, 72 if recent else 24 * 180))
                n_rounds = 0 if status == InquiryStatus.open else rng.randint(1, 5)
                if status == InquiryStatus.lost and rng.random() < 0.3:
                    n_rounds = 0
                last = bargain(inquiry_id, chosen[0], opened, n_rounds, agent_id, agree=False)
                won_id, reason, note, closed = None, None, "", None
                if status == InquiryStatus.lost:
                    reason = rng.choices([r for r, _ in LOST_REASONS], [w for _, w in LOST_REASONS])[0]
                    note = rng.choice(LOST_NOTES[reason])
                    closed = min(now, last + timedelta(hours=rng.uniform(1, 48)))
                elif status == InquiryStatus.bargaining and len(pending) < PENDING_APPROVALS and rounds:
                    pending.append((rounds[-1]["id"], chosen[0], agent_id))
                updated = closed or last
            for product in chosen:
                links.append(
                    {"id": ids["link"], "inquiry_id": inquiry_id, "product_id": product["id"], "quantity": 1}
                )
                ids["link"] += 1
            yield {
                "id": inquiry_id,
                "store_id": store_id,
                "customer_id": customer_id,
                "external_id": None,
                "agent_id": agent_id,
                "status": status.value,
                "lost_reason": reason.value if reason else None,
                "lost_note": note,
                "won_order_id": won_id,
                "question": rng.choice(QUESTIONS),
                "opened_at": opened,
                "closed_at": closed,
                "created_at": opened,
                "updated_at": updated,
            }

    task = ctx.progress.add_task("inquiries", total=total)
    for batch in chunked(inquiries(), BATCH):
        insert_rows(ctx.session, Inquiry.__table__, batch)
        for table, rows in ((InquiryProduct.__table__, links), (BargainRound.__table__, rounds)):
            if rows:
                insert_rows(ctx.session, table, rows)
                rows.clear()
        ctx.progress.advance(task, len(batch))
    _fix_sequences(ctx)
    _credit_orders(ctx, credits, agreed)
    _pending_approvals(ctx, pending)


def _credit_orders(ctx: DemoContext, credits: list[dict[str, Any]], agreed: list[dict[str, Any]]) -> None:
    orders, items = Order.__table__, OrderItem.__table__
    credit = (
        sa.update(orders)
        .where(orders.c.id == sa.bindparam("oid"), orders.c.assisted_by_id.is_(None))
        .values(assisted_by_id=sa.bindparam("aid"))
    )
    for chunk in chunked(credits, BATCH):
        ctx.session.execute(credit, chunk)
    # Update lines by primary key: a WHERE on (order_id, product_id) lets SQLite's planner pick the
    # product index (few products, many lines) and scan tens of thousands of rows per update.
    price = (
        sa.update(items)
        .where(items.c.id == sa.bindparam("item_id"), items.c.agreed_price.is_(None))
        .values(agreed_price=sa.bindparam("price"))
    )
    for chunk in chunked(agreed, BATCH):
        wanted = {(row["oid"], row["pid"]): row["price"] for row in chunk}
        lines = ctx.session.execute(
            sa.select(items.c.id, items.c.order_id, items.c.product_id).where(
                items.c.order_id.in_({row["oid"] for row in chunk})
            )
        )
        updates = [
            {"item_id": line.id, "price": wanted[(line.order_id, line.product_id)]}
            for line in lines
            if (line.order_id, line.product_id) in wanted
        ]
        if updates:
            ctx.session.execute(price, updates)


def _pending_approvals(ctx: DemoContext, pending: list[tuple[int, dict[str, Any], int | None]]) -> None:
    """A few agents asked to agree below the floor: the last round waits for the supervisor."""
    for round_id, product, agent_id in pending:
        row = ctx.session.get(BargainRound, round_id)
        if row is None:
            continue
        price = _whole(product["floor_price"] * Decimal("0.95"))
        row.speaker, row.offered_price, row.is_agreed = "agent", price, False
        row.note = "客户说再便宜5%就拍，申请一下"
        ctx.session.add(row)
        ctx.session.flush()
        request_approval(
            ctx.session,
            kind=ApprovalKind.price_below_floor,
            subject_type="bargain_round",
            subject_id=round_id,
            amount=price,
            limit_amount=product["floor_price"],
            currency="CNY",
            reason=f"{product['title']}: {price} < {product['floor_price']} — 客户说再便宜5%就拍",
            requested_by_id=agent_id,
            now=row.offered_at,
        )


def _fix_sequences(ctx: DemoContext) -> None:
    if ctx.session.get_bind().dialect.name != "postgresql":
        return
    for table in ("inquiries", "inquiry_products", "bargain_rounds"):
        # Table names come from the list above, never from input.
        sequence = f"pg_get_serial_sequence('{table}', 'id')"
        sql = f"SELECT setval({sequence}, (SELECT COALESCE(MAX(id), 1) FROM {table}))"  # noqa: S608
        ctx.session.execute(sa.text(sql))
