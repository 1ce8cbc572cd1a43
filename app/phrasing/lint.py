"""The linter every phrasing template passes before it is saved.

Errors block saving: a reward promised for a (good) review or money offered to change or delete
one — illegal in China (E-Commerce Law art. 17, Anti-Unfair Competition Law) and against every
marketplace's rules; absolute superlatives banned in advertising (Advertising Law art. 9); unknown
variables; template syntax; a body over the hard length cap. Warnings: a message too long for a
marketplace chat window to show well, no Simplified Chinese text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from jinja2 import meta

from app.i18n import N_, gettext
from app.phrasing.categories import CATEGORIES
from app.phrasing.sandbox import TemplateProblem, compile_source, parse_source, render_source
from app.phrasing.variables import LOCALES, NAMES, sample_context

WARN_CHARS = 300  # what a Taobao / JD / PDD chat bubble shows without scrolling
TITLE_CHARS = 100
SAMPLE_NOW = datetime(2026, 9, 25, 2, 0, tzinfo=UTC)


@dataclass(frozen=True)
class LintIssue:
    level: str  # "error" blocks saving; "warning" is advice
    code: str
    message: str  # English msgid with {placeholders}
    params: dict[str, Any] = field(default_factory=dict)
    locale: str | None = None  # the variant it is about; None for the title or category

    def text(self) -> str:
        return gettext(self.message).format(**self.params)

    def english(self) -> str:
        return self.message.format(**self.params)


# --- reward for a review ------------------------------------------------------------------------

# Traditional characters the rules care about, read as Simplified.
_PAIRS = (
    "評评 價价 論论 現现 紅红 優优 禮礼 贈赠 獎奖 勵励 刪删 頂顶 級级 極极 國国 選选 網网 獨独 無无 僅仅 "
    "萬万 強强 進进 絕绝 對对 補补 貼贴 曬晒 圖图 積积 錢钱 點点 給给 領领 撥拨 發发 減减 費费"
)
_TO_SIMPLIFIED = str.maketrans({pair[0]: pair[1] for pair in _PAIRS.split()})
_SENTENCE_END = re.compile(r"[。！？!?；;\n]+")
_REVIEW_ZH = re.compile(r"好评|五星|5星|五分|满分|晒图|晒单|追评|评价|评论|点评|打分|评分")
_REWARD_ZH = re.compile(
    r"返现|返钱|返款|返利|返红包|现金|红包|优惠券|代金券|抵用券|无门槛券|礼品|赠品|小礼物|礼物|有礼|奖励|"
    r"立减|补贴|积分|话费|免单|福利|送[^。！？!?，,\s]{0,4}(?:券|礼|钱)"
)
_CHANGE_ZH = re.compile(
    r"(?:删|删除|删掉|撤销|撤回|撤掉|修改|改掉|更改)(?:一下|掉)?(?:这个|那个|您的|你的)?(?:差评|中评|评价|评论)|"
    r"(?:差评|中评)(?:改|换)成?|改(?:成|为)?好评|追加好评"
)
_REWARD_EN = (
    r"(?:refund|cash ?back|coupon|voucher|gift ?card|gift|reward|rebate|discount|money|credit|"
    r"[$¥€£]\s?\d+|\d+\s?(?:yuan|rmb|usd|dollars?))"
)
# A review as a thing given ("a 5-star review", "your feedback"), not the verb ("after we review it").
_REVIEW_EN = (
    r"(?:\b(?:a|an|your|the|positive|good|great|nice|(?:5|five)[- ]?star)\s+(?:[\w-]+\s+)?"
    r"(?:reviews?|ratings?|feedback)|(?:review|rate) us|(?:5|five)[- ]?stars?)"
)
_RULES_EN = (
    re.compile(
        rf"{_REWARD_EN}[^.!?\n]{{0,40}}\b(?:for|after|if you|when you|in exchange for)\b"
        rf"[^.!?\n]{{0,40}}{_REVIEW_EN}",
        re.I,
    ),
    re.compile(
        rf"{_REVIEW_EN}[^.!?\n]{{0,40}}\b(?:get|receive|claim|earn|win|enjoy)\b[^.!?\n]{{0,40}}{_REWARD_EN}",
        re.I,
    ),
    re.compile(rf"\b(?:5|five)[- ]?stars?\b[^.!?\n]{{0,40}}{_REWARD_EN}", re.I),
)
_CHANGE_EN = re.compile(
    r"\b(?:remove|delete|change|revise|edit|withdraw|take down|update)\b\s+(?:your|the|this|that|a)?\s*"
    r"(?:negative |bad |poor |low |1[- ]star |one[- ]star )?(?:review|rating|feedback)",
    re.I,
)


def _review_reward(body: str, locale: str) -> list[LintIssue]:
    issues: list[LintIssue] = []
    text = body.translate(_TO_SIMPLIFIED)  # one character for one: positions stay the same
    start = 0
    for sentence in _SENTENCE_END.split(text):
        start = text.index(sentence, start)
        review, reward = _REVIEW_ZH.search(sentence), _REWARD_ZH.search(sentence)
        if review and reward:
            issues.append(
                LintIssue(
                    "error",
                    "review_reward",
                    N_(
                        "“{phrase}” ties a reward to a review ({review} + {reward}). Rewards for reviews "
                        "are illegal in China and against marketplace rules."
                    ),
                    {
                        "phrase": body[start : start + len(sentence)].strip()[:40],
                        "review": review.group(0),
                        "reward": reward.group(0),
                    },
                    locale,
                )
            )
        start += len(sentence)
    changes = [(m.start(), m.end()) for m in _CHANGE_ZH.finditer(text)]
    changes += [(m.start(), m.end()) for m in _CHANGE_EN.finditer(body)]
    for begin, end in changes:
        issues.append(
            LintIssue(
                "error",
                "review_change",
                N_("“{phrase}” asks the buyer to change or delete a review; never ask or pay for that."),
                {"phrase": body[begin:end]},
                locale,
            )
        )
    reported: list[tuple[int, int]] = []
    for rule in _RULES_EN:
        for match in rule.finditer(body):
            if any(match.start() < end and begin < match.end() for begin, end in reported):
                continue  # the same words, caught by an earlier rule
            reported.append(match.span())
            issues.append(
                LintIssue(
                    "error",
                    "review_reward",
                    N_(
                        "“{phrase}” ties a reward to a review. Rewards for reviews are illegal in China "
                        "and against marketplace rules."
                    ),
                    {"phrase": match.group(0)[:60]},
                    locale,
                )
            )
    return issues


# --- absolute superlatives (Advertising Law art. 9) ---------------------------------------------

SUPERLATIVES = (
    "全网最低", "全网第一", "史上最", "最好", "最佳", "最优", "最强", "最低价", "最便宜", "最高级",
    "最先进", "最正宗", "第一", "唯一", "顶级", "极品", "极致", "国家级", "世界级", "首选",
    "独一无二", "绝无仅有", "万能", "百分百", "100%",
)  # fmt: skip
# Everyday phrases that contain a listed word but claim nothing ("we will tell you at once").
NOT_SUPERLATIVE = ("第一时间", "第一次", "第一步", "第一天", "第一眼", "第一件", "最好能", "最好先", "最好在")
_SUPERLATIVE_RE = re.compile("|".join(re.escape(w) for w in SUPERLATIVES))


def _superlatives(body: str, locale: str) -> list[LintIssue]:
    text = body.translate(_TO_SIMPLIFIED)
    found: list[str] = []
    for match in _SUPERLATIVE_RE.finditer(text):
        if any(text.startswith(ok, match.start()) for ok in NOT_SUPERLATIVE):
            continue
        if match.group(0) not in found:
            found.append(match.group(0))
    return [
        LintIssue(
            "error",
            "superlative",
            N_(
                "“{word}” is an absolute claim banned in Chinese advertising "
                "(Advertising Law art. 9); say it plainly."
            ),
            {"word": word},
            locale,
        )
        for word in found
    ]


# --- template checks ---------------------------------------------------------------------------


def _template(body: str, locale: str) -> list[LintIssue]:
    try:
        tree = parse_source(body)
        compile_source(body)
    except TemplateProblem as problem:
        return [LintIssue("error", "syntax", problem.message, dict(problem.params), locale)]
    issues = [
        LintIssue(
            "error",
            "unknown_variable",
            N_("{name} is not a variable; use one of those listed beside the editor."),
            {"name": name},
            locale,
        )
        for name in sorted(meta.find_undeclared_variables(tree) - NAMES)
    ]
    if issues:
        return issues
    try:
        text, _ = render_source(body, sample_context(locale, now=SAMPLE_NOW))
    except TemplateProblem as problem:
        return [LintIssue("error", "render", problem.message, dict(problem.params), locale)]
    if len(text) > WARN_CHARS:
        issues.append(
            LintIssue(
                "warning",
                "long",
                N_(
                    "The message is about {length} characters; a marketplace chat shows "
                    "about {max} without scrolling."
                ),
                {"length": len(text), "max": WARN_CHARS},
                locale,
            )
        )
    return issues


def lint(title: str, category: str, variants: dict[str, str]) -> list[LintIssue]:
    """Every problem of a template, errors first. variants: locale → body."""
    issues: list[LintIssue] = []
    title = (title or "").strip()
    if not title:
        issues.append(LintIssue("error", "title", N_("Give the template a title.")))
    elif len(title) > TITLE_CHARS:
        issues.append(
            LintIssue(
                "error", "title", N_("The title is longer than {max} characters."), {"max": TITLE_CHARS}
            )
        )
    if (category or "").strip() not in CATEGORIES:
        issues.append(LintIssue("error", "category", N_("Choose a category.")))
    bodies = {locale: (body or "").strip() for locale, body in variants.items() if (body or "").strip()}
    for locale in bodies:
        if locale not in LOCALES:
            issues.append(
                LintIssue(
                    "error",
                    "locale",
                    N_("{locale} is not a language templates are written in."),
                    {"locale": locale},
                )
            )
    if not bodies:
        issues.append(LintIssue("error", "empty", N_("Write the text in at least one language.")))
    elif "zh_CN" not in bodies:
        issues.append(
            LintIssue("warning", "no_zh_cn", N_("There is no Simplified Chinese text; most buyers read it."))
        )
    for locale, body in bodies.items():
        if locale not in LOCALES:
            continue
        issues.extend(_template(body, locale))
        issues.extend(_review_reward(body, locale))
        if locale.startswith("zh"):
            issues.extend(_superlatives(body, locale))
    return sorted(issues, key=lambda issue: issue.level != "error")


def errors(issues: list[LintIssue]) -> list[LintIssue]:
    return [issue for issue in issues if issue.level == "error"]
