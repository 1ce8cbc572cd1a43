"""The buyer's whole story for the customer page: profile plus orders, inquiries, cases and reviews.

A read-only composition of other domains' read functions; it changes nothing.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from app.customers.masking import customer_view
from app.customers.schemas import CustomerRead
from app.customers.service import CustomerFilters, list_customers, require_customer
from app.integrations import service as stores
from app.orders import service as orders
from app.presale import service as presale


@dataclass
class CustomerStory:
    customer: CustomerRead
    orders: list[Any] = field(default_factory=list)
    inquiries: list[Any] = field(default_factory=list)
    cases: list[Any] = field(default_factory=list)
    reviews: list[Any] = field(default_factory=list)


# Not landed yet when this page was written (aftersales, reviews): looked up lazily so the page
# works meanwhile. TEMPORARY — replace with direct imports like orders and presale once they exist.
PENDING_SECTIONS = (
    ("cases", "app.aftersales.service", "cases_for_customer"),
    ("reviews", "app.reviews.service", "reviews_for_customer"),
)


def _pending_section(session: Session, module: str, function: str, customer_id: int) -> list[Any]:
    try:
        loaded = importlib.import_module(module)
    except ImportError:
        return []
    read = getattr(loaded, function, None)
    return list(read(session, customer_id)) if read is not None else []


def customer_story(session: Session, customer_id: int, *, viewer: Any) -> CustomerStory:
    customer = require_customer(session, customer_id)
    story = CustomerStory(
        customer=customer_view(customer, viewer),
        orders=orders.order_cards_for_customer(session, customer.id),
        inquiries=presale.inquiry_cards_for_customer(session, customer.id),
    )
    for attribute, module, function in PENDING_SECTIONS:
        setattr(story, attribute, _pending_section(session, module, function, customer.id))
    return story


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
