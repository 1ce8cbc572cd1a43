"""Huitou's own event schema (Standard Webhooks) mapped onto orders, refunds, reviews, inquiries
and buyer messages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, select

from app.catalog.models import Product
from app.errors import InvalidInput, validation_fields
from app.integrations import mapping_common as common
from app.integrations.event_schema import EVENT_ADAPTER, EVENT_TYPES, EventCustomer, EventOrder
from app.integrations.mapping_common import CustomerData, ItemData, OrderData, RefundData, ShipmentData
from app.integrations.models import Store
from app.integrations.outcome import Outcome
from app.orders.lifecycle import Stage

TOPICS = frozenset(EVENT_TYPES)
STAGE_OF = {
    "order.paid": (Stage.paid, "paid_at"),
    "order.delivered": (Stage.delivered, "delivered_at"),
    "order.confirmed": (Stage.confirmed, "confirmed_at"),
    "order.cancelled": (Stage.cancelled, "cancelled_at"),
}


def subject_of(topic: str, payload: dict[str, Any]) -> tuple[str, str]:
    data = payload.get("data") if isinstance(payload.get("data"), dict) else {}
    customer = data.get("customer") if isinstance(data.get("customer"), dict) else {}
    customer_ref = common.ext_id(customer.get("id")) or ""
    order_ref = data.get("id") if topic.startswith("order.") else data.get("order_id")
    try:
        return common.ext_id(order_ref) or "", customer_ref
    except InvalidInput:
        return "", customer_ref


def _customer(raw: EventCustomer) -> CustomerData:
    return CustomerData(
        external_id=raw.id,
        nickname=raw.nickname,
        name=raw.name,
        phone=raw.phone,
        email=raw.email,
        province=raw.province,
        city=raw.city,
        district=raw.district,
        street=raw.street,
    )


def _order_data(event_type: str, timestamp: datetime, order: EventOrder) -> OrderData:
    stages: list[tuple[Stage, datetime]] = []
    shipments: list[ShipmentData] = []
    if order.paid_at:
        stages.append((Stage.paid, order.paid_at))
    if event_type in STAGE_OF:
        stage, column = STAGE_OF[event_type]
        stages.append((stage, getattr(order, column) or timestamp))
    if order.shipment is not None:
        delivered = event_type == "order.delivered"
        shipments.append(
            ShipmentData(
                external_id=order.shipment.id,
                carrier=order.shipment.carrier,
                tracking_number=order.shipment.tracking_number,
                tracking_url=order.shipment.tracking_url,
                shipped_at=order.shipment.shipped_at or (None if delivered else timestamp),
                carrier_status="delivered" if delivered else "",
                status_at=(order.delivered_at or timestamp) if delivered else None,
            )
        )
    elif event_type == "order.shipped":
        stages.append((Stage.shipped, timestamp))
    return OrderData(
        external_id=order.id,
        number=order.number,
        currency=order.currency,
        placed_at=order.placed_at or (timestamp if event_type == "order.created" else None),
        updated_at=order.updated_at or timestamp,
        total=order.total,
        shipping_fee=order.shipping_fee,
        discount_total=order.discount_total,
        note=order.note,
        customer=_customer(order.customer) if order.customer else None,
        items=[ItemData(i.sku, i.title, i.quantity, i.unit_price) for i in order.items],
        stages=stages,
        shipments=shipments,
    )


def _products(session: Session, store: Store, skus: list[str]) -> dict[str, int]:
    query = select(Product.sku, Product.id).where(Product.store_id == store.id, Product.sku.in_(skus))
    return {sku: pid for sku, pid in session.exec(query)}


def handle(session: Session, store: Store, topic: str, payload: dict[str, Any], *, now: datetime) -> Outcome:
    try:
        event = EVENT_ADAPTER.validate_python(payload)
    except ValidationError as exc:
        fields = validation_fields(list(exc.errors()))
        raise InvalidInput(
            "The {type} event does not match the schema: {names}.",
            fields=fields,
            type=topic,
            names=", ".join(sorted(fields)),
        ) from exc
    data = event.data
    if topic.startswith("order."):
        order, notes = common.sync_order(session, store, _order_data(topic, event.timestamp, data), now=now)
        return Outcome(note="; ".join(notes) or f"order {order.number}", order_external_id=order.external_id)
    if topic == "refund.created":
        order = common.require_order(session, store, data.order_id)
        recorded = common.apply_refund(
            session, store, order, RefundData(data.id, data.amount, data.reason), now=now
        )
        return Outcome(note=f"refund {data.amount} recorded" if recorded else "refund already recorded")
    customer = common.ensure_customer(session, store, _customer(data.customer), now=now)
    if topic == "review.posted":
        from app.reviews import service as reviews

        order = common.require_order(session, store, data.order_id) if data.order_id else None
        product_id = _products(session, store, [data.sku]).get(data.sku) if data.sku else None
        review = reviews.post_review(
            session,
            store=store,
            customer=customer,
            order=order,
            rating=data.rating,
            text=data.text,
            product_id=product_id,
            external_id=data.id,
            posted_at=data.posted_at or event.timestamp,
            now=now,
        )
        return Outcome(note=f"review {review.id} ({review.grade})")
    if topic == "inquiry.created":
        return _inquiry(session, store, customer, data, event.timestamp, now=now)
    return handle_message_received(session, store, customer, data, now=now)


def _inquiry(
    session: Session, store: Store, customer: Any, data: Any, at: datetime, *, now: datetime
) -> Outcome:
    from app.presale import service as presale
    from app.presale.models import Inquiry

    existing = session.exec(
        select(Inquiry).where(Inquiry.store_id == store.id, Inquiry.external_id == data.id)
    ).first()
    if existing is not None:
        return Outcome(note=f"inquiry {existing.id} already recorded")
    products = _products(session, store, data.skus)
    unknown = [sku for sku in data.skus if sku not in products]
    if unknown:
        raise InvalidInput(
            "Unknown SKUs for this store: {skus}.",
            fields={"data.skus": "unknown sku"},
            skus=", ".join(unknown),
        )
    inquiry = presale.open_inquiry(
        session,
        store=store,
        customer=customer,
        product_ids=[products[s] for s in data.skus],
        question=data.question,
        external_id=data.id,
        opened_at=min(data.opened_at or at, now),
        now=now,
    )
    return Outcome(note=f"inquiry {inquiry.id} opened")


def handle_message_received(
    session: Session, store: Store, customer: Any, data: Any, *, now: datetime
) -> Outcome:
    """A buyer's message joins (or reopens, or opens) the customer's conversation ticket; a
    redelivered message (same id) is recorded once. A message about an order that has not
    arrived yet is kept on the ticket without the order link."""
    from app.tickets import service as tickets

    order = common.find_order(session, store, data.order_id)
    message = tickets.receive_message(
        session,
        store_id=store.id,
        customer_id=customer.id,
        body=data.text,
        now=now,
        external_id=data.id,
        channel=data.channel,
        order_id=order.id if order is not None else None,
    )
    return Outcome(note=f"message {data.id} on ticket {message.ticket_id}")
