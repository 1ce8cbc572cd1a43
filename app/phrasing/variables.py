"""The variables a phrasing template may use, and where their values come from: a ticket (with its
customer, order, shipment, inquiry, case, store and agent), or sample data for the editor's preview.

Every value is a plain string (money and dates already formatted for the template's locale) or a
list of plain dicts; a variable without a known value is left out, so it renders as a visible gap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar
from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency
from sqlmodel import Session, select

from app.accounts.models import Agent
from app.aftersales.lifecycle import STATE_LABELS, CaseState
from app.aftersales.models import AftersalesCase
from app.catalog.models import Product
from app.config import get_settings
from app.customers.models import Customer
from app.followups import calendar
from app.followups.models import Followup
from app.i18n import N_, translations_for
from app.integrations.models import Store
from app.orders.models import Order, OrderItem, Shipment
from app.presale import bargaining
from app.presale.cards import products_of, rounds_of
from app.presale.models import Inquiry
from app.tickets.models import Ticket, TicketKind

LOCALES = ("zh_CN", "zh_TW", "en")
LOCALE_NAMES = {"zh_CN": "简体中文", "zh_TW": "繁體中文", "en": "English"}
MAX_ITEMS = 20  # item lines in a message; more would not fit a chat bubble anyway


@dataclass(frozen=True)
class Variable:
    name: str
    label: str  # English msgid, shown through gettext
    zh: str  # the Chinese name 客服 know it by


VARIABLES: dict[str, Variable] = {
    v.name: v
    for v in (
        Variable("buyer_nickname", N_("Buyer nickname"), "买家昵称"),
        Variable("order_number", N_("Order number"), "订单号"),
        Variable("order_total", N_("Order total"), "订单金额"),
        Variable("items", N_("Items (name × quantity)"), "商品"),
        Variable("item_list", N_("Items as a list (name, quantity, price)"), "商品列表"),
        Variable("carrier", N_("Carrier"), "快递公司"),
        Variable("tracking_number", N_("Tracking number"), "运单号"),
        Variable("tracking_url", N_("Tracking link"), "物流链接"),
        Variable("agreed_price", N_("Agreed price"), "成交价"),
        Variable("discount", N_("Discount"), "优惠金额"),
        Variable("case_status", N_("After-sales status"), "售后进度"),
        Variable("store_name", N_("Shop name"), "店铺名"),
        Variable("agent_name", N_("Agent name"), "客服名"),
        Variable("paid_at", N_("Payment date"), "付款日期"),
        Variable("shipped_at", N_("Shipping date"), "发货日期"),
        Variable("delivered_at", N_("Delivery date"), "签收日期"),
        Variable("today", N_("Today's date"), "今天日期"),
        Variable("holiday", N_("Holiday"), "节日"),
        Variable("care_tips", N_("Care tips"), "保养贴士"),
    )
}
NAMES = frozenset(VARIABLES)


def normalize_locale(locale: str | None) -> str:
    text = (locale or "").replace("-", "_").strip()
    for known in LOCALES:
        if text.lower() == known.lower():
            return known
    if text.lower().startswith("zh") and ("tw" in text.lower() or "hant" in text.lower()):
        return "zh_TW"
    return "en" if text.lower().startswith("en") else "zh_CN"


def _ui_locale(locale: str) -> str:
    """The message catalog for labels inside a message (there is no zh_TW catalog: Chinese is Chinese)."""
    return "en" if locale == "en" else "zh_CN"


@lru_cache(maxsize=8)
def _babel(locale: str) -> Locale:
    return Locale.parse(locale)  # parsing looks at the locale data on disk: once per locale


class Formats:
    """Money and dates for one locale and time zone."""

    def __init__(self, locale: str, tz: str | None) -> None:
        self.locale = normalize_locale(locale)
        self.babel = _babel(self.locale)
        self.zone = ZoneInfo(tz or get_settings().default_timezone)

    def money(self, amount: Decimal | None, currency: str = "CNY") -> str | None:
        if amount is None:
            return None
        return format_currency(amount, currency or "CNY", locale=self.babel)

    def date(self, value: datetime | None) -> str | None:
        if value is None:
            return None
        return format_date(value.astimezone(self.zone).date(), format="long", locale=self.babel)

    def label(self, msgid: str) -> str:
        return translations_for(_ui_locale(self.locale)).gettext(msgid)

    def items(self, lines: list[tuple[str, int, Decimal | None]], currency: str) -> tuple[str, list[dict]]:
        joiner = ", " if self.locale == "en" else "、"
        text = joiner.join(f"{name} ×{qty}" for name, qty, _ in lines[:MAX_ITEMS])
        listed = [
            {"name": name, "quantity": qty, "price": self.money(price, currency) or ""}
            for name, qty, price in lines[:MAX_ITEMS]
        ]
        return text, listed


def holiday_name(day: datetime, *, locale: str, zone: ZoneInfo) -> str | None:
    """The public holiday (or shopping festival) `day` falls on, in the locale; None on other days."""
    local = day.astimezone(zone).date()
    name = None
    if calendar.has_data(local.year):
        is_holiday, detail = chinese_calendar.get_holiday_detail(local)
        if is_holiday and detail is not None:
            name = next((k for k, h in calendar.HOLIDAYS.items() if h.value == detail), None)
    if name is None:
        name = next(
            (k for k, (m, d) in calendar.SHOPPING_DAYS.items() if (local.month, local.day) == (m, d)), None
        )
    if name is None:
        return None
    if locale == "en":
        return calendar.NAMED_DATE_LABELS[name]
    return calendar.NAMED_DATE_ZH[name]


def sample_context(locale: str, *, now: datetime, agent: Agent | None = None) -> dict[str, Any]:
    """Realistic values for every variable: what the editor's preview renders with."""
    fmt = Formats(locale, None)
    en = fmt.locale == "en"
    lines = [
        ("Longjing green tea 250g" if en else "明前龙井 250g", 2, Decimal("199.00")),
        ("Celadon tea cup" if en else "青瓷品茗杯", 1, Decimal("59.00")),
    ]
    items, item_list = fmt.items(lines, "CNY")
    values: dict[str, Any] = {
        "buyer_nickname": "Lily" if en else "小鹿买家",
        "order_number": "20261111-0001",
        "order_total": fmt.money(Decimal("457.00")),
        "items": items,
        "item_list": item_list,
        "carrier": "SF Express" if en else "顺丰速运",
        "tracking_number": "SF1234567890",
        "tracking_url": "https://www.sf-express.com/",
        "agreed_price": fmt.money(Decimal("179.00")),
        "discount": fmt.money(Decimal("20.00")),
        "case_status": fmt.label(STATE_LABELS[CaseState.approved]),
        "store_name": "West Lake Tea House" if en else "西湖茶庄",
        "agent_name": agent.display_name if agent is not None else ("Mei" if en else "小美"),
        "paid_at": fmt.date(now),
        "shipped_at": fmt.date(now),
        "delivered_at": fmt.date(now),
        "today": fmt.date(now),
        "holiday": "Mid-Autumn Festival" if en else "中秋节",
        "care_tips": "Keep it sealed, cool and dry." if en else "密封冷藏，避光防潮。",
    }
    return values


# --- a ticket's context --------------------------------------------------------------------------


def _order_of(session: Session, ticket: Ticket, inquiry: Inquiry | None, case: AftersalesCase | None):
    order_id = ticket.order_id
    if order_id is None and case is not None:
        order_id = case.order_id
    if order_id is None and inquiry is not None:
        order_id = inquiry.won_order_id
    return session.get(Order, order_id) if order_id is not None else None


def _bargain(session: Session, inquiry: Inquiry | None, fmt: Formats, currency: str) -> dict[str, Any]:
    if inquiry is None:
        return {}
    rounds = rounds_of(session, inquiry.id)
    if not rounds:
        return {}
    product_id = rounds[-1].product_id
    product = next((p for p in products_of(session, inquiry.id) if p.id == product_id), None)
    if product is None:
        return {}
    agreed = bargaining.agreed_price(product, rounds)
    discount = bargaining.discount_so_far(product, rounds)
    return {
        "agreed_price": fmt.money(agreed, currency),
        "discount": fmt.money(discount, currency) if discount > 0 else None,
    }


def _care_tips(session: Session, order: Order | None, customer_id: int | None) -> str | None:
    query = select(Product.care_tips).join(OrderItem, OrderItem.product_id == Product.id)
    if order is not None:
        query = query.where(OrderItem.order_id == order.id, Product.care_tips != "")
    elif customer_id is not None:
        query = (
            query.join(Order, Order.id == OrderItem.order_id)
            .where(Order.customer_id == customer_id, Product.care_tips != "")
            .order_by(Order.placed_at.desc())
        )
    else:
        return None
    return session.exec(query.limit(1)).first()


def _holiday(session: Session, ticket: Ticket, now: datetime | None, fmt: Formats) -> str | None:
    if TicketKind(ticket.kind) == TicketKind.revisit:
        query = select(Followup.context).where(Followup.ticket_id == ticket.id).order_by(Followup.id.desc())
        context = session.exec(query.limit(1)).first()
        if context and context.get("holiday"):
            return str(context["holiday"])
    if now is None:
        return None
    return holiday_name(now, locale=fmt.locale, zone=fmt.zone)


def ticket_context(
    session: Session, ticket: Ticket, *, agent: Agent | None, locale: str, now: datetime | None = None
) -> dict[str, Any]:
    """The variables of `ticket`, formatted for `locale`. Buyer phone and address are never included.
    `today` (and a holiday found from the date) need `now`; without it they are missing."""
    customer = session.get(Customer, ticket.customer_id) if ticket.customer_id else None
    inquiry = session.get(Inquiry, ticket.inquiry_id) if ticket.inquiry_id else None
    case = session.get(AftersalesCase, ticket.case_id) if ticket.case_id else None
    order = _order_of(session, ticket, inquiry, case)
    store_id = (
        ticket.store_id or (order.store_id if order else None) or (customer.store_id if customer else None)
    )
    store = session.get(Store, store_id) if store_id else None
    fmt = Formats(locale, store.timezone if store else None)
    currency = order.currency if order else (store.currency if store else "CNY")
    values: dict[str, Any] = {
        "buyer_nickname": (customer.nickname or customer.name)
        if customer and not customer.erased_at
        else None,
        "store_name": store.name if store else None,
        "agent_name": agent.display_name if agent is not None else None,
        "today": fmt.date(now),
        "holiday": _holiday(session, ticket, now, fmt),
    }
    if order is not None:
        rows = list(
            session.exec(select(OrderItem).where(OrderItem.order_id == order.id).order_by(OrderItem.id))
        )
        lines = [(item.title, item.quantity, item.agreed_price or item.unit_price) for item in rows]
        values["items"], values["item_list"] = fmt.items(lines, currency)
        agreed = next((item.agreed_price for item in rows if item.agreed_price is not None), None)
        values |= {
            "order_number": order.number,
            "order_total": fmt.money(order.total, currency),
            "paid_at": fmt.date(order.paid_at),
            "shipped_at": fmt.date(order.shipped_at),
            "delivered_at": fmt.date(order.delivered_at),
            "agreed_price": fmt.money(agreed, currency),
            "discount": fmt.money(order.discount_total, currency) if order.discount_total > 0 else None,
        }
        shipment = session.exec(
            select(Shipment).where(Shipment.order_id == order.id).order_by(Shipment.id.desc()).limit(1)
        ).first()
        if shipment is not None:
            values |= {
                "carrier": shipment.carrier,
                "tracking_number": shipment.tracking_number,
                "tracking_url": shipment.tracking_url,
            }
    for key, value in _bargain(session, inquiry, fmt, currency).items():
        if value is not None:
            values[key] = value
    if case is not None:
        values["case_status"] = fmt.label(STATE_LABELS[CaseState(case.state)])
    values["care_tips"] = _care_tips(session, order, ticket.customer_id)
    return {key: value for key, value in values.items() if value not in (None, "", [])}
