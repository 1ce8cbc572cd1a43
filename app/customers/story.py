"""The buyer's whole story for the customer page: profile plus orders, inquiries, cases and reviews.

A read-only composition of other domains' read functions; it changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session

from app.aftersales import service as aftersales
from app.customers.masking import customer_view
from app.customers.schemas import CustomerRead
from app.customers.service import CustomerFilters, list_customers, require_customer
from app.followups import service as followups
from app.integrations import service as stores
from app.orders import service as orders
from app.presale import service as presale
from app.reviews import service as reviews


@dataclass
class CustomerStory:
    customer: CustomerRead
    orders: list[Any] = field(default_factory=list)
    inquiries: list[Any] = field(default_factory=list)
    cases: list[Any] = field(default_factory=list)
    reviews: list[Any] = field(default_factory=list)
    followups: list[Any] = field(default_factory=list)


def customer_story(session: Session, customer_id: int, *, viewer: Any, now: datetime) -> CustomerStory:
    customer = require_customer(session, customer_id)
    return CustomerStory(
        customer=customer_view(customer, viewer),
        orders=orders.order_cards_for_customer(session, customer.id),
        inquiries=presale.inquiry_cards_for_customer(session, customer.id),
        cases=aftersales.cases_for_customer(session, customer.id, now=now),
        reviews=reviews.reviews_for_customer(session, customer.id),
        followups=followups.followups_for_customer(session, customer.id),
    )


def customer_panel(session: Session, customer_id: int, *, viewer: Any) -> CustomerRead:
    """Just the profile, for the HTMX partials of the customer page."""
    return customer_view(require_customer(session, customer_id), viewer)


@dataclass
class CustomerList:
    customers: list[CustomerRead]
    next_cursor: str | None
    stores: list[Any]


def customer_list(
    session: Session, *, filters: CustomerFilters, viewer: Any, cursor: str | None = None, limit: int = 50
) -> CustomerList:
    """One page of the customer list as this viewer may see it, with the stores for the filter."""
    rows = list_customers(session, filters=filters, cursor=cursor, limit=limit)
    return CustomerList(
        customers=[customer_view(c, viewer) for c in rows.items],
        next_cursor=rows.next_cursor,
        stores=stores.get_all_stores(session),
    )
