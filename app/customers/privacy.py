"""A buyer's data on request (export) and the right to be forgotten (erasure), PIPL / GDPR.

Erasure scrubs the personal fields and free text written by or about the buyer (messages, review
and survey texts) and keeps the aggregates (order counts, totals, ratings) a shop needs for its
books and metrics; it is audit-logged. Export gathers what the desk stores about the buyer.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from app.aftersales.models import AftersalesCase
from app.audit.service import Actor, record
from app.customers.export import csv_cell
from app.customers.models import Customer
from app.errors import InvalidInput
from app.orders.models import Order, OrderItem, Shipment
from app.presale.models import Inquiry
from app.reviews.models import CsatSurvey, Review
from app.tickets.models import Ticket, TicketMessage

# Personal fields an erasure clears (the nickname becomes a neutral placeholder).
ERASED_FIELDS = ("name", "phone", "email", "street", "district", "notes")
ERASED_TEXT = "[erased]"


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
    _scrub_texts(session, customer.id)
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


def _scrub_texts(session: Session, customer_id: int) -> None:
    """Free text may hold anything (a phone number typed into a chat): scrub it, keep the rows."""
    tickets = select(Ticket.id).where(Ticket.customer_id == customer_id).scalar_subquery()
    session.execute(
        sa.update(TicketMessage).where(TicketMessage.ticket_id.in_(tickets)).values(body=ERASED_TEXT)
    )
    session.execute(
        sa.update(Review).where(Review.customer_id == customer_id).values(text="", followup_text="")
    )
    session.execute(sa.update(CsatSurvey).where(CsatSurvey.customer_id == customer_id).values(comment=""))


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
        "tickets": _tickets(session, customer.id),
        "csat_surveys": [
            _row(s, ("ticket_id", "rating", "comment", "sent_at", "answered_at"))
            for s in session.exec(
                select(CsatSurvey).where(CsatSurvey.customer_id == customer.id).order_by(CsatSurvey.id)
            )
        ],
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


def _tickets(session: Session, customer_id: int) -> list[dict[str, Any]]:
    tickets = list(session.exec(select(Ticket).where(Ticket.customer_id == customer_id).order_by(Ticket.id)))
    messages: dict[int, list[dict[str, Any]]] = {t.id: [] for t in tickets}
    if tickets:
        query = (
            select(TicketMessage)
            .where(TicketMessage.ticket_id.in_(list(messages)))
            # Internal notes are the shop's own working notes about the case, not the buyer's data.
            .where(TicketMessage.direction != "note")
            .order_by(TicketMessage.ticket_id, TicketMessage.created_at, TicketMessage.id)
        )
        for message in session.exec(query):
            messages[message.ticket_id].append(_row(message, ("direction", "body", "channel", "created_at")))
    return [
        _row(t, ("id", "kind", "status", "subject", "order_id", "created_at", "solved_at"))
        | {"messages": messages[t.id]}
        for t in tickets
    ]


def export_csv(document: dict[str, Any]) -> str:
    """The export as one flat CSV (section, record, field, value) that opens in Excel (UTF-8 BOM)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(["section", "record", "field", "value"])

    def walk(section: str, rec: str, row: dict[str, Any]) -> None:
        for name, value in row.items():
            if isinstance(value, list) and value and isinstance(value[0], dict):
                for index, child in enumerate(value, start=1):
                    walk(f"{section}.{name}", f"{rec}.{index}", child)
            elif isinstance(value, list | dict):
                writer.writerow([section, rec, name, json.dumps(value, ensure_ascii=False)])
            else:
                writer.writerow([section, rec, name, csv_cell(value)])

    walk("customer", "1", document["customer"])
    for section, rows in document.items():
        if section != "customer":
            for index, row in enumerate(rows, start=1):
                walk(section, str(index), row)
    return out.getvalue()


EXPORT_FORMATS = ("json", "csv")


def export_for_request(
    session: Session, customer: Customer, *, fmt: str, actor: Actor, now: datetime
) -> tuple[str, str]:
    """A data-access request answered: (body, media type), audit-logged as who exported whom."""
    if fmt not in EXPORT_FORMATS:
        raise InvalidInput("{format} is not an export format.", fields={"format": "json, csv"}, format=fmt)
    document = export_customer(session, customer)
    record(
        session,
        action="customer.exported",
        actor=actor,
        subject_type="customer",
        subject_id=customer.id,
        detail={"format": fmt},
        now=now,
    )
    if fmt == "csv":
        return export_csv(document), "text/csv; charset=utf-8"
    return json.dumps(document, ensure_ascii=False, indent=2), "application/json"
