"""Demo after-sales cases: ~5% of paid orders, every refunded order, with history, in batches."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from app.aftersales.lifecycle import NEEDS_RETURN, OUTCOME, CaseKind, CaseReason, CaseState
from app.aftersales.models import AftersalesCase, CaseHistoryEntry
from app.aftersales.policy import recommend
from app.bulk import insert_rows
from app.demo import BATCH, DemoContext, chunked
from app.integrations.models import Store
from app.orders.models import Order

SHARE = 0.05
CENT = Decimal("0.01")
K, R = CaseKind, CaseReason
# (kind, reason, description) by what a buyer at that point of the order typically asks.
BEFORE_DELIVERY = (
    (K.price_adjustment, R.other, "刚下单第二天就降价了，能补一下差价吗？"),
    (K.price_adjustment, R.other, "直播间价格比我拍的便宜，申请价保。"),
    (K.resend, R.damaged_in_transit, "物流显示包裹丢失，麻烦补发一份。"),
)
AFTER_DELIVERY = (
    (K.exchange, R.size_fit, "尺码偏小想换大一号。"),
    (K.exchange, R.size_fit, "穿着有点紧，想换L码。"),
    (K.exchange, R.wrong_item, "拍的是原味，收到的是五香味，麻烦换一下。"),
    (K.return_refund, R.quality, "茶叶有受潮结块的情况，想退货。"),
    (K.return_refund, R.seven_day_no_reason, "不太喜欢这个口味，七天无理由退货，包装未拆。"),
    (K.return_refund, R.not_as_described, "颜色和详情页图片差别很大。"),
    (K.refund_only, R.damaged_in_transit, "收到时外包装破损，里面罐子压扁了，申请部分退款。"),
    (K.refund_only, R.quality, "有两个果子坏了，拍了照片，申请退款。"),
    (K.resend, R.wrong_item, "少发了一盒，订单里是两盒只收到一盒。"),
    (K.resend, R.damaged_in_transit, "瓶子碎了，漏了一箱，麻烦补发。"),
    (K.price_adjustment, R.other, "签收后发现活动降价了，申请补差价。"),
)
REFUNDED = (
    (K.refund_only, R.other, "拍错了，还没发货，申请退款。"),
    (K.refund_only, R.other, "地址填错了，麻烦取消退款，我重新拍。"),
    (K.return_refund, R.quality, "做工有瑕疵，退货退款。"),
    (K.return_refund, R.seven_day_no_reason, "七天无理由退货，商品完好，吊牌都在。"),
)
NOTES = {
    CaseState.approved: ("同意，已发退货地址", "已核实照片，同意处理", "同意，运费由店铺承担"),
    CaseState.rejected: ("商品已拆封影响二次销售，无法七天无理由", "超出售后期限，已致歉并赠送优惠券"),
    CaseState.awaiting_return: ("已发送退货地址，提醒买家填写单号",),
    CaseState.return_received: ("退货已签收，商品完好",),
    CaseState.refunded: ("已退款",),
    CaseState.exchanged: ("新的尺码已发出",),
    CaseState.resent: ("已补发，顺丰单号已告知买家",),
    CaseState.closed: ("买家确认，售后完结",),
}


def _next_id(ctx: DemoContext, table: sa.Table) -> int:
    return int(ctx.session.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar_one()) + 1


def _path(kind: CaseKind, approve: bool) -> list[CaseState]:
    if not approve:
        return [CaseState.rejected, CaseState.closed]
    middle = [CaseState.awaiting_return, CaseState.return_received] if kind in NEEDS_RETURN else []
    return [CaseState.approved, *middle, OUTCOME[kind], CaseState.closed]


def _gaps(ctx: DemoContext, path: list[CaseState]) -> list[timedelta]:
    rng = ctx.rng
    typical = {
        CaseState.approved: timedelta(hours=rng.uniform(0.5, 30)),
        CaseState.rejected: timedelta(hours=rng.uniform(1, 30)),
        CaseState.awaiting_return: timedelta(minutes=rng.uniform(5, 90)),
        CaseState.return_received: timedelta(days=rng.uniform(2, 5)),
        CaseState.refunded: timedelta(hours=rng.uniform(1, 60)),
        CaseState.exchanged: timedelta(hours=rng.uniform(4, 48)),
        CaseState.resent: timedelta(hours=rng.uniform(2, 30)),
        CaseState.closed: timedelta(days=rng.uniform(1, 4)),
    }
    return [typical[s] for s in path]


def _case(
    ctx: DemoContext,
    case_id: int,
    order: Any,
    stage: str,
    store: Any,
    history: list[dict[str, Any]],
    next_entry: list[int],
    agents: list[int],
) -> dict[str, Any] | None:
    rng, now = ctx.rng, ctx.now
    total = order.total
    refunded_order = stage == "refunded"
    if refunded_order:
        # Refunded before delivery: a plain refund; after: the goods came back.
        kind, reason, description = REFUNDED[rng.randrange(2) + (2 if order.delivered_at else 0)]
    elif order.delivered_at is None:
        kind, reason, description = BEFORE_DELIVERY[rng.randrange(len(BEFORE_DELIVERY))]
    else:
        kind, reason, description = AFTER_DELIVERY[rng.randrange(len(AFTER_DELIVERY))]
    start = order.delivered_at or order.shipped_at or order.paid_at
    if start is None:
        return None
    if kind == K.price_adjustment:
        amount = min(Decimal(rng.choice((5, 10, 15, 20, 30))), total)
    elif kind == K.refund_only:
        amount = (
            total if refunded_order else (total * Decimal(rng.choice((10, 20, 30, 50))) / 100).quantize(CENT)
        )
    elif kind == K.return_refund:
        amount = total if refunded_order else (total / 2).quantize(CENT)
    else:
        amount = Decimal("0.00")
    if not refunded_order and amount >= total:
        amount = (total / 2).quantize(CENT)  # an order refunded whole is a refunded order
    path = _path(kind, approve=refunded_order or rng.random() > 0.08)
    gaps = _gaps(ctx, path)
    if refunded_order:
        # The case ends in the order's refund: squeeze its steps before refunded_at.
        resolved = order.refunded_at or now
        before_outcome = sum(gaps[: path.index(CaseState.refunded) + 1], timedelta())
        requested_at = max(start, resolved - before_outcome - timedelta(hours=rng.uniform(1, 12)))
        scale = (resolved - requested_at) / (before_outcome + timedelta(hours=1))
        gaps = [g * scale if i <= path.index(CaseState.refunded) else g for i, g in enumerate(gaps)]
    else:
        requested_at = start + timedelta(hours=rng.uniform(2, 24 * 6))
    if requested_at > now:
        requested_at = now - timedelta(hours=rng.uniform(0.5, 20))
    if requested_at < order.placed_at:
        return None
    row: dict[str, Any] = {
        "id": case_id,
        "order_id": order.id,
        "customer_id": order.customer_id,
        "store_id": order.store_id,
        "external_id": None,
        "kind": kind,
        "reason": reason,
        "state": CaseState.requested,
        "description": description,
        "currency": order.currency,
        "requested_amount": amount,
        "refunded_amount": Decimal("0.00"),
        "recommendation": recommend(
            kind,
            reason,
            days_since_delivery=None
            if order.delivered_at is None
            else (requested_at - order.delivered_at).total_seconds() / 86400,
        ).code,
        "decided_in_buyer_favour": None,
        "opened_by_id": None,
        "requested_at": requested_at,
        "respond_by_at": requested_at + timedelta(hours=store.aftersales_respond_hours),
        "decided_at": None,
        "return_received_at": None,
        "refund_by_at": None,
        "resolved_at": None,
        "closed_at": None,
        "created_at": requested_at,
        "updated_at": requested_at,
    }

    def entry(from_state: CaseState | None, to_state: CaseState, at: datetime, actor_type: str) -> None:
        notes = NOTES.get(to_state, ("买家申请售后",))
        history.append(
            {
                "id": next_entry[0],
                "case_id": case_id,
                "from_state": from_state,
                "to_state": to_state,
                "actor_type": actor_type,
                "actor_id": agent if actor_type == "agent" else None,
                "note": notes[rng.randrange(len(notes))],
                "occurred_at": at,
            }
        )
        next_entry[0] += 1

    agent = agents[rng.randrange(len(agents))] if agents else None
    entry(None, CaseState.requested, requested_at, "storefront")
    at, state, changed = requested_at, CaseState.requested, requested_at
    refund_hours = timedelta(hours=store.aftersales_refund_hours)
    for target, gap in zip(path, gaps, strict=True):
        at = at + gap
        if at > now:
            break
        entry(state, target, at, "agent" if agent else "system")
        state, changed = target, at
        if target in (CaseState.approved, CaseState.rejected):
            row["decided_at"] = at
            if target == CaseState.rejected:
                row["decided_in_buyer_favour"] = False
            elif kind in (K.refund_only, K.price_adjustment):
                row["refund_by_at"] = at + refund_hours
        elif target == CaseState.return_received:
            row["return_received_at"], row["refund_by_at"] = at, at + refund_hours
        elif target in (CaseState.refunded, CaseState.exchanged, CaseState.resent):
            row["resolved_at"], row["decided_in_buyer_favour"] = at, True
            if target == CaseState.refunded:
                row["refunded_amount"] = amount
        elif target == CaseState.closed:
            row["closed_at"] = at
    # The last step taken, not the one after `now` that stopped the walk (never a future time).
    row["state"], row["updated_at"] = state, changed
    return row


def seed(ctx: DemoContext) -> None:
    orders: list[tuple[int, int, int, str]] = ctx.ids.get("orders", [])
    chosen = [
        (order_id, stage)
        for order_id, _, _, stage in orders
        if stage == "refunded" or (stage not in ("ordered", "cancelled") and ctx.rng.random() < SHARE)
    ]
    ctx.ids["cases"] = []
    if not chosen:
        return
    stores = {s.id: s for s in ctx.session.execute(sa.select(Store)).scalars()}
    agents = [a for a in ctx.ids.get("agents", []) if a]
    first_case = _next_id(ctx, AftersalesCase.__table__)
    next_entry = [_next_id(ctx, CaseHistoryEntry.__table__)]
    history: list[dict[str, Any]] = []
    order_refunds: list[dict[str, Any]] = []
    columns = [
        Order.__table__.c[name]
        for name in (
            "id",
            "customer_id",
            "store_id",
            "currency",
            "total",
            "placed_at",
            "paid_at",
            "shipped_at",
            "delivered_at",
            "refunded_at",
        )
    ]
    counter = [first_case]

    def cases() -> Iterator[dict[str, Any]]:
        for batch in chunked(({"id": i, "stage": s} for i, s in chosen), BATCH):
            stage_of = {b["id"]: b["stage"] for b in batch}
            query = (
                sa.select(*columns)
                .where(Order.__table__.c.id.in_(list(stage_of)))
                .order_by(Order.__table__.c.id)
            )
            for order in ctx.session.execute(query):
                stage = stage_of[order.id]
                row = _case(
                    ctx, counter[0], order, stage, stores[order.store_id], history, next_entry, agents
                )
                if row is None:
                    continue
                counter[0] += 1
                ctx.ids["cases"].append(row["id"])
                if row["refunded_amount"] and stage != "refunded":
                    order_refunds.append({"order_id": order.id, "amount": row["refunded_amount"]})
                yield row

    task = ctx.progress.add_task("after-sales cases", total=len(chosen))
    for batch in chunked(cases(), BATCH):
        insert_rows(ctx.session, AftersalesCase.__table__, batch)
        insert_rows(ctx.session, CaseHistoryEntry.__table__, history)
        history.clear()
        ctx.progress.advance(task, len(batch))
    if order_refunds:
        # Partial refunds (price adjustments, partial refund-only) are on the order too.
        table = Order.__table__
        statement = (
            table.update()
            .where(table.c.id == sa.bindparam("order_id"))
            .values(
                refunded_amount=table.c.refunded_amount
                + sa.bindparam("amount", type_=table.c.refunded_amount.type)
            )
        )
        ctx.session.execute(statement, order_refunds)
        from app.customers.service import recompute_all_lifetime

        recompute_all_lifetime(ctx.session, now=ctx.now)
    _fix_sequences(ctx)


def _fix_sequences(ctx: DemoContext) -> None:
    if ctx.session.get_bind().dialect.name != "postgresql":
        return
    for table in ("aftersales_cases", "aftersales_case_history"):
        sequence = f"pg_get_serial_sequence('{table}', 'id')"
        sql = f"SELECT setval({sequence}, (SELECT COALESCE(MAX(id), 1) FROM {table}))"  # noqa: S608
        ctx.session.execute(sa.text(sql))
