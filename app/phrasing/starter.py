"""The starter library, written by us: at least one template for every category (two for the busy
ones), in Simplified Chinese and English, some in Traditional Chinese. Warm and honest: the shop's
promise, never pressure, never anything in exchange for a review.

The first template of each category only uses variables a follow-up knows (buyer, shop, order
number, carrier and tracking number, holiday, care tips), so automatic messages can use it.
Loaded on first install (`huitou migrate`) and by the demo; loading twice adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from app.phrasing import access
from app.phrasing.models import PhrasingScope, PhrasingTemplate
from app.phrasing.service import TemplateInput, create_template


@dataclass(frozen=True)
class Starter:
    category: str
    shortcut: str
    title: str
    zh_CN: str
    en: str
    zh_TW: str = ""


STARTERS: tuple[Starter, ...] = (
    Starter(
        "presale_reassurance",
        "/sq",
        "售前：正品与售后承诺",
        "亲，您好！我是{{ store_name }}的客服{{ agent_name }}～咱家商品都是正品，支持七天无理由退换，"
        "收到后有任何不满意都可以找我，我们负责到底。您还想了解哪些，尽管问我哦。",
        "Hi! I'm {{ agent_name }} from {{ store_name }}. Everything we sell is genuine and comes with a "
        "7-day no-questions return. If anything isn't right when it arrives, tell me and we'll put it "
        "right. What else would you like to know?",
        "親，您好！我是{{ store_name }}的客服{{ agent_name }}～我們的商品都是正品，支持七天無理由退換，"
        "收到後有任何不滿意都可以找我，我們負責到底。",
    ),
    Starter(
        "bargaining",
        "/yj",
        "议价：说明价格实在",
        "亲，理解您想买得更划算～这个价格已经是我们能给的实在价了，品质和售后我们都会负责到底。"
        "您要是喜欢，店里有活动时我提前告诉您。",
        "I understand wanting a better price. This is already a fair price for the quality, and we stand "
        "behind it after the sale too. If you like it, I'll let you know when the shop runs a promotion.",
    ),
    Starter(
        "bargaining",
        "/yj2",
        "议价：确认成交价",
        "亲，按我们刚才说好的，这件给您 {{ agreed_price }}，一共优惠了 {{ discount }}。"
        "您拍下后我帮您改价，付款后我们尽快安排发货～",
        "As agreed, it's {{ agreed_price }} for you, {{ discount }} off in all. Place the order and I'll "
        "adjust the price; once it's paid we'll ship it as soon as we can.",
    ),
    Starter(
        "payment_reminder",
        "/cf",
        "催付：关心是否遇到问题",
        "亲，看到您拍下的订单 {{ order_number }} 还没有付款，是遇到什么问题了吗？有任何疑问我都可以帮您解答，"
        "不着急，您考虑好再付款就行～",
        "Hi {{ buyer_nickname }}, I noticed order {{ order_number }} hasn't been paid yet. Did anything go "
        "wrong? I'm happy to help with any question. No rush; take your time.",
        "親，看到您拍下的訂單 {{ order_number }} 還沒有付款，是遇到什麼問題了嗎？有任何疑問我都可以幫您解答，"
        "不著急，您考慮好再付款就行～",
    ),
    Starter(
        "payment_reminder",
        "/cf2",
        "催付：说明发货安排",
        "亲，您的订单 {{ order_number }}（{{ items }}）还在等待付款哦～付款后我们会尽快为您打包发出，"
        "商品有任何问题都可以随时找我，我是{{ agent_name }}。",
        "Your order {{ order_number }} ({{ items }}) is still waiting for payment. Once it's paid we'll "
        "pack it and send it out as soon as we can. Any questions, just ask me: {{ agent_name }}.",
    ),
    Starter(
        "payment_reassurance",
        "/fk",
        "付款安抚：已收到付款",
        "亲，订单 {{ order_number }} 已收到您的付款，谢谢您的信任！我们会尽快为您打包发货，"
        "发出后会把运单号告诉您，路上有任何情况我们都帮您盯着。",
        "Thank you! We've received your payment for order {{ order_number }}. We'll pack it and ship it "
        "soon, send you the tracking number, and keep an eye on it along the way.",
    ),
    Starter(
        "shipping_notice",
        "/fh",
        "发货通知：运单号",
        "亲，您的订单 {{ order_number }} 已经发出啦～{{ carrier }}，运单号 {{ tracking_number }}。"
        "路上有任何情况我们都会帮您盯着，收到后有问题随时找我们。",
        "Good news: order {{ order_number }} is on its way with {{ carrier }}, tracking number "
        "{{ tracking_number }}. We'll keep an eye on it, and if anything is wrong when it arrives, just "
        "tell us.",
    ),
    Starter(
        "delivery_care",
        "/qs",
        "签收关怀：收到还满意吗",
        "亲，看到您的包裹已经签收了，东西收到还满意吗？如果有任何磕碰或不合适，直接告诉我，"
        "我们一定负责到底。",
        "Your parcel has been delivered. Is everything as you expected? If anything is damaged or not "
        "quite right, tell me and we'll sort it out.",
    ),
    Starter(
        "confirm_receipt",
        "/qr",
        "确认收货：方便时确认",
        "亲，订单 {{ order_number }} 显示已签收，如果商品没有问题，方便的时候帮忙点一下确认收货～"
        "如果有任何不满意，请先告诉我们，我们来处理。",
        "Order {{ order_number }} shows as delivered. If everything is fine, please confirm receipt when "
        "you have a moment. If anything isn't right, tell us first and we'll handle it.",
    ),
    Starter(
        "review_request",
        "/yp",
        "邀评：留下真实感受",
        "亲，{{ store_name }}的宝贝用了一段时间了，感觉怎么样？方便的话欢迎留下您真实的评价，"
        "好的地方我们继续保持，不足的地方我们认真改进。",
        "Hi {{ buyer_nickname }}, how are you finding your purchase from {{ store_name }}? If you have a "
        "moment, we'd love an honest review. It tells us what to keep doing and what to improve.",
        "親，{{ store_name }}的寶貝用了一段時間了，感覺怎麼樣？方便的話歡迎留下您真實的評價，"
        "好的地方我們繼續保持，不足的地方我們認真改進。",
    ),
    Starter(
        "review_request",
        "/yp2",
        "邀评：先问是否满意",
        "亲，{{ items }} 收到后用着还顺手吗？如果有任何问题请先告诉我们，我们一定处理好；"
        "用着满意的话，有空时欢迎分享一下真实的使用感受，对其他买家很有帮助。",
        "How are you getting on with {{ items }}? If anything isn't right, please tell us first so we can "
        "fix it. If you're happy with it, sharing your honest experience helps other buyers a lot.",
    ),
    Starter(
        "review_thanks",
        "/hp",
        "好评感谢",
        "亲，谢谢您的认可和用心评价！能让您满意，我们特别开心，以后有任何需要随时找我们～",
        "Thank you for your kind words! We're really glad you're happy with it. Whenever you need "
        "anything, we're here.",
        "親，謝謝您的認可和用心評價！能讓您滿意，我們特別開心，以後有任何需要隨時找我們～",
    ),
    Starter(
        "bad_review_reply",
        "/cp",
        "差评回复：致歉并跟进",
        "亲，非常抱歉这次没能让您满意，给您添麻烦了。我们已经在核实问题，会尽快联系您，"
        "给您一个满意的解决办法。",
        "We're very sorry this order let you down. We're looking into it now and will contact you "
        "shortly to put it right.",
    ),
    Starter(
        "bad_review_reply",
        "/cp2",
        "差评回复：说明处理方案",
        "亲，关于订单 {{ order_number }} 的问题，我们已经核实清楚，是我们做得不够好。按照店铺的售后承诺，"
        "可以为您退换或补发，您看哪种方式更方便？我们会一直跟进到问题解决。",
        "About order {{ order_number }}: we've checked, and we fell short. Under our after-sales promise "
        "we can exchange, refund or resend it. Which would suit you? We'll follow it through until it's "
        "resolved.",
    ),
    Starter(
        "lost_lead",
        "/wc",
        "未成交跟进：不打扰",
        "亲，前几天您咨询的商品还在考虑吗？如果还有什么顾虑可以随时问我，不打扰您啦～",
        "Hi {{ buyer_nickname }}, are you still thinking about the item you asked about? If you have any "
        "doubts, I'm happy to answer. I won't keep bothering you!",
    ),
    Starter(
        "revisit_holiday",
        "/jr",
        "回访-节日：问候",
        "亲，{{ holiday }}快乐！感谢您一直以来对{{ store_name }}的支持，祝您和家人节日愉快、万事顺意。",
        "Happy {{ holiday }}! Thank you for supporting {{ store_name }}. Wishing you and your family a "
        "lovely holiday.",
        "親，{{ holiday }}快樂！感謝您一直以來對{{ store_name }}的支持，祝您和家人節日愉快、萬事順意。",
    ),
    Starter(
        "revisit_care",
        "/by",
        "回访-保养：小贴士",
        "亲，您之前买的宝贝用得还好吗？给您分享几个保养小贴士：{{ care_tips }} 有任何问题随时找我们～",
        "How is your purchase holding up? A few care tips: {{ care_tips }} Any questions, just ask us.",
    ),
    Starter(
        "revisit_new_arrivals",
        "/sx",
        "回访-上新：告知一声",
        "亲，{{ store_name }}上新啦，想着您之前喜欢的款式，给您说一声～不需要的话回复“退订”即可，不再打扰。",
        "{{ store_name }} has new arrivals, and I thought of the styles you liked before. If you'd rather "
        'not hear about these, reply "unsubscribe" and we won\'t message you again.',
    ),
    Starter(
        "aftersales",
        "/th",
        "退换货：已收到申请",
        "亲，您的售后申请我们已经收到，正在加急处理，会在承诺时间内给您答复，请您放心。",
        "We've received your after-sales request and are handling it now. You'll hear from us within "
        "the promised time.",
    ),
    Starter(
        "aftersales",
        "/th2",
        "退换货：进度说明",
        "亲，订单 {{ order_number }} 的售后进度：{{ case_status }}。拿不准的地方我们都按对您有利的方式处理，"
        "有任何问题随时找我，我是{{ agent_name }}。",
        "An update on order {{ order_number }}: your after-sales request is {{ case_status }}. Where "
        "anything is unclear, we'll decide in your favour. Any questions, ask me: {{ agent_name }}.",
    ),
)


def has_starter(session: Session) -> bool:
    query = select(PhrasingTemplate.id).where(PhrasingTemplate.is_starter == sa.true()).limit(1)
    return session.exec(query).first() is not None


def load_if_empty(session: Session, *, now: datetime) -> int:
    """First install: the starter library, only when the library holds no template at all."""
    if session.exec(select(PhrasingTemplate.id).limit(1)).first() is not None:
        return 0
    return load_starter(session, now=now)


def load_starter(session: Session, *, now: datetime) -> int:
    """Add the starter library as global templates; nothing when it is already there."""
    if has_starter(session):
        return 0
    for starter in STARTERS:
        variants = {"zh_CN": starter.zh_CN, "en": starter.en}
        if starter.zh_TW:
            variants["zh_TW"] = starter.zh_TW
        clash = access.shortcut_clash(
            session, starter.shortcut, scope=PhrasingScope.global_, team_id=None, owner_id=None
        )
        data = TemplateInput(
            title=starter.title,
            category=starter.category,
            variants=variants,
            scope=PhrasingScope.global_,
            shortcut="" if clash is not None else starter.shortcut,
        )
        create_template(session, data=data, agent=None, now=now, is_starter=True)
    return len(STARTERS)
