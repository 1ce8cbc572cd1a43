"""Demo seed: the default rules, two revisit plans, and follow-ups in realistic states for recent orders."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.accounts import service as accounts
from app.demo import DemoContext
from app.followups import revisits
from app.followups.jobs import claim_due, handle_claimed
from app.followups.rules import ensure_default_rules
from app.followups.schedule import backfill_orders
from app.orders.models import Order

RECENT = timedelta(days=14)
MOST_ORDERS = 2_000


def seed(ctx: DemoContext) -> None:
    session, now = ctx.session, ctx.now
    ensure_default_rules(session, now=now)
    if accounts.get_team_by_name(session, "物流跟踪") is None:
        accounts.create_team(session, name="物流跟踪", description="Proactive shipping follow-up", now=now)
    if not revisits.list_plans(session):
        revisits.create_plan(
            session,
            data={
                "name": "中秋问候（VIP）",
                "schedule": "named",
                "named_dates": ["mid_autumn"],
                "send_hour": 10,
                "category": "revisit_holiday",
                "action": "auto",
                "segment": {"min_vip_level": 2},
            },
            now=now,
        )
        revisits.create_plan(
            session,
            data={
                "name": "收货 30 天保养提醒",
                "schedule": "relative",
                "first_after_days": 30,
                "repeat_days": 90,
                "category": "revisit_care",
                "action": "task",
                "segment": {},
            },
            now=now,
        )
    # Follow-ups of the last two weeks' orders, handled up to now: tasks, messages and skips — of
    # the latest MOST_ORDERS at most: each goes through the dispatch worker's own handling (a few
    # milliseconds apiece), which would take the better part of an hour at a million orders.
    table = Order.__table__
    latest = (
        sa.select(table.c.id)
        .where(table.c.placed_at >= now - RECENT)
        .order_by(table.c.placed_at.desc())
        .limit(MOST_ORDERS)
    )
    recent = sorted(row[0] for row in session.execute(latest))
    task = ctx.progress.add_task("follow-ups", total=len(recent))
    for start in range(0, len(recent), 2_000):
        backfill_orders(session, order_ids=recent[start : start + 2_000], now=now)
        ctx.progress.advance(task, len(recent[start : start + 2_000]))
    worker = f"demo-{now:%H%M%S}"
    while ids := claim_due(session, now=now, token=worker, limit=1_000):
        handle_claimed(session, ids, token=worker, now=now)
    for plan in revisits.list_plans(session):
        revisits.materialise(session, plan, now=now)
