"""The linter, table by table: each row a text, its language and the problems it must (not) raise."""

import pytest

from app.phrasing.lint import WARN_CHARS, errors, lint

# (locale, body, expected error codes). An empty set: must pass without errors.
REVIEW_REWARDS = [
    ("zh_CN", "亲，给个五星好评返现 5 元哦", {"review_reward"}),
    ("zh_CN", "好评有礼！晒图送优惠券", {"review_reward"}),
    ("zh_CN", "五星好评送小礼物一份", {"review_reward"}),
    ("zh_CN", "追评返 3 元红包", {"review_reward"}),
    ("zh_CN", "评价后联系客服领红包", {"review_reward"}),
    ("zh_CN", "亲，麻烦删差评，我们给您补偿", {"review_change"}),
    ("zh_CN", "可以把差评改成好评吗？给您退 10 元", {"review_change"}),
    ("zh_CN", "亲，方便的话追加好评哦", {"review_change"}),
    ("zh_TW", "親，給個好評送紅包", {"review_reward"}),
    ("zh_TW", "麻煩刪除差評", {"review_change"}),
    ("en", "Leave a 5-star review and get a $5 coupon!", {"review_reward"}),
    ("en", "Cashback for a positive review!", {"review_reward"}),
    ("en", "Five stars = a free gift for you", {"review_reward"}),
    ("en", "Please remove your negative review and we will send you a gift.", {"review_change"}),
    ("en", "Could you update your rating?", {"review_change"}),
    # Honest texts that mention reviews or money but do not tie them together.
    ("zh_CN", "亲，方便的话欢迎留下您真实的评价，好的继续保持，不足我们改进。", set()),
    ("zh_CN", "欢迎留下真实评价。下次购物可以使用店铺优惠券哦", set()),
    ("zh_CN", "非常抱歉这次没能让您满意，我们为您全额退款并补发一件。", set()),
    ("en", "We will refund you after we review your return.", set()),
    ("en", "We'd love an honest review when you have a moment.", set()),
    ("en", "Thank you for your review! We have refunded the shipping fee.", set()),
]

SUPERLATIVES = [
    ("zh_CN", "我们的茶是全网最低价", {"superlative"}),
    ("zh_CN", "品质第一，放心购买", {"superlative"}),
    ("zh_CN", "这是最好的龙井", {"superlative"}),
    ("zh_CN", "顶级极品大红袍", {"superlative"}),
    ("zh_CN", "国家级非遗工艺", {"superlative"}),
    ("zh_CN", "送礼首选", {"superlative"}),
    ("zh_CN", "100%正品", {"superlative"}),
    ("zh_TW", "頂級茶葉，全網最低", {"superlative"}),
    ("zh_CN", "物流有变化会第一时间告诉您", set()),
    ("zh_CN", "这是您第一次在我们店购物吗？", set()),
    ("zh_CN", "收到后最好先冷藏", set()),
    ("en", "The best tea, number one in China", set()),  # the Advertising Law rule is for Chinese text
]

TEMPLATES = [
    ("zh_CN", "亲，订单 {{ order_number }} 已发出", set()),
    ("zh_CN", "{{ buyer_nickname|default('亲') }}，您好", set()),
    ("zh_CN", "{% for i in item_list %}{{ i.name }}×{{ i.quantity }}{% endfor %}", set()),
    ("zh_CN", "亲，订单 {{ order_numbr }} 已发出", {"unknown_variable"}),
    ("zh_CN", "{{ order_number }", {"syntax"}),
    ("zh_CN", "{% set a = 1 %}{{ a }}", {"syntax"}),
    ("zh_CN", "{{ ''.__class__ }}", {"render"}),
    ("zh_CN", "{{ order_number|nosuchfilter }}", {"syntax"}),
    ("en", "x" * 2001, {"syntax"}),
]


@pytest.mark.parametrize(("locale", "body", "expected"), REVIEW_REWARDS + SUPERLATIVES + TEMPLATES)
def test_lint_table(locale, body, expected):
    issues = lint("标题", "review_request", {locale: body, **({} if locale == "zh_CN" else {"zh_CN": "亲"})})
    found = {issue.code for issue in errors(issues) if issue.locale == locale}
    assert found == expected, [issue.english() for issue in issues]


def test_issues_carry_their_locale_and_a_translatable_message():
    issues = lint("标题", "review_request", {"zh_CN": "好评返现", "en": "Hi"})
    (issue,) = errors(issues)
    assert issue.locale == "zh_CN" and issue.level == "error"
    assert "{review}" in issue.message and issue.params["review"] == "好评"
    assert "好评" in issue.english() and issue.text()


@pytest.mark.parametrize(
    ("title", "category", "variants", "code"),
    [
        ("", "review_request", {"zh_CN": "亲"}, "title"),
        ("x" * 101, "review_request", {"zh_CN": "亲"}, "title"),
        ("标题", "nope", {"zh_CN": "亲"}, "category"),
        ("标题", "review_request", {"zh_CN": "  "}, "empty"),
        ("标题", "review_request", {"ja": "こんにちは"}, "locale"),
    ],
)
def test_title_category_and_texts_are_required(title, category, variants, code):
    assert code in {issue.code for issue in errors(lint(title, category, variants))}


def test_warnings_do_not_block_saving():
    long_text = "亲，" + "我们一定会认真处理您的问题。" * 25
    issues = lint("标题", "aftersales", {"en": "Hello", "zh_TW": long_text})
    assert not errors(issues)
    assert {issue.code for issue in issues} == {"no_zh_cn", "long"}
    long = next(issue for issue in issues if issue.code == "long")
    assert long.params["length"] > WARN_CHARS and long.locale == "zh_TW"
