"""What the demo's buyers write and its agents answer, per kind of ticket: natural Chinese of a tea
shop's 客服 chat. "{nick}" and "{number}" are filled in with the customer's nickname and order number."""

from __future__ import annotations

from dataclasses import dataclass

from app.tickets.models import TicketKind


@dataclass(frozen=True)
class Script:
    subject: str  # "{nick}" and "{number}" filled in
    note: str  # the task's note (as a follow-up writes it); "" for buyer-initiated tickets
    buyer: tuple[str, ...]  # what the buyer writes, in order (some are used)
    replies: tuple[str, ...]  # what the agent answers


SCRIPTS: dict[TicketKind, tuple[Script, ...]] = {
    TicketKind.buyer_message: (
        Script(
            "",
            "",
            ("在吗？请问今天下单什么时候能发货？", "急用，能发顺丰吗？"),
            ("亲，在的～今天下午四点前下单当天发出，可以帮您备注顺丰哦。",),
        ),
        Script(
            "",
            "",
            ("你好，这个茶可以开发票吗？", "要公司抬头的"),
            ("可以的亲，下单后把抬头和税号发给我，我们开电子普票给您。",),
        ),
        Script(
            "",
            "",
            ("收货地址填错了，还能改吗", "改成杭州市西湖区文三路那个"),
            ("亲别急，仓库还没打包，我这边帮您改好地址了，您核对一下～",),
        ),
        Script(
            "", "", ("上次买的那款还有吗？想再囤两罐",), ("有的亲，老顾客回购我们给您多放一小包试饮装～",)
        ),
        Script(
            "",
            "",
            ("请问怎么保存比较好？放冰箱可以吗",),
            ("亲，密封后放冰箱冷藏就好，避免和有气味的食物放一起哦。",),
        ),
        Script(
            "",
            "",
            ("送人的话有礼盒吗？", "能帮忙写张贺卡吗"),
            ("有礼盒款的亲，贺卡内容发给我，我们手写好放进去～",),
        ),
    ),
    TicketKind.inquiry: (
        Script(
            "询单 · {nick}",
            "",
            ("这款是今年的新茶吗？", "和去年的比口感怎么样"),
            ("亲，是今年三月的明前新茶，比去年更鲜爽一些～",),
        ),
        Script(
            "询单 · {nick}",
            "",
            ("是正品吗？有没有质检报告", "怕买到假的"),
            ("亲放心，每批都有检测报告，我发给您看看；不满意七天无理由退换。",),
        ),
        Script(
            "询单 · {nick}",
            "",
            ("有现货吗？下单后多久到", "我在成都"),
            ("有现货的亲，发成都一般两到三天就能到～",),
        ),
    ),
    TicketKind.bargaining: (
        Script(
            "议价 · {nick}",
            "",
            ("能便宜点吗？买两罐", "别家便宜二十块"),
            ("亲，理解您想买得更划算～两罐可以给您包邮再送个茶宠，价格已经很实在了。",),
        ),
        Script(
            "议价 · {nick}",
            "",
            ("老顾客了，再少点呗", "少十块我马上拍"),
            ("老顾客当然要照顾～我给您申请一张店铺券，您看可以吗？",),
        ),
    ),
    TicketKind.payment_reminder: (
        Script(
            "催付 · {nick} · {number}",
            "买家拍下订单 {number} 30 分钟未付款。",
            ("刚才有点事，马上付",),
            ("不着急亲～付款后我们尽快给您安排发货。",),
        ),
    ),
    TicketKind.lost_lead: (
        Script(
            "未成交跟进 · {nick}",
            "询单未成交：买家嫌价格高，说再看看。",
            (),
            ("亲，之前您看的那款这周有活动，价格更合适了，需要的话随时找我～",),
        ),
    ),
    TicketKind.reassurance: (
        Script(
            "付款安抚 · {nick} · {number}",
            "订单 {number} 已付款，发一句安抚。",
            ("好的谢谢，尽快发哦",),
            ("收到您的付款啦，今天就给您打包，发出后第一时间告诉您单号～",),
        ),
    ),
    TicketKind.shipping: (
        Script(
            "物流跟踪 · {nick} · {number}",
            "订单 {number} 物流 48 小时未更新。",
            ("快递怎么三天没动了？", "是不是丢了"),
            ("亲，我刚联系了快递网点，说是中转站积压，明天会更新，我会盯着的。",),
        ),
        Script(
            "物流跟踪 · {nick} · {number}",
            "订单 {number} 派送失败。",
            ("快递说没人签收，可我一直在家啊",),
            ("抱歉让您久等了，我已经让快递员今天再派送一次，并备注打电话给您。",),
        ),
    ),
    TicketKind.confirm_nudge: (
        Script(
            "确认收货提醒 · {nick} · {number}",
            "订单 {number} 签收 5 天未确认收货。",
            (),
            ("亲，包裹已经签收啦，茶叶还满意吗？方便的话帮忙点一下确认收货～",),
        ),
    ),
    TicketKind.review_request: (
        Script(
            "邀评 · {nick} · {number}",
            "订单 {number} 已确认收货，适合邀评。",
            (),
            ("亲，茶叶喝着还习惯吗？如果方便，期待听到您真实的感受～",),
        ),
    ),
    TicketKind.review_thanks: (
        Script(
            "好评感谢 · {nick} · {number}",
            "买家给了五星好评。",
            ("茶很好喝，包装也很用心",),
            ("谢谢亲的认可！喝完了随时来找我们～",),
        ),
    ),
    TicketKind.bad_review: (
        Script(
            "差评处理 · {nick} · {number}",
            "买家给了差评：茶叶碎末多。",
            ("碎末太多了，和图片不一样", "很失望"),
            ("非常抱歉给您不好的体验，我们给您补发一罐整叶的，碎的不用退回。",),
        ),
        Script(
            "差评处理 · {nick} · {number}",
            "买家给了差评：物流太慢。",
            ("等了一个星期才到",),
            ("抱歉让您等这么久，运费我们退给您，以后给您优先发顺丰。",),
        ),
    ),
    TicketKind.aftersales: (
        Script(
            "退换货 · {nick} · {number}",
            "售后申请：收到的罐子有凹痕。",
            ("罐子压扁了，想换一个", "照片发你了"),
            ("看到照片了，是运输磕碰，直接给您换新，旧的不用寄回。",),
        ),
        Script(
            "退换货 · {nick} · {number}",
            "售后申请：不喜欢口味，想退货。",
            ("喝不惯这个味道，能退吗",),
            ("可以的亲，七天无理由，退货地址发您了，运费我们承担。",),
        ),
    ),
    TicketKind.revisit: (
        Script(
            "回访 · {nick}",
            "收货 30 天保养提醒。",
            ("谢谢提醒，还有一点没喝完",),
            ("不客气～开封后记得密封冷藏，风味能保持得更久。",),
        ),
    ),
}
NOTES = ("买家说晚上才方便回消息", "老客，语气客气些", "已和仓库确认库存", "买家要求周末送达")
TAGS = ("催发货", "老客", "VIP", "送礼", "爱砍价", "加急")
