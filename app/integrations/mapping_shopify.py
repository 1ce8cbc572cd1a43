"""Shopify webhook topics mapped onto the lifecycle (orders, parcels, refunds, privacy requests)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from app.errors import InvalidInput
from app.integrations import mapping_common as common
from app.integrations.mapping_common import CustomerData, ItemData, OrderData, RefundData, ShipmentData
from app.integrations.models import Store
from app.integrations.outcome import Outcome
from app.orders.lifecycle import Stage

ORDER_TOPICS = frozenset(
    {
        "orders/create",
        "orders/paid",
        "orders/updated",
        "orders/fulfilled",
        "orders/partially_fulfilled",
        "orders/cancelled",
    }
)
FULFILLMENT_TOPICS = frozenset({"fulfillments/create", "fulfillments/update"})
PRIVACY_TOPICS = frozenset({"customers/data_request", "customers/redact", "shop/redact"})
TOPICS = ORDER_TOPICS | FULFILLMENT_TOPICS | PRIVACY_TOPICS | {"refunds/create"}

PAID_STATUSES = frozenset({"paid", "partially_refunded", "refunded"})
# Shopify's shipment_status words, in the carrier vocabulary of app.orders.shipping.
CARRIER_STATUS = {
    "label_printed": "label_printed",
    "label_purchased": "label_printed",
    "confirmed": "confirmed",
    "in_transit": "in_transit",
    "out_for_delivery": "out_for_delivery",
    "ready_for_pickup": "out_for_delivery",
    "attempted_delivery": "attempted_delivery",
    "delivered": "delivered",
    "failure": "failure",
    "delayed": "delayed",
}
SKIPPED_FULFILLMENTS = frozenset({"cancelled", "error", "failure"})


def subject_of(topic: str, payload: dict[str, Any]) -> tuple[str, str]:
    """(order id, customer id) the delivery is about, for dependants and redaction."""
    customer = payload.get("customer") if isinstance(payload.get("customer"), dict) else {}
    customer_ref = common.ext_id(customer.get("id")) or ""
    if topic in ORDER_TOPICS:
        return common.ext_id(payload.get("id")) or "", customer_ref
    if topic in FULFILLMENT_TOPICS or topic == "refunds/create":
        return common.ext_id(payload.get("order_id")) or "", customer_ref
    return "", customer_ref


def _customer(payload: dict[str, Any]) -> CustomerData | None:
    raw = payload.get("customer") or {}
    address = (
        payload.get("shipping_address") or payload.get("billing_address") or raw.get("default_address") or {}
    )
    name = (
        " ".join(p for p in (raw.get("first_name"), raw.get("last_name")) if p) or address.get("name") or ""
    )
    email = raw.get("email") or payload.get("email") or payload.get("contact_email") or ""
    return CustomerData(
        external_id=common.ext_id(raw.get("id")) or (f"email:{email.lower()}"[:64] if email else None),
        nickname=name or email.split("@")[0],
        name=name,
        phone=raw.get("phone") or address.get("phone") or payload.get("phone") or "",
        email=email,
        province=address.get("province") or "",
        city=address.get("city") or "",
        street=" ".join(p for p in (address.get("address1"), address.get("address2")) if p),
        marketing_consent=bool(payload.get("buyer_accepts_marketing")),
    )


def _shipment(raw: dict[str, Any]) -> ShipmentData | None:
    if (raw.get("status") or "") in SKIPPED_FULFILLMENTS or raw.get("id") is None:
        return None
    status = CARRIER_STATUS.get(str(raw.get("shipment_status") or ""), "")
    return ShipmentData(
        external_id=common.ext_id(raw.get("id")) or "",
        carrier=str(raw.get("tracking_company") or ""),
        tracking_number=str(raw.get("tracking_number") or (raw.get("tracking_numbers") or [""])[0] or ""),
        tracking_url=str(raw.get("tracking_url") or ""),
        shipped_at=common.parse_time(raw.get("created_at")),
        carrier_status=status,
        status_at=common.parse_time(raw.get("updated_at")) if status == "delivered" else None,
    )


def _refund(raw: dict[str, Any]) -> RefundData | None:
    refund_id = common.ext_id(raw.get("id"))
    if refund_id is None:
        return None
    amount = sum(
        (
            common.money(t.get("amount"))
            for t in raw.get("transactions") or []
            if t.get("kind") == "refund" and t.get("status") in ("success", None)
        ),
        common.money(0),
    )
    return RefundData(external_id=refund_id, amount=amount, reason=str(raw.get("note") or "")[:255])


def order_data(payload: dict[str, Any], topic: str) -> OrderData:
    external_id = common.ext_id(payload.get("id"))
    if external_id is None:
        raise InvalidInput("The order has no id.", fields={"id": "required"})
    updated_at = common.parse_time(payload.get("updated_at"))
    stages: list[tuple[Stage, datetime]] = []
    if payload.get("financial_status") in PAID_STATUSES or topic == "orders/paid":
        stages.append((Stage.paid, updated_at or common.parse_time(payload.get("processed_at"))))
    cancelled_at = common.parse_time(payload.get("cancelled_at"))
    if cancelled_at or topic == "orders/cancelled":
        stages.append((Stage.cancelled, cancelled_at or updated_at))
    items = [
        ItemData(
            sku=str(line.get("sku") or "")[:64],
            title=str(line.get("name") or line.get("title") or "item")[:255],
            quantity=int(line.get("quantity") or 1),
            unit_price=common.money(line.get("price")),
        )
        for line in payload.get("line_items") or []
        if int(line.get("quantity") or 0) > 0
    ]
    shipping_fee = sum(
        (
            common.money(s.get("discounted_price") or s.get("price"))
            for s in payload.get("shipping_lines") or []
        ),
        common.money(0),
    )
    return OrderData(
        external_id=external_id,
        number=str(payload.get("name") or payload.get("order_number") or ""),
        currency=payload.get("currency"),
        placed_at=common.parse_time(payload.get("created_at")),
        updated_at=updated_at,
        total=common.money(payload.get("total_price")) if payload.get("total_price") is not None else None,
        shipping_fee=shipping_fee,
        discount_total=common.money(payload.get("total_discounts")),
        note=str(payload.get("note") or ""),
        customer=_customer(payload),
        items=items,
        stages=[(s, at) for s, at in stages if at is not None],
        shipments=[s for s in (_shipment(f) for f in payload.get("fulfillments") or []) if s],
        refunds=[r for r in (_refund(r) for r in payload.get("refunds") or []) if r],
    )


def handle(session: Session, store: Store, topic: str, payload: dict[str, Any], *, now: datetime) -> Outcome:
    if topic in ORDER_TOPICS:
        order, notes = common.sync_order(session, store, order_data(payload, topic), now=now)
        return Outcome(note="; ".join(notes) or f"order {order.number}", order_external_id=order.external_id)
    if topic in FULFILLMENT_TOPICS:
        order = common.require_order(session, store, common.ext_id(payload.get("order_id")))
        shipment = _shipment(payload)
        if shipment is None:
            return Outcome(note=f"fulfillment status {payload.get('status')}: no parcel recorded")
        note = common.apply_shipment(session, order, shipment, now=now)
        return Outcome(note=note or f"parcel for order {order.number}")
    if topic == "refunds/create":
        order = common.require_order(session, store, common.ext_id(payload.get("order_id")))
        refund = _refund(payload)
        if refund is None:
            raise InvalidInput("The refund has no id.", fields={"id": "required"})
        recorded = common.apply_refund(session, store, order, refund, now=now)
        return Outcome(note=f"refund {refund.amount} recorded" if recorded else "refund already recorded")
    from app.integrations import privacy_topics

    return privacy_topics.handle(session, store, topic, payload, now=now)
