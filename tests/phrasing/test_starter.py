from collections import Counter

import pytest
from sqlmodel import select

from app.phrasing.categories import CATEGORIES
from app.phrasing.lint import errors, lint
from app.phrasing.models import PhrasingScope, PhrasingTemplate
from app.phrasing.service import variants_for
from app.phrasing.starter import STARTERS, load_if_empty, load_starter
from tests.factories import T0, make_agent
from tests.phrasing.helpers import make_template

BUSY = ("payment_reminder", "review_request", "bad_review_reply", "aftersales", "bargaining")


def test_every_category_has_a_starter_and_the_busy_ones_two():
    per_category = Counter(s.category for s in STARTERS)
    assert set(per_category) == set(CATEGORIES)
    assert all(per_category[key] >= 2 for key in BUSY)


def test_every_starter_has_chinese_and_english_and_its_own_shortcut():
    shortcuts = [s.shortcut for s in STARTERS]
    assert len(set(shortcuts)) == len(shortcuts) and all(s.startswith("/") for s in shortcuts)
    assert all(s.zh_CN.strip() and s.en.strip() for s in STARTERS)


@pytest.mark.parametrize("starter", STARTERS, ids=[s.shortcut for s in STARTERS])
def test_every_starter_passes_our_own_linter_without_even_a_warning(starter):
    variants = {"zh_CN": starter.zh_CN, "en": starter.en} | (
        {"zh_TW": starter.zh_TW} if starter.zh_TW else {}
    )
    assert lint(starter.title, starter.category, variants) == []


def test_no_starter_offers_anything_for_a_review():
    for starter in STARTERS:
        for text in (starter.zh_CN, starter.en, starter.zh_TW):
            assert not errors(lint("t", "review_request", {"zh_CN": text or "亲"}))


def test_loading_is_idempotent_and_makes_global_templates(db):
    assert load_starter(db, now=T0) == len(STARTERS)
    assert load_starter(db, now=T0) == 0
    rows = db.exec(select(PhrasingTemplate).where(PhrasingTemplate.is_starter)).all()
    assert len(rows) == len(STARTERS)
    assert {r.scope for r in rows} == {PhrasingScope.global_} and all(r.is_active for r in rows)
    texts = variants_for(db, [r.id for r in rows])
    assert all({"zh_CN", "en"} <= set(texts[r.id]) for r in rows)


def test_first_install_loads_only_into_an_empty_library(db):
    make_template(db, title="自己写的")
    assert load_if_empty(db, now=T0) == 0
    assert db.exec(select(PhrasingTemplate).where(PhrasingTemplate.is_starter)).first() is None


def test_a_shortcut_already_taken_is_left_off_the_starter_copy(db):
    make_template(db, title="我们的催付", shortcut="/cf")
    make_agent(db)
    load_starter(db, now=T0)
    starter = db.exec(
        select(PhrasingTemplate).where(PhrasingTemplate.title == "催付：关心是否遇到问题")
    ).one()
    assert starter.shortcut == ""
