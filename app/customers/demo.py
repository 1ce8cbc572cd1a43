"""Demo buyers spread over the stores: Chinese names, phones and addresses, tags, VIP, consent.

Fast at scale: Faker fills small pools once; each row is then drawn from the pools with ctx.rng.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from app.customers.models import Customer
from app.demo import DemoContext

POOL = 2_000
# province, city, districts
PLACES = (
    ("浙江省", "杭州市", ("西湖区", "拱墅区", "滨江区", "余杭区", "上城区")),
    ("浙江省", "宁波市", ("海曙区", "鄞州区", "江北区")),
    ("上海市", "上海市", ("浦东新区", "徐汇区", "静安区", "闵行区", "杨浦区")),
    ("北京市", "北京市", ("朝阳区", "海淀区", "东城区", "丰台区")),
    ("广东省", "广州市", ("天河区", "越秀区", "海珠区", "番禺区")),
    ("广东省", "深圳市", ("南山区", "福田区", "宝安区", "龙岗区")),
    ("江苏省", "南京市", ("鼓楼区", "玄武区", "建邺区")),
    ("江苏省", "苏州市", ("姑苏区", "工业园区", "吴中区")),
    ("四川省", "成都市", ("武侯区", "锦江区", "青羊区", "高新区")),
    ("湖北省", "武汉市", ("武昌区", "洪山区", "江汉区")),
    ("福建省", "福州市", ("鼓楼区", "台江区", "仓山区")),
    ("福建省", "厦门市", ("思明区", "湖里区", "集美区")),
    ("山东省", "济南市", ("历下区", "市中区", "槐荫区")),
    ("山东省", "青岛市", ("市南区", "崂山区", "黄岛区")),
    ("河南省", "郑州市", ("金水区", "二七区", "中原区")),
    ("湖南省", "长沙市", ("岳麓区", "芙蓉区", "天心区")),
    ("陕西省", "西安市", ("雁塔区", "碑林区", "未央区")),
    ("云南省", "昆明市", ("五华区", "盘龙区", "官渡区")),
    ("重庆市", "重庆市", ("渝中区", "江北区", "南岸区", "沙坪坝区")),
    ("天津市", "天津市", ("和平区", "南开区", "河西区")),
    ("安徽省", "合肥市", ("蜀山区", "包河区", "庐阳区")),
    ("辽宁省", "沈阳市", ("和平区", "沈河区", "浑南区")),
)
NICK_HEADS = ("爱喝茶的", "小", "快乐的", "一只", "南方的", "北漂", "慢生活", "温柔的", "努力的", "佛系")
NICK_TAILS = ("小王", "猫咪", "橘子", "阿杰", "茶友", "麦兜", "柠檬", "小鱼", "老李", "团子", "豆豆", "木木")
TAGS = (("老客", 0.25), ("VIP", 0.08), ("爱砍价", 0.12), ("送礼", 0.1), ("退货多", 0.03), ("企业采购", 0.02))
VIP_WEIGHTS = (70, 12, 7, 4, 3, 2, 1, 0.5, 0.3, 0.2)
PHONE_PREFIXES = ("13", "15", "17", "18", "19", "16", "14")
MAIL_DOMAINS = ("qq.com", "163.com", "126.com", "foxmail.com", "sina.com")
NOTES = (
    "",
    "",
    "",
    "",
    "只在晚上回消息",
    "怕苦，推荐口感柔和的茶",
    "送礼为主，注意包装",
    "对价格敏感",
    "喜欢顺丰",
)


def _pools(ctx: DemoContext) -> dict[str, list[str]]:
    faker, rng = ctx.faker, ctx.rng
    return {
        "names": [faker.name() for _ in range(POOL)],
        "streets": [
            f"{faker.street_name()}{faker.building_number()}号{rng.randint(1, 30)}幢{rng.randint(101, 2505)}"
            for _ in range(POOL)
        ],
        "users": [faker.user_name() for _ in range(POOL)],
    }


def _email(rng: Any, pools: dict[str, list[str]]) -> str:
    return f"{rng.choice(pools['users'])}{rng.randint(1, 999)}@{rng.choice(MAIL_DOMAINS)}"


def _rows(ctx: DemoContext, total: int, pools: dict[str, list[str]]) -> Iterator[dict[str, Any]]:
    rng, now = ctx.rng, ctx.now
    store_ids = ctx.ids["store_ids"]
    vip_levels = list(range(10))
    for i in range(total):
        province, city, districts = rng.choice(PLACES)
        created = now - timedelta(days=rng.uniform(200, 1100), seconds=rng.randint(0, 86_399))
        consent = rng.random() < 0.6
        consent_at = created + timedelta(days=rng.uniform(0, 150)) if consent else None
        opted_out_at = None
        if not consent and rng.random() < 0.08:
            opted_out_at = created + timedelta(days=rng.uniform(1, 190))
        if rng.random() < 0.5:
            nickname = f"{rng.choice(NICK_HEADS)}{rng.choice(NICK_TAILS)}{rng.randint(1, 9999)}"
        else:
            nickname = f"{rng.choice(pools['users'])}{rng.randint(10, 99)}"
        vip = rng.choices(vip_levels, weights=VIP_WEIGHTS)[0]
        tags = [tag for tag, share in TAGS if rng.random() < share]
        if vip >= 3 and "VIP" not in tags:
            tags.append("VIP")
        yield {
            "store_id": store_ids[i % len(store_ids)] if rng.random() < 0.8 else rng.choice(store_ids),
            "external_id": f"b{i + 1:08d}",
            "nickname": nickname[:64],
            "name": rng.choice(pools["names"]),
            "phone": f"{rng.choice(PHONE_PREFIXES)}{rng.randint(0, 9)}{rng.randint(0, 99_999_999):08d}",
            "email": _email(rng, pools) if rng.random() < 0.35 else "",
            "province": province,
            "city": city,
            "district": rng.choice(districts),
            "street": rng.choice(pools["streets"]),
            "tags": tags,
            "vip_level": vip,
            "notes": rng.choice(NOTES),
            "marketing_consent": consent,
            "consent_at": consent_at,
            "opted_out_at": opted_out_at,
            "orders_count": 0,
            "total_spent": 0,
            "refunds_count": 0,
            "refunded_total": 0,
            "last_order_at": None,
            "erased_at": None,
            "created_at": created,
            "updated_at": max(t for t in (created, consent_at, opted_out_at) if t is not None),
        }


def seed(ctx: DemoContext) -> None:
    table = Customer.__table__
    before = ctx.session.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar_one()
    total = ctx.sizes.customers
    ctx.insert_batches(table, _rows(ctx, total, _pools(ctx)), total, "customers")
    query = sa.select(table.c.id, table.c.store_id).where(table.c.id > before).order_by(table.c.id)
    ctx.ids["customers"] = [(row.id, row.store_id) for row in ctx.session.execute(query)]
