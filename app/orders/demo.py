"""Demo orders with line items, shipments and timelines, inserted in batches with explicit ids."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from app.bulk import insert_rows
from app.demo import BATCH, DemoContext, chunked
from app.orders.lifecycle import Stage
from app.orders.models import Order, OrderItem, OrderTimelineEntry, Shipment

CARRIERS = (
    ("顺丰速运", "SF", "https://www.sf-express.com/"),
    ("中通快递", "ZTO", "https://www.zto.com/"),
    ("圆通速递", "YT", "https://www.yto.net.cn/"),
    ("韵达快递", "YD", "https://www.yundaex.com/"),
    ("京东物流", "JDV", "https://www.jdl.com/"),
    ("EMS", "EMS", "https://www.ems.com.cn/"),
)
HISTORY_DAYS = 180


def _next_id(ctx: DemoContext, table: sa.Table) -> int:
    return int(ctx.session.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar_one()) + 1


def _plan(ctx: DemoContext, placed_at: datetime) -> dict[Stage, datetime]:
    """When each stage was reached, for an order placed at `placed_at`, up to ctx.now."""
    rng, now = ctx.rng, ctx.now
    times: dict[Stage, datetime] = {Stage.ordered: placed_at}
    if rng.random() < 0.06:  # never paid: still waiting, or cancelled after a while
        if now - placed_at > timedelta(hours=24) or rng.random() < 0.3:
            times[Stage.cancelled] = placed_at + timedelta(hours=rng.uniform(1, 24))
        return {s: t for s, t in times.items() if t <= now}
    chain = [
        (Stage.paid, timedelta(minutes=rng.uniform(1, 90))),
        (Stage.shipped, timedelta(hours=rng.uniform(4, 48))),
        (Stage.delivered, timedelta(hours=rng.uniform(20, 96))),
        (Stage.confirmed, timedelta(days=rng.uniform(0.2, 8))),
        (Stage.review_requested, timedelta(days=1)),
        (Stage.reviewed, timedelta(days=rng.uniform(0.5, 9))),
    ]
    at = placed_at
    for stage, gap in chain:
        if stage == Stage.reviewed and rng.random() < 0.55:
            break  # most buyers never review
        at = at + gap
        if at > now:
            break
        times[stage] = at
    if Stage.paid in times and rng.random() < 0.04:
        refund_at = max(times.values()) + timedelta(days=rng.uniform(0.5, 5))
        if refund_at <= now:
            times[Stage.refunded] = refund_at
    return times


def seed(ctx: DemoContext) -> None:
    customers: list[tuple[int, int]] = ctx.ids.get("customers", [])
    if not customers or not ctx.sizes.orders:
        ctx.ids["orders"] = []
        return
    by_store: dict[int, list[dict[str, Any]]] = {}
    for product in ctx.ids["products"]:
        by_store.setdefault(product["store_id"], []).append(product)
    agents = ctx.ids.get("agents") or [None]
    first_order, first_item = _next_id(ctx, Order.__table__), _next_id(ctx, OrderItem.__table__)
    first_shipment, first_entry = (
        _next_id(ctx, Shipment.__table__),
        _next_id(ctx, OrderTimelineEntry.__table__),
    )
    counters = {"item": first_item, "shipment": first_shipment, "entry": first_entry}
    items: list[dict[str, Any]] = []
    shipments: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    summary: list[tuple[int, int, int, str]] = []

    def orders() -> Iterator[dict[str, Any]]:
        rng, now = ctx.rng, ctx.now
        for n in range(ctx.sizes.orders):
            order_id = first_order + n
            customer_id, store_id = customers[rng.randrange(len(customers))]
            placed_at = now - timedelta(days=rng.uniform(0, HISTORY_DAYS) ** 1.15 / HISTORY_DAYS**0.15)
            times = _plan(ctx, placed_at)
            stage = Stage.ordered
            for candidate in (
                Stage.paid,
                Stage.shipped,
                Stage.delivered,
                Stage.confirmed,
                Stage.review_requested,
                Stage.reviewed,
                Stage.cancelled,
                Stage.refunded,
            ):
                if candidate in times:
                    stage = candidate
            subtotal = Decimal("0.00")
            for product in rng.sample(
                by_store[store_id], k=min(len(by_store[store_id]), rng.choice((1, 1, 1, 2, 3)))
            ):
                quantity = rng.choice((1, 1, 1, 2, 2, 3))
                agreed = None
                if rng.random() < 0.15:
                    floor, listed = product["floor_price"], product["list_price"]
                    agreed = (floor + (listed - floor) * Decimal(rng.randint(0, 10)) / 10).quantize(
                        Decimal("1")
                    )
                line_total = (agreed if agreed is not None else product["list_price"]) * quantity
                subtotal += line_total
                items.append(
                    {
                        "id": counters["item"],
                        "order_id": order_id,
                        "product_id": product["id"],
                        "sku": product["sku"],
                        "title": product["title"],
                        "quantity": quantity,
                        "unit_price": product["list_price"],
                        "agreed_price": agreed,
                        "line_total": line_total,
                    }
                )
                counters["item"] += 1
            shipping_fee = Decimal("0.00") if subtotal >= 99 else Decimal("8.00")
            discount = Decimal(rng.choice((0, 0, 0, 5, 10, 20))).quantize(Decimal("0.01"))
            discount = min(discount, subtotal)
            total = subtotal + shipping_fee - discount
            if Stage.shipped in times:
                carrier, prefix, url = CARRIERS[rng.randrange(len(CARRIERS))]
                shipments.append(
                    {
                        "id": counters["shipment"],
                        "order_id": order_id,
                        "external_id": None,
                        "carrier": carrier,
                        "tracking_number": f"{prefix}{rng.randrange(10**11, 10**12)}",
                        "tracking_url": url,
                        "carrier_status": "delivered" if Stage.delivered in times else "in_transit",
                        "shipped_at": times[Stage.shipped],
                        "delivered_at": times.get(Stage.delivered),
                        "created_at": times[Stage.shipped],
                        "updated_at": times.get(Stage.delivered, times[Stage.shipped]),
                    }
                )
                counters["shipment"] += 1
            previous = None
            for step, at in sorted(times.items(), key=lambda kv: kv[1]):
                entries.append(
                    {
                        "id": counters["entry"],
                        "order_id": order_id,
                        "from_stage": previous,
                        "to_stage": step,
                        "actor_type": "system" if step in (Stage.review_requested,) else "storefront",
                        "actor_id": None,
                        "reason": "",
                        "occurred_at": at,
                        "created_at": at,
                    }
                )
                counters["entry"] += 1
                previous = step
            summary.append((order_id, customer_id, store_id, stage.value))
            assisted = agents[rng.randrange(len(agents))] if rng.random() < 0.35 else None
            yield {
                "id": order_id,
                "store_id": store_id,
                "customer_id": customer_id,
                "external_id": str(5_000_000_000 + order_id),
                "number": f"HT{placed_at:%Y%m%d}{order_id:06d}",
                "stage": stage,
                "currency": "CNY",
                "subtotal": subtotal,
                "shipping_fee": shipping_fee,
                "discount_total": discount,
                "total": total,
                "refunded_amount": total if Stage.refunded in times else Decimal("0.00"),
                "assisted_by_id": assisted,
                "placed_at": placed_at,
                "paid_at": times.get(Stage.paid),
                "shipped_at": times.get(Stage.shipped),
                "delivered_at": times.get(Stage.delivered),
                "confirmed_at": times.get(Stage.confirmed),
                "review_requested_at": times.get(Stage.review_requested),
                "reviewed_at": times.get(Stage.reviewed),
                "cancelled_at": times.get(Stage.cancelled),
                "refunded_at": times.get(Stage.refunded),
                "source_updated_at": max(times.values()),
                "note": "",
                "created_at": placed_at,
                "updated_at": max(times.values()),
            }

    # Orders first, then the rows that reference them, a batch at a time (bounded memory).
    task = ctx.progress.add_task("orders", total=ctx.sizes.orders)
    for batch in chunked(orders(), BATCH):
        insert_rows(ctx.session, Order.__table__, batch)
        for table, rows in (
            (OrderItem.__table__, items),
            (Shipment.__table__, shipments),
            (OrderTimelineEntry.__table__, entries),
        ):
            if rows:
                insert_rows(ctx.session, table, rows)
                rows.clear()
        ctx.progress.advance(task, len(batch))
    _fix_sequences(ctx)
    from app.customers.service import recompute_all_lifetime

    recompute_all_lifetime(ctx.session, now=ctx.now)
    ctx.ids["orders"] = summary


def _fix_sequences(ctx: DemoContext) -> None:
    if ctx.session.get_bind().dialect.name != "postgresql":
        return
    for table in ("orders", "order_items", "shipments", "order_timeline"):
        # Table names come from the list above, never from input.
        sequence = f"pg_get_serial_sequence('{table}', 'id')"
        sql = f"SELECT setval({sequence}, (SELECT COALESCE(MAX(id), 1) FROM {table}))"  # noqa: S608
        ctx.session.execute(sa.text(sql))
