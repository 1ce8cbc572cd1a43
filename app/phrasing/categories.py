"""Phrasing categories: one key per lifecycle touch, with labels and a default zh-CN message.

The phrasing library (话术库, the desk issue) will hold many phrasings per category; until it
exists, follow-ups use the default text here. Rules and revisit plans name a category by key, and an
unknown key is rejected. Default texts are warm and honest, and never offer anything in exchange for
a good review: rewards for good reviews are illegal in China.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Any

from app.errors import InvalidInput
from app.i18n import N_


@dataclass(frozen=True)
class Category:
    key: str
    label: str  # English msgid; the UI shows it through gettext
    zh: str  # the Chinese name 客服 use for it
    default_text: str  # zh-CN, with {variables}


CATEGORIES: dict[str, Category] = {
    c.key: c
    for c in (
        Category(
            "presale_reassurance",
            N_("Pre-sale reassurance"),
            "售前打消顾虑",
            "亲，您好！咱家{store_name}的商品都是正品，支持七天无理由退换，有任何问题随时找我们，"
            "我们一直都在～",
        ),
        Category(
            "bargaining",
            N_("Bargaining"),
            "议价",
            "亲，理解您想买得更划算～这已经是我们能给到的实在价格了，品质和售后我们都会负责到底。",
        ),
        Category(
            "payment_reminder",
            N_("Payment reminder"),
            "催付",
            "亲，看到您拍下了订单 {order_number} 还没有付款，是遇到什么问题了吗？有需要我可以帮您看看，"
            "付款后我们会尽快为您安排发货哦。",
        ),
        Category(
            "payment_reassurance",
            N_("Payment reassurance"),
            "付款安抚",
            "亲，订单 {order_number} 已收到您的付款，谢谢您的信任！我们会尽快为您打包发货，"
            "物流有任何变化都会第一时间告诉您。",
        ),
        Category(
            "shipping_notice",
            N_("Shipping notice"),
            "发货通知",
            "亲，您的订单 {order_number} 已经发出啦，{carrier} 运单号 {tracking_number}，"
            "路上有任何情况我们都会帮您盯着～",
        ),
        Category(
            "delivery_care",
            N_("Delivery care"),
            "签收关怀",
            "亲，您的包裹显示已经签收了，收到的东西都还满意吗？有任何问题随时告诉我们，我们一定负责到底。",
        ),
        Category(
            "confirm_receipt",
            N_("Confirm receipt"),
            "确认收货",
            "亲，订单 {order_number} 显示已签收，如果商品没有问题，方便的时候麻烦帮忙点一下确认收货～"
            "如果有任何不满意，请直接告诉我们处理。",
        ),
        Category(
            "review_request",
            N_("Review request"),
            "邀评",
            "亲，使用一段时间了，感觉怎么样？方便的话欢迎给我们留下真实的评价，好的我们继续保持，"
            "不足的地方我们认真改进。",
        ),
        Category(
            "review_thanks",
            N_("Thanks for a good review"),
            "好评感谢",
            "亲，谢谢您的认可和用心评价！能让您满意是我们最开心的事，以后有任何需要随时找我们～",
        ),
        Category(
            "bad_review_reply",
            N_("Bad review reply"),
            "差评回复",
            "亲，非常抱歉这次没能让您满意，给您添麻烦了。我们已经在核实问题，会尽快联系您给出解决办法。",
        ),
        Category(
            "lost_lead",
            N_("Lost lead follow-up"),
            "未成交跟进",
            "亲，前几天您咨询的商品还在考虑吗？如果还有什么顾虑可以随时问我，不打扰您啦～",
        ),
        Category(
            "revisit_holiday",
            N_("Revisit: holiday greeting"),
            "回访-节日",
            "亲，{holiday}快乐！感谢您一直以来对{store_name}的支持，祝您和家人节日愉快、万事顺意。",
        ),
        Category(
            "revisit_care",
            N_("Revisit: care tips"),
            "回访-保养",
            "亲，您之前买的宝贝用得还好吗？给您分享一下保养小贴士：{care_tips} 有任何问题随时找我们～",
        ),
        Category(
            "revisit_new_arrivals",
            N_("Revisit: new arrivals"),
            "回访-上新",
            "亲，店里上新啦，想着您之前喜欢的款式，给您说一声～不需要的话回复“退订”即可，不再打扰。",
        ),
        Category(
            "aftersales",
            N_("Returns and exchanges"),
            "退换货",
            "亲，您的售后申请我们已经收到，正在加急处理，会在承诺时间内给您答复，请您放心。",
        ),
    )
}


def get_category(key: str) -> Category | None:
    return CATEGORIES.get(key)


def require_category(key: str, *, field: str = "category") -> Category:
    category = CATEGORIES.get((key or "").strip())
    if category is None:
        raise InvalidInput(
            "{key} is not a phrasing category.",
            fields={field: ", ".join(CATEGORIES)},
            key=key or "(empty)",
        )
    return category


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def render_default(key: str, variables: dict[str, Any]) -> str:
    """The category's default text with the variables filled in; an unknown variable renders empty."""
    text = require_category(key).default_text
    names = {name for _, name, _, _ in string.Formatter().parse(text) if name}
    return text.format_map(_Blank({n: variables.get(n, "") for n in names}))
