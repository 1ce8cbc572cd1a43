"""Demo products: teas, tea ware, snacks and clothes, with list and floor prices and care tips."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa

from app.catalog.models import Product
from app.demo import DemoContext

PRODUCTS_PER_STORE = 40
TEA_TIPS = "保存方法：密封、避光、防潮、防异味，常温阴凉处存放；开封后建议一个月内喝完。"
GREEN_TIPS = "保存方法：密封后冷藏（0–5℃）避光保存；冲泡水温 80–85℃，先注水后投茶，不宜久闷。"
PUER_TIPS = "保存方法：通风、避光、无异味处存放，湿度 60–70% 为宜；切勿冷藏，越放越醇。"
WARE_TIPS = "使用保养：首次使用前用温水清洗；避免骤冷骤热；紫砂壶不可用洗洁精，一壶一茶更养壶。"
SNACK_TIPS = "保存方法：阴凉干燥处存放，开封后请尽快食用并封口保存；对坚果过敏者慎食。"
CLOTH_TIPS = "洗涤说明：冷水手洗或轻柔机洗，不可漂白，反面低温熨烫，阴干勿暴晒。"

# (category, title, list price, care tips)
TEMPLATES = (
    ("绿茶", "明前西湖龙井 特级 250g 礼盒", "398.00", GREEN_TIPS),
    ("绿茶", "雨前龙井 一级 250g 袋装", "168.00", GREEN_TIPS),
    ("绿茶", "洞庭碧螺春 明前 100g", "189.00", GREEN_TIPS),
    ("绿茶", "黄山毛峰 特级 200g", "139.00", GREEN_TIPS),
    ("绿茶", "信阳毛尖 雨前 250g", "128.00", GREEN_TIPS),
    ("绿茶", "安吉白茶 明前 125g 罐装", "238.00", GREEN_TIPS),
    ("绿茶", "六安瓜片 一级 200g", "176.00", GREEN_TIPS),
    ("红茶", "正山小种 传统烟熏 250g", "158.00", TEA_TIPS),
    ("红茶", "金骏眉 特级 100g 礼盒", "468.00", TEA_TIPS),
    ("红茶", "祁门红茶 工夫 200g", "136.00", TEA_TIPS),
    ("红茶", "滇红 金芽 250g", "118.00", TEA_TIPS),
    ("乌龙茶", "安溪铁观音 清香型 250g", "148.00", TEA_TIPS),
    ("乌龙茶", "武夷大红袍 岩茶 150g", "328.00", TEA_TIPS),
    ("乌龙茶", "凤凰单丛 蜜兰香 200g", "218.00", TEA_TIPS),
    ("乌龙茶", "冻顶乌龙 台湾高山 150g", "268.00", TEA_TIPS),
    ("普洱", "云南普洱 熟茶饼 357g（2018 年）", "198.00", PUER_TIPS),
    ("普洱", "老班章 生茶饼 357g", "888.00", PUER_TIPS),
    ("普洱", "小青柑普洱 20 颗罐装", "99.00", PUER_TIPS),
    ("白茶", "福鼎白毫银针 100g", "358.00", TEA_TIPS),
    ("白茶", "白牡丹 饼茶 300g", "168.00", TEA_TIPS),
    ("白茶", "寿眉 老白茶 350g", "128.00", TEA_TIPS),
    ("花草茶", "茉莉花茶 飘雪 250g", "88.00", TEA_TIPS),
    ("花草茶", "桂花乌龙 三角包 30 袋", "59.00", TEA_TIPS),
    ("花草茶", "菊花枸杞 养生茶 20 袋", "39.90", TEA_TIPS),
    ("茶具", "宜兴紫砂壶 西施壶 200ml", "458.00", WARE_TIPS),
    ("茶具", "德化白瓷 盖碗套装 一盖碗六杯", "168.00", WARE_TIPS),
    ("茶具", "玻璃公道杯 耐热 350ml", "39.00", WARE_TIPS),
    ("茶具", "竹制茶盘 储水式", "199.00", WARE_TIPS),
    ("茶具", "便携旅行茶具 一壶三杯", "129.00", WARE_TIPS),
    ("茶具", "建盏 兔毫 主人杯", "268.00", WARE_TIPS),
    ("零食", "手工桃酥 老式糕点 500g", "29.90", SNACK_TIPS),
    ("零食", "绿茶酥 茶点礼盒 12 枚", "49.00", SNACK_TIPS),
    ("零食", "每日坚果 30 包", "119.00", SNACK_TIPS),
    ("零食", "云南鲜花饼 10 枚", "39.80", SNACK_TIPS),
    ("零食", "抹茶曲奇 罐装 300g", "45.00", SNACK_TIPS),
    ("零食", "蜜饯果脯 组合装 600g", "36.00", SNACK_TIPS),
    ("服饰", "棉麻茶服 男女款 盘扣上衣", "259.00", CLOTH_TIPS),
    ("服饰", "真丝围巾 山水印花", "199.00", CLOTH_TIPS),
    ("服饰", "亚麻阔腿裤 禅意休闲", "189.00", CLOTH_TIPS),
    ("服饰", "手工布鞋 千层底", "168.00", CLOTH_TIPS),
    ("服饰", "新中式马面裙", "329.00", CLOTH_TIPS),
    ("服饰", "茶艺围裙 棉麻刺绣", "79.00", CLOTH_TIPS),
    ("礼盒", "中秋茶礼 龙井 + 茶点 组合", "499.00", TEA_TIPS),
    ("礼盒", "春节年货 红茶白茶 双拼礼盒", "368.00", TEA_TIPS),
)
CATEGORY_CODES = {
    "绿茶": "GT",
    "红茶": "BT",
    "乌龙茶": "OT",
    "普洱": "PE",
    "白茶": "WT",
    "花草茶": "HT",
    "茶具": "TW",
    "零食": "SN",
    "服饰": "CL",
    "礼盒": "GB",
}
CENTS = Decimal("0.01")


def _price(value: Decimal) -> Decimal:
    return value.quantize(CENTS, rounding=ROUND_HALF_UP)


def seed(ctx: DemoContext) -> None:
    table = Product.__table__
    before = ctx.session.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar_one()
    rows = []
    for store_id in ctx.ids["store_ids"]:
        chosen = ctx.rng.sample(TEMPLATES, k=min(PRODUCTS_PER_STORE, len(TEMPLATES)))
        for n, (category, title, price, tips) in enumerate(chosen, start=1):
            list_price = _price(Decimal(price) * Decimal(ctx.rng.choice(("0.9", "1", "1", "1.1"))))
            floor = _price(list_price * Decimal(ctx.rng.randint(75, 90)) / 100)
            rows.append(
                {
                    "store_id": store_id,
                    "sku": f"{CATEGORY_CODES[category]}-{store_id:02d}{n:03d}",
                    "title": title,
                    "category": category,
                    "currency": "CNY",
                    "list_price": list_price,
                    "floor_price": floor,
                    "care_tips": tips,
                    "is_active": True,
                    "created_at": ctx.now,
                    "updated_at": ctx.now,
                }
            )
    ctx.insert_batches(table, rows, len(rows), "products")
    query = (
        sa.select(
            table.c.id,
            table.c.store_id,
            table.c.sku,
            table.c.title,
            table.c.category,
            table.c.list_price,
            table.c.floor_price,
        )
        .where(table.c.id > before)
        .order_by(table.c.id)
    )
    ctx.ids["products"] = [dict(row._mapping) for row in ctx.session.execute(query)]
