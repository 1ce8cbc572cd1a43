"""A buyer's data on request (export) and the right to be forgotten (erasure), PIPL / GDPR.

Erasure scrubs the personal fields and keeps the aggregates (order counts, totals) a shop needs
for its books; it is audit-logged. Export gathers what the desk stores about the buyer.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session, select

from app.aftersales.models import AftersalesCase
from app.audit.service import Actor, record
from app.customers.models import Customer
from app.orders.models import Order, OrderItem, Shipment
from app.presale.models import Inquiry
from app.reviews.models import Review

# Personal fields an erasure clears (the nickname becomes a neutral placeholder).
ERASED_FIELDS = ("name", "phone", "email", "street", "district", "notes")


def erase_customer(session: Session, customer: Customer, *, actor: Actor, now: datetime) -> Customer:
    """Scrub the buyer's personal fields, stop marketing, set erased_at. Erasing twice is a no-op."""
    if customer.erased_at is not None:
        return customer
    for name in ERASED_FIELDS:
        setattr(customer, name, "")
    customer.nickname = f"erased-{customer.id}"
    customer.marketing_consent = False
    customer.opted_out_at = customer.opted_out_at or now
    customer.erased_at = now
    customer.updated_at = now
    session.add(customer)
    session.flush()
    record(
        session,
        action="customer.erased",
        actor=actor,
        subject_type="customer",
        subject_id=customer.id,
        detail={"store_id": customer.store_id, "fields": list(ERASED_FIELDS) + ["nickname"]},
        now=now,
    )
    return customer


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "value") and not isinstance(value, str | int | float | bool):
        return value.value
    return value


def _row(obj: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: _plain(getattr(obj, name)) for name in fields}


CUSTOMER_FIELDS = (
    "id", "external_id", "nickname", "name", "phone", "email", "province", "city", "district",
    "street", "tags", "vip_level", "notes", "marketing_consent", "consent_at", "opted_out_at",
    "orders_count", "total_spent", "refunds_count", "refunded_total", "last_order_at", "erased_at",
    "created_at",
)  # fmt: skip
ORDER_FIELDS = (
    "id", "external_id", "number", "stage", "currency", "subtotal", "shipping_fee", "discount_total",
    "total", "refunded_amount", "placed_at", "paid_at", "shipped_at", "delivered_at", "confirmed_at",
    "cancelled_at", "refunded_at", "note",
)  # fmt: skip


def export_customer(session: Session, customer: Customer) -> dict[str, Any]:
    """Everything stored about the buyer in this desk, as one JSON-ready document."""
    orders = list(session.exec(select(Order).where(Order.customer_id == customer.id).order_by(Order.id)))
    ids = [o.id for o in orders]
    items: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    parcels: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    if ids:
        for item in session.exec(select(OrderItem).where(OrderItem.order_id.in_(ids)).order_by(OrderItem.id)):
            items[item.order_id].append(_row(item, ("sku", "title", "quantity", "unit_price", "line_total")))
        for parcel in session.exec(select(Shipment).where(Shipment.order_id.in_(ids)).order_by(Shipment.id)):
            parcels[parcel.order_id].append(
                _row(parcel, ("carrier", "tracking_number", "carrier_status", "shipped_at", "delivered_at"))
            )
    reviews = session.exec(select(Review).where(Review.customer_id == customer.id).order_by(Review.id))
    inquiries = session.exec(select(Inquiry).where(Inquiry.customer_id == customer.id).order_by(Inquiry.id))
    cases = session.exec(
        select(AftersalesCase).where(AftersalesCase.customer_id == customer.id).order_by(AftersalesCase.id)
    )
    return {
        "customer": _row(customer, CUSTOMER_FIELDS),
        "orders": [
            _row(o, ORDER_FIELDS) | {"items": items[o.id], "shipments": parcels[o.id]} for o in orders
        ],
        "reviews": [
            _row(r, ("id", "order_id", "rating", "grade", "text", "followup_text", "posted_at"))
            for r in reviews
        ],
        "inquiries": [_row(i, ("id", "status", "question", "opened_at", "closed_at")) for i in inquiries],
        "aftersales_cases": [
            _row(
                c,
                (
                    "id",
                    "order_id",
                    "kind",
                    "reason",
                    "state",
                    "description",
                    "requested_amount",
                    "requested_at",
                ),
            )
            for c in cases
        ],
    }
