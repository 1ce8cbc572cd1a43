"""Demo stores: a Tmall-style shop bridged with Standard Webhooks, and a Shopify shop."""

from __future__ import annotations

from app.demo import DemoContext
from app.integrations import service
from app.integrations.models import Platform

DEMO_STORES = (
    ("cha-shop", Platform.standard, "山间茶舍（天猫）", "CNY"),
    ("shopify-demo", Platform.shopify, "Hill Tea Shopify", "CNY"),
)


def seed(ctx: DemoContext) -> None:
    ids = []
    for slug, platform, name, currency in DEMO_STORES:
        store = service.get_store_by_slug(ctx.session, slug) or service.create_store(
            ctx.session, slug=slug, platform=platform, name=name, currency=currency, now=ctx.now
        )
        ids.append(store.id)
    ctx.ids["store_ids"] = ids
