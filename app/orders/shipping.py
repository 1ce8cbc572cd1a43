"""Shipments: parcels of an order, their tracking, delivery, and carrier exceptions."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from app.audit.service import Actor
from app.errors import Conflict, InvalidInput, NotFound
from app.events import emit
from app.orders.lifecycle import Stage
from app.orders.models import Order, Shipment
from app.orders.service import advance

# Carrier statuses that mean "tell the buyer before the buyer asks" (物流异常).
EXCEPTION_STATUSES = frozenset({"failure", "attempted_delivery", "delayed", "exception", "returned"})
KNOWN_STATUSES = EXCEPTION_STATUSES | {
    "",
    "label_printed",
    "in_transit",
    "out_for_delivery",
    "delivered",
    "confirmed",
}


def require_shipment(session: Session, order: Order, shipment_id: int) -> Shipment:
    shipment = session.get(Shipment, shipment_id)
    if shipment is None or shipment.order_id != order.id:
        raise NotFound("Shipment {id} of this order does not exist.", id=shipment_id)
    return shipment


def get_shipment_by_external_id(session: Session, order: Order, external_id: str) -> Shipment | None:
    query = select(Shipment).where(Shipment.order_id == order.id, Shipment.external_id == external_id)
    return session.exec(query).first()


def add_shipment(
    session: Session,
    order: Order,
    *,
    carrier: str,
    tracking_number: str,
    actor: Actor,
    now: datetime,
    tracking_url: str = "",
    shipped_at: datetime | None = None,
    external_id: str | None = None,
) -> Shipment:
    """Record a parcel and move the order to shipped (or fill in its shipping time if late)."""
    if Stage(order.stage) in (Stage.cancelled, Stage.refunded):
        raise Conflict("Order {number} is {stage}; it cannot ship.", number=order.number, stage=order.stage)
    from_storefront = actor.type in ("storefront", "system")
    if Stage(order.stage) == Stage.ordered and not from_storefront:
        raise Conflict("Order {number} is not paid yet; record the payment first.", number=order.number)
    if not tracking_number.strip():
        raise InvalidInput("A shipment needs a tracking number.", fields={"tracking_number": "required"})
    if tracking_url and not tracking_url.startswith(("https://", "http://")):
        raise InvalidInput(
            "The tracking URL must start with https://.", fields={"tracking_url": "http(s) URL"}
        )
    shipped_at = shipped_at or now
    shipment = Shipment(
        order_id=order.id,
        external_id=(external_id or None),
        carrier=carrier.strip()[:64],
        tracking_number=tracking_number.strip()[:128],
        tracking_url=tracking_url.strip()[:512],
        carrier_status="in_transit",
        shipped_at=shipped_at,
        created_at=now,
        updated_at=now,
    )
    session.add(shipment)
    session.flush()
    stage = Stage(order.stage)
    if stage != Stage.shipped and (stage == Stage.paid or actor.type in ("storefront", "system")):
        advance(
            session,
            order,
            to=Stage.shipped,
            actor=actor,
            now=now,
            at=shipped_at,
            reason=f"{carrier} {tracking_number}",
        )
    elif stage == Stage.ordered:
        raise Conflict("Order {number} is not paid yet; record the payment first.", number=order.number)
    return shipment


def update_carrier_status(
    session: Session,
    order: Order,
    shipment: Shipment,
    *,
    status: str,
    actor: Actor,
    now: datetime,
    at: datetime | None = None,
) -> Shipment:
    """A carrier's tracking update. Delivered moves the order on; exceptions are announced."""
    status = status.strip().lower()
    if status not in KNOWN_STATUSES:
        raise InvalidInput(
            "Unknown carrier status {status}.",
            fields={"status": ", ".join(sorted(KNOWN_STATUSES - {""}))},
            status=status,
        )
    shipment.carrier_status = status
    shipment.updated_at = now
    if status == "delivered":
        shipment.delivered_at = shipment.delivered_at or at or now
    session.add(shipment)
    session.flush()
    if status == "delivered":
        advance(
            session,
            order,
            to=Stage.delivered,
            actor=actor,
            now=now,
            at=shipment.delivered_at,
            reason="signed for",
        )
    elif status in EXCEPTION_STATUSES:
        emit(session, "shipment.exception", now=now, order=order, shipment=shipment)
    return shipment


def mark_delivered(
    session: Session,
    order: Order,
    shipment: Shipment,
    *,
    actor: Actor,
    now: datetime,
    at: datetime | None = None,
) -> Shipment:
    return update_carrier_status(session, order, shipment, status="delivered", actor=actor, now=now, at=at)
