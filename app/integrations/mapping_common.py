"""What every storefront mapping shares: a platform-neutral order report applied through the
lifecycle services, so that repeated and out-of-order deliveries end in the same state.

Rules: stages only move forward (orders.service.advance); mutable fields (totals, note) follow
the newest storefront `updated_at` only; a stage time is the earliest the storefront reported;
refunds are recorded once per storefront refund id; carrier status never leaves "delivered".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlmodel import Session, select

from app import events
from app.audit.service import STOREFRONT
from app.catalog.models import Product
from app.customers import service as customers
from app.customers.models import Customer
from app.errors import Conflict, DomainError, InvalidInput
from app.integrations.models import ExternalRef, Store
from app.orders import service as orders
from app.orders import shipping
from app.orders.lifecycle import SEQUENCE, Stage
from app.orders.models import Order
from app.orders.service import NewItem

CENTS = Decimal("0.01")
PHONE_KEEP = re.compile(r"[^0-9+\-]")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Deferred(DomainError):
    """The delivery needs something that has not arrived yet (its order): retried later."""

    status_code = 409
    code = "deferred"


@dataclass
class CustomerData:
    external_id: str | None
    nickname: str = ""
    name: str = ""
    phone: str = ""
    email: str = ""
    province: str = ""
    city: str = ""
    district: str = ""
    street: str = ""
    marketing_consent: bool = False


@dataclass
class ItemData:
    sku: str
    title: str
    quantity: int
    unit_price: Decimal


@dataclass
class ShipmentData:
    external_id: str
    carrier: str = ""
    tracking_number: str = ""
    tracking_url: str = ""
    shipped_at: datetime | None = None
    carrier_status: str = ""
    status_at: datetime | None = None


@dataclass
class RefundData:
    external_id: str
    amount: Decimal
    reason: str = ""


@dataclass
class OrderData:
    external_id: str
    number: str = ""
    currency: str | None = None
    placed_at: datetime | None = None
    updated_at: datetime | None = None
    total: Decimal | None = None
    shipping_fee: Decimal = Decimal("0.00")
    discount_total: Decimal = Decimal("0.00")
    note: str = ""
    customer: CustomerData | None = None
    items: list[ItemData] = field(default_factory=list)
    # (stage, when the storefront says it happened)
    stages: list[tuple[Stage, datetime]] = field(default_factory=list)
    shipments: list[ShipmentData] = field(default_factory=list)
    refunds: list[RefundData] = field(default_factory=list)
    # A cumulative refunded amount (WooCommerce reports totals, not refund events).
    refunded_to: Decimal | None = None


# --- parsing helpers -------------------------------------------------------------------------


def ext_id(value: Any) -> str | None:
    """A storefront id as an exact string (64-bit ids never pass through float)."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, float):
        raise InvalidInput(
            "Ids must be integers or strings, not {value}.", fields={"id": "integer"}, value=value
        )
    return str(value).strip()[:64] or None


def parse_time(value: Any, *, assume_utc: bool = True) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(
            "{value} is not a date and time.", fields={"date": "ISO 8601"}, value=value
        ) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)  # WooCommerce *_gmt fields carry no zone
    return parsed.astimezone(UTC)


def money(value: Any, *, field_name: str = "amount") -> Decimal:
    if value is None or value == "":
        return Decimal("0.00")
    try:
        amount = Decimal(str(value)).quantize(CENTS, rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError) as exc:
        raise InvalidInput(
            "{field} is not an amount of money.", fields={field_name: "decimal"}, field=field_name
        ) from exc
    return amount


def clean_phone(value: Any) -> str:
    phone = PHONE_KEEP.sub("", str(value or ""))
    return phone if phone and len(phone) <= 20 and phone[0] != "-" else ""


def clean_email(value: Any) -> str:
    email = str(value or "").strip()
    return email if EMAIL_RE.match(email) and len(email) <= 255 else ""


# --- applying --------------------------------------------------------------------------------


def ensure_customer(session: Session, store: Store, data: CustomerData, *, now: datetime) -> Customer:
    if data.external_id:
        found = customers.get_customer_by_external_id(session, store.id, data.external_id)
        if found is not None:
            return found
    nickname = (data.nickname or data.name or data.email.split("@")[0] or "buyer").strip()[:64]
    return customers.create_customer(
        session,
        store=store,
        nickname=nickname,
        external_id=data.external_id,
        name=data.name.strip()[:64],
        phone=clean_phone(data.phone),
        email=clean_email(data.email),
        province=data.province.strip()[:32],
        city=data.city.strip()[:32],
        district=data.district.strip()[:32],
        street=data.street.strip()[:255],
        marketing_consent=data.marketing_consent,
        now=now,
    )


def _product_ids(session: Session, store: Store, skus: set[str]) -> dict[str, int]:
    if not skus:
        return {}
    query = select(Product.sku, Product.id).where(Product.store_id == store.id, Product.sku.in_(skus))
    return {sku: pid for sku, pid in session.exec(query)}


def find_order(session: Session, store: Store, external_id: str | None) -> Order | None:
    return orders.get_order_by_external_id(session, store.id, external_id) if external_id else None


def require_order(session: Session, store: Store, external_id: str | None) -> Order:
    order = find_order(session, store, external_id)
    if order is None:
        raise Deferred("Order {id} has not arrived yet; this delivery will be retried.", id=external_id)
    return order


def sync_order(session: Session, store: Store, data: OrderData, *, now: datetime) -> tuple[Order, list[str]]:
    """Create or update the order the report describes; returns it and notes on what was skipped.
    The buyer's lifetime figures are recomputed once at the end, not after each step."""
    with events.coalescing(session):
        return _sync_order(session, store, data, now=now)


def _sync_order(session: Session, store: Store, data: OrderData, *, now: datetime) -> tuple[Order, list[str]]:
    notes: list[str] = []
    order = find_order(session, store, data.external_id)
    if order is None:
        if data.customer is None or not data.items:
            raise Deferred(
                "Order {id} has not arrived yet; this delivery will be retried.", id=data.external_id
            )
        customer = ensure_customer(session, store, data.customer, now=now)
        products = _product_ids(session, store, {i.sku for i in data.items if i.sku})
        order = orders.create_order(
            session,
            store=store,
            customer=customer,
            items=[
                NewItem(products.get(i.sku), i.sku, i.title, i.quantity, i.unit_price) for i in data.items
            ],
            placed_at=data.placed_at or now,
            actor=STOREFRONT,
            now=now,
            number=data.number or None,
            external_id=data.external_id,
            currency=data.currency,
            shipping_fee=data.shipping_fee,
            discount_total=data.discount_total,
            total=data.total,
            source_updated_at=data.updated_at,
            note=data.note or "",
        )
    elif data.updated_at and (order.source_updated_at is None or data.updated_at > order.source_updated_at):
        _apply_newer_fields(session, order, data, now=now)
    for stage, at in sorted(data.stages, key=lambda s: _rank(s[0])):
        note = apply_stage(session, order, stage, at, now=now)
        if note:
            notes.append(note)
    for shipment in data.shipments:
        note = apply_shipment(session, order, shipment, now=now)
        if note:
            notes.append(note)
    for refund in data.refunds:
        apply_refund(session, store, order, refund, now=now)
    if data.refunded_to is not None:
        refund_up_to(session, order, data.refunded_to, now=now)
    return order, notes


def _rank(stage: Stage) -> int:
    return SEQUENCE.index(stage) if stage in SEQUENCE else len(SEQUENCE)


def _apply_newer_fields(session: Session, order: Order, data: OrderData, *, now: datetime) -> None:
    orders.update_from_source(
        session,
        order,
        source_updated_at=data.updated_at,
        now=now,
        shipping_fee=data.shipping_fee,
        discount_total=data.discount_total,
        total=data.total,
        note=data.note,
    )


def apply_stage(session: Session, order: Order, stage: Stage, at: datetime, *, now: datetime) -> str | None:
    """Advance (or fill a late time); a move the lifecycle refuses becomes a note, not a failure."""
    try:
        orders.advance(
            session, order, to=stage, actor=STOREFRONT, now=now, at=at, reason=f"storefront: {stage.value}"
        )
    except Conflict as exc:
        return exc.english()
    return None


def apply_shipment(session: Session, order: Order, data: ShipmentData, *, now: datetime) -> str | None:
    shipment = shipping.get_shipment_by_external_id(session, order, data.external_id)
    if shipment is None:
        if Stage(order.stage) in (Stage.cancelled, Stage.refunded):
            return f"parcel {data.external_id} ignored: the order is {order.stage}"
        shipment = shipping.add_shipment(
            session,
            order,
            carrier=data.carrier or "",
            tracking_number=data.tracking_number or f"#{data.external_id}",
            tracking_url=data.tracking_url if data.tracking_url.startswith(("http://", "https://")) else "",
            actor=STOREFRONT,
            now=now,
            shipped_at=data.shipped_at,
            external_id=data.external_id,
        )
    status = data.carrier_status
    if status and status not in shipping.KNOWN_STATUSES:
        return f"carrier status {status} not understood"
    if status and status != shipment.carrier_status and shipment.carrier_status != "delivered":
        shipping.update_carrier_status(
            session, order, shipment, status=status, actor=STOREFRONT, now=now, at=data.status_at
        )
    return None


def apply_refund(session: Session, store: Store, order: Order, data: RefundData, *, now: datetime) -> bool:
    """Record a storefront refund once, whichever deliveries report it. True when recorded now."""
    query = select(ExternalRef).where(
        ExternalRef.store_id == store.id,
        ExternalRef.kind == "refund",
        ExternalRef.external_id == data.external_id,
    )
    if session.exec(query).first() is not None:
        return False
    if data.amount > 0:
        remaining = order.total - order.refunded_amount
        amount = min(data.amount, remaining)
        if amount > 0:
            orders.record_refund(
                session,
                order,
                amount=amount,
                actor=STOREFRONT,
                reason=data.reason or "storefront refund",
                now=now,
            )
    session.add(
        ExternalRef(
            store_id=store.id, kind="refund", external_id=data.external_id, local_id=order.id, created_at=now
        )
    )
    session.flush()
    return True


def refund_up_to(session: Session, order: Order, target: Decimal, *, now: datetime) -> None:
    delta = min(target, order.total) - order.refunded_amount
    if delta > 0:
        orders.record_refund(
            session, order, amount=delta, actor=STOREFRONT, reason="storefront refund", now=now
        )
