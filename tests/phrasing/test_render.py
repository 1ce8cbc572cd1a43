from decimal import Decimal

import pytest

from app.accounts.models import Role
from app.aftersales.lifecycle import CaseState
from app.audit.service import Actor
from app.customers.models import Customer
from app.errors import InvalidInput, NotFound
from app.followups.models import FollowupKind
from app.orders.lifecycle import Stage
from app.phrasing import service
from app.phrasing.categories import render_default
from app.phrasing.render import (
    MAX_OUTPUT_CHARS,
    TemplateProblem,
    find_missing,
    marker,
    render_for_category,
    render_source,
    render_template,
    split_missing,
    ticket_context,
)
from app.presale.rounds import record_round
from tests.aftersales.helpers import make_case, walk
from tests.factories import T0, make_agent, make_customer, make_product, make_store
from tests.followups.helpers import one, run_at
from tests.orders.helpers import make_order
from tests.phrasing.helpers import make_template, make_ticket, shipped_order
from tests.presale.helpers import make_inquiry


def test_a_ticket_renders_with_its_order_shipment_shop_and_agent(db):
    order = shipped_order(db)
    agent = make_agent(db, display_name="小美")
    ticket = make_ticket(db, kind="shipping", order=order)
    template = make_template(
        db,
        category="shipping_notice",
        variants={
            "zh_CN": "{{ buyer_nickname }}，{{ store_name }}的订单 {{ order_number }}"
            "（{{ items }}，{{ order_total }}）于 {{ shipped_at }} 由{{ carrier }}发出，"
            "运单号 {{ tracking_number }}，查询 {{ tracking_url }}。——{{ agent_name }}"
        },
    )
    rendered = render_template(db, template.id, ticket=ticket, agent=agent, locale="zh_CN", now=T0)
    assert rendered.missing == [] and rendered.locale == "zh_CN" and rendered.category == "shipping_notice"
    assert rendered.text == (
        f"小鹿，西湖茶庄的订单 {order.number}（{_title(db, order)} ×1，¥199.00）"
        "于 2026年11月11日 由顺丰速运发出，"
        "运单号 SF1234567890，查询 https://www.sf-express.com/track/SF1234567890。——小美"
    )


def _title(db, order):
    from app.orders.service import items_for

    return items_for(db, order.id)[0].title


def test_money_and_dates_follow_the_locale(db):
    order = shipped_order(db)
    ticket = make_ticket(db, kind="shipping", order=order)
    zh = ticket_context(db, ticket, agent=None, locale="zh_CN", now=T0)
    en = ticket_context(db, ticket, agent=None, locale="en", now=T0)
    tw = ticket_context(db, ticket, agent=None, locale="zh_TW", now=T0)
    assert (zh["order_total"], zh["paid_at"], zh["today"]) == ("¥199.00", "2026年11月11日", "2026年11月11日")
    assert (en["order_total"], en["paid_at"]) == ("CN¥199.00", "November 11, 2026")
    assert tw["paid_at"] == "2026年11月11日"
    assert zh["item_list"] == [{"name": _title(db, order), "quantity": 1, "price": "¥199.00"}]
    assert zh["holiday"] == "双11" and en["holiday"] == "Double 11"  # T0 is 11 November
    # Buyer phone and address are never variables.
    assert not {"phone", "address", "street"} & set(zh)


def test_a_missing_value_is_a_visible_gap_never_blank(db):
    ticket = make_ticket(db, kind="payment_reminder")  # no order
    template = make_template(db)
    rendered = render_template(db, template.id, ticket=ticket, agent=None, locale="zh_CN")
    assert rendered.text == f"亲，订单 {marker('order_number')} 还没有付款哦～"
    assert rendered.missing == ["order_number"] == find_missing(rendered.text)
    assert split_missing(rendered.text) == [
        ("亲，订单 ", False),
        ("【缺少：order_number】", True),
        (" 还没有付款哦～", False),
    ]
    # Without `now`, today's date is not known either.
    assert "today" not in ticket_context(db, ticket, agent=None, locale="zh_CN")


def test_a_default_filter_fills_a_gap_on_purpose(db):
    text, missing = render_source("{{ buyer_nickname|default('亲') }}，您好", {})
    assert (text, missing) == ("亲，您好", [])


def test_bargaining_and_after_sales_variables(db):
    store = make_store(db)
    product = make_product(db, store, list_price=Decimal("199.00"), floor_price=Decimal("159.00"))
    customer = make_customer(db, store)
    agent = make_agent(db, role=Role.supervisor)
    inquiry = make_inquiry(db, store, customer, [product])
    record_round(
        db, inquiry, product_id=product.id, speaker="buyer", offered_price="160", agent=agent, now=T0
    )
    record_round(
        db,
        inquiry,
        product_id=product.id,
        speaker="agent",
        offered_price="179",
        is_agreed=True,
        agent=agent,
        now=T0,
    )
    ticket = make_ticket(db, kind="bargaining", customer=customer, inquiry_id=inquiry.id)
    values = ticket_context(db, ticket, agent=agent, locale="zh_CN", now=T0)
    assert (values["agreed_price"], values["discount"]) == ("¥179.00", "¥20.00")

    case = make_case(db)
    walk(db, case, CaseState.approved, actor=Actor.agent(make_agent(db, role=Role.supervisor)))
    case_ticket = make_ticket(
        db, kind="aftersales", customer=db.get(Customer, case.customer_id), case_id=case.id
    )
    assert ticket_context(db, case_ticket, agent=None, locale="zh_CN")["case_status"] == "已同意"
    assert ticket_context(db, case_ticket, agent=None, locale="en")["case_status"] == "Approved"
    # The case's order is the ticket's order when the ticket names none.
    assert ticket_context(db, case_ticket, agent=None, locale="zh_CN")["order_number"]


def test_the_nearest_language_is_used_when_the_requested_one_is_missing(db):
    template = make_template(db, variants={"zh_CN": "亲，您好"})
    ticket = make_ticket(db)
    rendered = render_template(db, template.id, ticket=ticket, agent=None, locale="en")
    assert (rendered.locale, rendered.text, rendered.locales) == ("zh_CN", "亲，您好", ["zh_CN"])
    both = make_template(db, variants={"zh_CN": "亲，您好", "en": "Hello"})
    assert render_template(db, both.id, ticket=ticket, agent=None, locale="en").text == "Hello"


def test_switched_off_or_invisible_templates_do_not_render(db):
    ticket = make_ticket(db)
    owner, other = make_agent(db), make_agent(db)
    off = make_template(db)
    service.set_active(db, off, active=False, agent=None, now=T0)
    with pytest.raises(InvalidInput):
        render_template(db, off.id, ticket=ticket, agent=owner, locale="zh_CN")
    mine = make_template(db, scope="personal", agent=owner)
    with pytest.raises(NotFound):
        render_template(db, mine.id, ticket=ticket, agent=other, locale="zh_CN")


# --- the sandbox ------------------------------------------------------------------------------

REFUSED = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ joiner.__init__.__globals__.os }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ '{0.__class__}'.format(1) }}",
    "{{ 'x'.format_map({}) }}",
    "{{ item_list[0].__class__ }}",
    "{{ item_list.append(1) }}",
    "{{ buyer_nickname.__len__ }}",
    "{{ x|attr('__class__') }}",
    "{{ self }}",
    "{% set x = 1 %}{{ x }}",
    "{% with a = 'x' * 4000 %}{{ a ~ a }}{% endwith %}",
    "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
    "{% include 'base.html' %}",
    "{% extends 'base.html' %}",
    "{% import 'base.html' as b %}",
    "{% for i in range(100000000) %}x{% endfor %}",
    "{% for a in range(9) %}{% for b in range(9) %}{% for c in range(9) %}{% endfor %}{% endfor %}"
    "{% endfor %}",
    "{% for x in item_list recursive %}{{ loop(x) }}{% endfor %}",
    "{{ 'a' * 100000000 }}",
    "{{ [1] * 100000000 }}",
    "{{ 9 ** 9999999 }}",
    "{{ '%99999999s' % 'a' }}",
    "{{ 'ab'|replace('a', 'a' * 20)|replace('a', 'a' * 20)|replace('a', 'a' * 20) }}",
    "{% for i in range(99) %}{% for j in range(99) %}{{ j }}{% endfor %}{% endfor %}",
    "{{ 1 / 0 }}",
    "{{ x|center(99999999) }}",
    "x" * 2001,
]


@pytest.mark.parametrize("source", REFUSED, ids=range(len(REFUSED)))
def test_the_sandbox_refuses_attacks_and_runaway_templates(source):
    context = {"buyer_nickname": "小鹿", "item_list": [{"name": "茶", "quantity": 1, "price": "¥1.00"}]}
    with pytest.raises(TemplateProblem) as caught:
        render_source(source, context)
    assert caught.value.status_code == 422 and "line" in caught.value.params or "max" in caught.value.params


@pytest.mark.parametrize(
    "source",
    ["{{ range.__self__ }}", "{{ item_list.nosuch }}", "{{ buyer.mro }}"],
)
def test_odd_lookups_that_are_not_refused_leak_nothing(source):
    text, missing = render_source(source, {"item_list": []})
    assert text.startswith("【缺少：") and missing


def test_errors_name_the_line():
    with pytest.raises(TemplateProblem) as syntax:
        render_source("亲，您好\n{{ order_number }\n", {})
    assert syntax.value.line == 2 and syntax.value.params["line"] == 2
    with pytest.raises(TemplateProblem) as forbidden:
        render_source("第一行\n第二行\n{{ ''.__class__ }}", {})
    assert forbidden.value.line == 3


def test_output_is_capped_while_it_is_produced():
    with pytest.raises(TemplateProblem) as caught:
        render_source("{% for i in range(100) %}{% for j in range(100) %}abc{% endfor %}{% endfor %}", {})
    assert caught.value.params["max"] == MAX_OUTPUT_CHARS


# --- follow-ups use the library ----------------------------------------------------------------


def test_follow_ups_use_the_first_active_global_template_of_the_category(db):
    store = make_store(db, name="西湖茶庄")
    make_template(db, title="个人的", scope="personal", agent=make_agent(db), variants={"zh_CN": "个人"})
    off = make_template(db, variants={"zh_CN": "关掉的"})
    service.set_active(db, off, active=False, agent=None, now=T0)
    make_template(
        db, variants={"zh_CN": "{{ buyer_nickname }}，{{ store_name }}提醒您订单 {{ order_number }} 待付款"}
    )
    make_template(db, variants={"zh_CN": "第二个"})
    text = render_for_category(
        db, "payment_reminder", {"customer_name": "小鹿", "order_number": "A1"}, store_id=store.id
    )
    assert text == "小鹿，西湖茶庄提醒您订单 A1 待付款"


def test_follow_ups_fall_back_to_the_default_text_rather_than_send_a_gap(db):
    make_template(db, variants={"zh_CN": "订单 {{ order_number }}，{{ tracking_number }}"})
    variables = {"order_number": "A1", "store_name": "西湖茶庄"}
    assert render_for_category(db, "payment_reminder", variables) == render_default(
        "payment_reminder", variables
    )
    assert render_for_category(db, "review_thanks", variables) == render_default("review_thanks", variables)


def test_a_payment_reminder_task_carries_the_library_text(db):
    make_template(db, variants={"zh_CN": "亲，订单 {{ order_number }} 还在等您付款，有问题随时问我～"})
    order = make_order(db, stage=Stage.ordered)
    run_at(db, T0 + (one(db, FollowupKind.payment_reminder, order_id=order.id).due_at - T0))
    reminder = one(db, FollowupKind.payment_reminder, order_id=order.id)
    assert reminder.message == f"亲，订单 {order.number} 还在等您付款，有问题随时问我～"
