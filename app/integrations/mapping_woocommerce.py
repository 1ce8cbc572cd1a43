"""WooCommerce order topics mapped onto the lifecycle. Dates are the *_gmt fields (UTC); money
arrives as strings; refunds arrive as order.updated with status refunded (or a refunds list)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from app.errors import Conflict, InvalidInput
from app.integrations import mapping_common as common
from app.integrations.mapping_common import CustomerData, ItemData, OrderData
from app.integrations.models import Store
from app.integrations.outcome import Outcome
from app.orders import service as orders
from app.orders.lifecycle import Stage

TOPICS = frozenset({"order.created", "order.updated", "order.deleted", "order.restored"})

# WooCommerce status → the stages it implies (pending / on-hold / failed stay ordered).
STATUS_STAGES: dict[str, tuple[Stage, ...]] = {
    "pending": (),
    "on-hold": (),
    "failed": (),
    "checkout-draft": (),
    "processing": (Stage.paid,),
    "completed": (Stage.paid, Stage.shipped),
    "cancelled": (Stage.cancelled,),
    "refunded": (Stage.paid,),
}


def subject_of(topic: str, payload: dict[str, Any]) -> tuple[str, str]:
    customer_id = payload.get("customer_id")
    customer_ref = common.ext_id(customer_id) if customer_id not in (None, 0, "0") else ""
    return common.ext_id(payload.get("id")) or "", customer_ref or ""


def _customer(payload: dict[str, Any]) -> CustomerData:
    billing = payload.get("billing") or {}
    shipping = payload.get("shipping") or {}
    address = shipping if shipping.get("address_1") else billing
    email = str(billing.get("email") or "")
    customer_id = payload.get("customer_id")
    external = (
        common.ext_id(customer_id)
        if customer_id not in (None, 0, "0")
        else (f"email:{email.lower()}"[:64] if email else None)
    )
    name = " ".join(p for p in (billing.get("first_name"), billing.get("last_name")) if p)
    return CustomerData(
        external_id=external,
        nickname=name or email.split("@")[0],
        name=name,
        phone=str(billing.get("phone") or shipping.get("phone") or ""),
        email=email,
        province=str(address.get("state") or ""),
        city=str(address.get("city") or ""),
        street=" ".join(p for p in (address.get("address_1"), address.get("address_2")) if p),
    )


def _stage_time(payload: dict[str, Any], stage: Stage) -> datetime | None:
    keys = {
        Stage.paid: ("date_paid_gmt", "date_modified_gmt"),
        Stage.shipped: ("date_completed_gmt", "date_modified_gmt"),
        Stage.cancelled: ("date_modified_gmt",),
    }[stage]
    for key in keys:
        if payload.get(key):
            return common.parse_time(payload[key])
    return None


def order_data(payload: dict[str, Any]) -> OrderData:
    external_id = common.ext_id(payload.get("id"))
    if external_id is None:
        raise InvalidInput("The order has no id.", fields={"id": "required"})
    status = str(payload.get("status") or "")
    if status not in STATUS_STAGES:
        raise InvalidInput(
            "Unknown WooCommerce order status {status}.", fields={"status": "unknown"}, status=status
        )
    stages = [(s, at) for s in STATUS_STAGES[status] if (at := _stage_time(payload, s)) is not None]
    items = []
    for line in payload.get("line_items") or []:
        quantity = int(line.get("quantity") or 0)
        if quantity <= 0:
            continue
        price = line.get("price")
        if price in (None, ""):
            price = common.money(line.get("subtotal")) / quantity
        items.append(
            ItemData(
                sku=str(line.get("sku") or "")[:64],
                title=str(line.get("name") or "item")[:255],
                quantity=quantity,
                unit_price=common.money(price),
            )
        )
    refunded = sum((abs(common.money(r.get("total"))) for r in payload.get("refunds") or []), common.money(0))
    total = common.money(payload.get("total"))
    return OrderData(
        external_id=external_id,
        number=str(payload.get("number") or external_id),
        currency=payload.get("currency"),
        placed_at=common.parse_time(payload.get("date_created_gmt")),
        updated_at=common.parse_time(payload.get("date_modified_gmt")),
        total=total,
        shipping_fee=common.money(payload.get("shipping_total")),
        discount_total=common.money(payload.get("discount_total")),
        note=str(payload.get("customer_note") or ""),
        customer=_customer(payload),
        items=items,
        stages=stages,
        refunded_to=total if status == "refunded" else (refunded or None),
    )


def handle(session: Session, store: Store, topic: str, payload: dict[str, Any], *, now: datetime) -> Outcome:
    if topic == "order.deleted":
        order = common.find_order(session, store, common.ext_id(payload.get("id")))
        if order is None:
            return Outcome(note="deleted order was never received: nothing to do")
        try:
            orders.advance(
                session, order, to=Stage.cancelled, actor=common.STOREFRONT, now=now, reason="deleted in shop"
            )
        except Conflict as exc:
            return Outcome(note=exc.english())
        return Outcome(note=f"order {order.number} cancelled (deleted in the shop)")
    order, notes = common.sync_order(session, store, order_data(payload), now=now)
    if payload.get("status") == "failed":
        notes.append("payment failed: the order stays unpaid")
    return Outcome(note="; ".join(notes) or f"order {order.number}", order_external_id=order.external_id)
