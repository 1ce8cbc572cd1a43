"""JSON API of the orders domain (/api/v1/orders)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from app.accounts.deps import ReadKey, WriteKey
from app.audit.service import Actor
from app.customers.models import Customer
from app.db import SessionDep, utc_now
from app.errors import InvalidInput
from app.integrations import service as stores
from app.orders import service, shipping
from app.orders.lifecycle import Stage
from app.orders.schemas import (
    AdvanceIn,
    CarrierStatusIn,
    OrderCreate,
    OrderPage,
    OrderRead,
    RefundIn,
    ShipmentIn,
)
from app.orders.service import NewItem, OrderCard
from app.pagination import DEFAULT_LIMIT

router = APIRouter(prefix="/api/v1", tags=["orders"])


def _read(card: OrderCard) -> OrderRead:
    order = card.order
    return OrderRead.model_validate(
        {
            **order.model_dump(),
            "store": card.store.slug if card.store else "",
            "allowed_next": list(card.allowed_next),
            "items": card.items,
            "shipments": card.shipments,
            "timeline": card.timeline,
        }
    )


@router.get("/orders", response_model=OrderPage, summary="List orders (newest first)")
def list_orders(
    session: SessionDep,
    key: ReadKey,
    store: Annotated[str | None, Query(description="Store slug")] = None,
    external_id: Annotated[str | None, Query(max_length=64, description="The storefront's order id")] = None,
    stage: Stage | None = None,
    customer_id: int | None = None,
    updated_since: datetime | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = DEFAULT_LIMIT,
) -> OrderPage:
    store_id = stores.require_store(session, store).id if store else None
    rows = service.list_orders(
        session,
        cursor=cursor,
        limit=limit,
        store_id=store_id,
        external_id=external_id,
        stage=stage,
        customer_id=customer_id,
        updated_since=updated_since,
    )
    return OrderPage(
        items=[_read(c) for c in service.order_cards(session, rows.items)], next_cursor=rows.next_cursor
    )


@router.get("/orders/{order_id}", response_model=OrderRead)
def get_order(order_id: int, session: SessionDep, key: ReadKey) -> OrderRead:
    return _read(service.order_card(session, service.require_order(session, order_id)))


@router.post("/orders", response_model=OrderRead, status_code=201)
def create_order(body: OrderCreate, session: SessionDep, key: WriteKey) -> OrderRead:
    store = stores.require_store(session, body.store)
    customer = session.get(Customer, body.customer_id)
    if customer is None:
        raise InvalidInput(
            "Customer {id} does not exist.", fields={"customer_id": "unknown customer"}, id=body.customer_id
        )
    now = utc_now()
    order = service.create_order(
        session,
        store=store,
        customer=customer,
        items=[
            NewItem(i.product_id, i.sku, i.title, i.quantity, i.unit_price, i.agreed_price)
            for i in body.items
        ],
        placed_at=body.placed_at or now,
        actor=Actor.api_key(key),
        now=now,
        number=body.number,
        external_id=body.external_id,
        currency=body.currency,
        shipping_fee=body.shipping_fee,
        discount_total=body.discount_total,
        assisted_by_id=body.assisted_by_id,
    )
    return _read(service.order_card(session, order))


@router.post(
    "/orders/{order_id}/advance", response_model=OrderRead, summary="Move the order to a later stage"
)
def advance_order(order_id: int, body: AdvanceIn, session: SessionDep, key: WriteKey) -> OrderRead:
    order = service.require_order(session, order_id)
    # An API client is a storefront or bridge: late and skipped events are accepted as such.
    service.advance(
        session,
        order,
        to=body.stage,
        actor=Actor("storefront", key.id),
        reason=body.reason,
        at=body.at,
        now=utc_now(),
    )
    return _read(service.order_card(session, order))


@router.post("/orders/{order_id}/shipments", response_model=OrderRead, status_code=201)
def add_shipment(order_id: int, body: ShipmentIn, session: SessionDep, key: WriteKey) -> OrderRead:
    order = service.require_order(session, order_id)
    shipping.add_shipment(
        session,
        order,
        carrier=body.carrier,
        tracking_number=body.tracking_number,
        tracking_url=body.tracking_url,
        shipped_at=body.shipped_at,
        actor=Actor("storefront", key.id),
        now=utc_now(),
    )
    return _read(service.order_card(session, order))


@router.post("/orders/{order_id}/shipments/{shipment_id}/status", response_model=OrderRead)
def update_shipment_status(
    order_id: int, shipment_id: int, body: CarrierStatusIn, session: SessionDep, key: WriteKey
) -> OrderRead:
    order = service.require_order(session, order_id)
    shipment = shipping.require_shipment(session, order, shipment_id)
    shipping.update_carrier_status(
        session,
        order,
        shipment,
        status=body.status,
        at=body.at,
        actor=Actor("storefront", key.id),
        now=utc_now(),
    )
    return _read(service.order_card(session, order))


@router.post(
    "/orders/{order_id}/refunds", response_model=OrderRead, summary="Record money refunded to the buyer"
)
def record_refund(order_id: int, body: RefundIn, session: SessionDep, key: WriteKey) -> OrderRead:
    order = service.require_order(session, order_id)
    service.record_refund(
        session, order, amount=body.amount, reason=body.reason, actor=Actor.api_key(key), now=utc_now()
    )
    return _read(service.order_card(session, order))
