"""Sales KPI families: inquiries (询单转化率, the funnel), bargaining, assisted sales, refunds, discounts.

Rules where the issue is silent:
- A buyer counts once per day per agent (practitioners' 询单人数 counts a buyer once a day), so
  the figures add up over days; a buyer served by two agents on one day counts for each.
- 询单转化率: the buyer paid an order (any order of theirs in that store) at or after the inquiry
  opened and within the store's inquiry window (Store.inquiry_win_days, default 3 days).
- 客服销售额 / 客单价: orders credited to an agent (Order.assisted_by_id), by the day they were
  paid, gross of refunds and including postage. 客单价 = 客服销售额 ÷ paying buyers (per day).
- 退款率: orders paid in the period that have any refund so far ÷ orders paid in the period
  (a cohort: it may still rise as refunds of those orders come in). Credited to the assisting agent.
- Average discount: over bargained lines (an agreed price) of assisted orders paid in the period,
  1 − Σ agreed × qty ÷ Σ list × qty.
- 议价成功率: inquiries with at least one bargaining round closed in the period: won ÷ won + lost.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.integrations.models import Store
from app.metrics.base import Family, Scope, cents, count_if, sum_if
from app.metrics.dialect import Sql
from app.orders.models import Order, OrderItem
from app.presale.models import BargainRound, Inquiry

inquiries = Inquiry.__table__
orders = Order.__table__
items = OrderItem.__table__
rounds = BargainRound.__table__
stores = Store.__table__


def _inquiries(sql: Sql, scope: Scope) -> Any:
    i = inquiries
    window_days = (
        sa.select(stores.c.inquiry_win_days).where(stores.c.id == i.c.store_id).correlate(i).scalar_subquery()
    )
    paid_in_window = (
        sa.select(sa.literal(1))
        .where(
            orders.c.customer_id == i.c.customer_id,
            orders.c.store_id == i.c.store_id,
            orders.c.paid_at >= i.c.opened_at,
            sql.seconds(i.c.opened_at, orders.c.paid_at) <= window_days * 86400,
        )
        .exists()
    )
    per_buyer = (
        sa.select(
            sql.local_day(i.c.opened_at).label("d"),
            i.c.store_id.label("s"),
            i.c.agent_id.label("a"),
            i.c.customer_id.label("c"),
            sa.func.max(sa.case((paid_in_window, 1), else_=0)).label("conv"),
        )
        .where(sql.within(i.c.opened_at), *scope.where(store=i.c.store_id, agent=i.c.agent_id))
        .group_by("d", "s", "a", "c")
        .subquery()
    )
    return sa.select(
        per_buyer.c.d,
        per_buyer.c.s,
        per_buyer.c.a,
        sa.func.count().label("inq_buyers"),
        sa.func.sum(per_buyer.c.conv).label("inq_converted"),
    ).group_by(per_buyer.c.d, per_buyer.c.s, per_buyer.c.a)


FUNNEL_STEPS = ("ordered", "paid", "shipped", "delivered", "confirmed", "reviewed")


def _funnel(sql: Sql, scope: Scope) -> Any:
    i, o = inquiries, orders
    steps = [count_if(i.c.won_order_id.is_not(None)).label("funnel_ordered")]
    steps += [
        count_if(getattr(o.c, f"{step}_at").is_not(None)).label(f"funnel_{step}") for step in FUNNEL_STEPS[1:]
    ]
    return (
        sa.select(
            sql.local_day(i.c.opened_at).label("d"),
            i.c.store_id.label("s"),
            i.c.agent_id.label("a"),
            sa.func.count().label("funnel_inquired"),
            *steps,
        )
        .select_from(i.outerjoin(o, o.c.id == i.c.won_order_id))
        .where(sql.within(i.c.opened_at), *scope.where(store=i.c.store_id, agent=i.c.agent_id))
        .group_by("d", "s", "a")
    )


def _bargaining(sql: Sql, scope: Scope) -> Any:
    i = inquiries
    bargained = sa.select(sa.literal(1)).where(rounds.c.inquiry_id == i.c.id).exists()
    return (
        sa.select(
            sql.local_day(i.c.closed_at).label("d"),
            i.c.store_id.label("s"),
            i.c.agent_id.label("a"),
            sa.func.count().label("bargain_closed"),
            count_if(i.c.status == "won").label("bargain_won"),
        )
        .where(
            sql.within(i.c.closed_at),
            i.c.status.in_(("won", "lost")),
            bargained,
            *scope.where(store=i.c.store_id, agent=i.c.agent_id),
        )
        .group_by("d", "s", "a")
    )


def _orders(sql: Sql, scope: Scope) -> Any:
    o = orders
    per_buyer = (
        sa.select(
            sql.local_day(o.c.paid_at).label("d"),
            o.c.store_id.label("s"),
            o.c.assisted_by_id.label("a"),
            o.c.customer_id.label("c"),
            sa.func.count().label("n"),
            count_if(cents(o.c.refunded_amount) > 0).label("refunded"),
            sa.func.sum(cents(o.c.total)).label("total"),
        )
        .where(sql.within(o.c.paid_at), *scope.where(store=o.c.store_id, agent=o.c.assisted_by_id))
        .group_by("d", "s", "a", "c")
        .subquery()
    )
    p = per_buyer
    assisted = p.c.a.is_not(None)
    return sa.select(
        p.c.d,
        p.c.s,
        p.c.a,
        sa.func.sum(p.c.n).label("orders_paid"),
        sa.func.sum(p.c.refunded).label("orders_refunded"),
        sum_if(assisted, p.c.total).label("sales_cents"),
        count_if(assisted).label("sales_buyers"),
    ).group_by(p.c.d, p.c.s, p.c.a)


def _discounts(sql: Sql, scope: Scope) -> Any:
    o, it = orders, items
    listed = cents(it.c.unit_price) * it.c.quantity
    agreed = cents(it.c.agreed_price) * it.c.quantity
    return (
        sa.select(
            sql.local_day(o.c.paid_at).label("d"),
            o.c.store_id.label("s"),
            o.c.assisted_by_id.label("a"),
            sa.func.sum(listed).label("list_cents"),
            sa.func.sum(listed - agreed).label("discount_cents"),
        )
        .select_from(o.join(it, it.c.order_id == o.c.id))
        .where(
            sql.within(o.c.paid_at),
            o.c.assisted_by_id.is_not(None),
            it.c.agreed_price.is_not(None),
            *scope.where(store=o.c.store_id, agent=o.c.assisted_by_id),
        )
        .group_by("d", "s", "a")
    )


FAMILIES = (
    Family("inquiries", ("inq_buyers", "inq_converted"), _inquiries),
    Family(
        "funnel",
        ("funnel_inquired", *(f"funnel_{step}" for step in FUNNEL_STEPS)),
        _funnel,
    ),
    Family("bargaining", ("bargain_closed", "bargain_won"), _bargaining),
    Family("orders", ("orders_paid", "orders_refunded", "sales_cents", "sales_buyers"), _orders),
    Family("discounts", ("list_cents", "discount_cents"), _discounts),
)
