"""Inquiries (询单): open, move through their lifecycle (the one door), win automatically on an order.

Bargaining rounds and the floor-price approval live in `presale.rounds`; read models in
`presale.cards`. The event subscribers named in app.events are exported here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from app.accounts.models import Agent
from app.audit.service import SYSTEM, Actor, record
from app.catalog.models import Product
from app.customers.models import Customer
from app.errors import Conflict, InvalidInput, NotFound
from app.events import emit
from app.integrations.models import Store
from app.orders import service as orders
from app.orders.models import Order, OrderItem
from app.pagination import Rows, paginate
from app.presale import bargaining, lifecycle
from app.presale.cards import (  # noqa: F401 - re-exported: the read models other domains use
    InquiryCard,
    build_cards,
    inquiry_card,
    inquiry_cards_for_customer,
    products_of,
    rounds_of,
)
from app.presale.models import Inquiry, InquiryProduct, InquiryStatus, LostReason

MAX_PRODUCTS = 20


def get_inquiry(session: Session, inquiry_id: int) -> Inquiry | None:
    return session.get(Inquiry, inquiry_id)


def require_inquiry(session: Session, inquiry_id: int) -> Inquiry:
    inquiry = get_inquiry(session, inquiry_id)
    if inquiry is None:
        raise NotFound("Inquiry {id} does not exist.", id=inquiry_id)
    return inquiry


def _parse_product_ids(product_ids: Iterable[Any] | None) -> list[int]:
    ids: list[int] = []
    for value in product_ids or []:
        try:
            pid = int(value)
        except (TypeError, ValueError) as exc:
            raise InvalidInput(
                "{value} is not a product id.", fields={"product_ids": "integer ids"}, value=value
            ) from exc
        if pid not in ids:
            ids.append(pid)
    if not ids:
        raise InvalidInput("An inquiry is about at least one product.", fields={"product_ids": "at least 1"})
    if len(ids) > MAX_PRODUCTS:
        raise InvalidInput(
            "An inquiry is about at most {max} products.",
            fields={"product_ids": "too many"},
            max=MAX_PRODUCTS,
        )
    return ids


def open_inquiry(
    session: Session,
    *,
    store: Store,
    customer: Any,
    product_ids: Iterable[Any],
    question: str = "",
    agent_id: int | None = None,
    external_id: str | None = None,
    opened_at: datetime | None = None,
    now: datetime,
) -> Inquiry:
    """A buyer asks about one or more of the store's products."""
    if customer.store_id != store.id:
        raise InvalidInput(
            "Customer {id} is not a customer of this store.",
            fields={"customer_id": "other store"},
            id=customer.id,
        )
    ids = _parse_product_ids(product_ids)
    found = {p.id: p for p in session.exec(select(Product).where(Product.id.in_(ids)))}
    for pid in ids:
        product = found.get(pid)
        if product is None:
            raise InvalidInput(
                "Product {id} does not exist.", fields={"product_ids": f"unknown product {pid}"}, id=pid
            )
        if product.store_id != store.id:
            raise InvalidInput(
                "Product {id} is not sold by this store.",
                fields={"product_ids": f"other store {pid}"},
                id=pid,
            )
    opened = opened_at or now
    if opened.tzinfo is None or opened > now + timedelta(minutes=5):
        raise InvalidInput(
            "opened_at must be a time with a zone, not in the future.", fields={"opened_at": "past, aware"}
        )
    inquiry = Inquiry(
        store_id=store.id,
        customer_id=customer.id,
        external_id=(external_id or None) and external_id.strip()[:64],
        agent_id=agent_id,
        question=(question or "").strip()[:4000],
        opened_at=opened,
        created_at=now,
        updated_at=now,
    )
    session.add(inquiry)
    session.flush()
    session.add_all(InquiryProduct(inquiry_id=inquiry.id, product_id=pid) for pid in ids)
    session.flush()
    return inquiry


def _conflict(inquiry: Inquiry, to: InquiryStatus) -> Conflict:
    allowed = ", ".join(s.value for s in lifecycle.allowed_next(inquiry.status)) or "none (closed)"
    return Conflict(
        "Inquiry {id} is {status} and cannot move to {to}; allowed next: {allowed}.",
        id=inquiry.id,
        status=InquiryStatus(inquiry.status).value,
        to=InquiryStatus(to).value,
        allowed=allowed,
    )


def move(
    session: Session,
    inquiry: Inquiry,
    *,
    to: InquiryStatus | str,
    actor: Actor,
    now: datetime,
    order: Order | None = None,
    lost_reason: LostReason | str | None = None,
    note: str = "",
) -> Inquiry:
    """The one door for an inquiry's status; writes the history row (audit log)."""
    try:
        target = InquiryStatus(to)
    except ValueError as exc:
        raise InvalidInput(
            "{to} is not an inquiry status.", fields={"status": "open | bargaining | won | lost"}, to=to
        ) from exc
    if not lifecycle.can_move(inquiry.status, target):
        raise _conflict(inquiry, target)
    reason: LostReason | None = None
    if target == InquiryStatus.lost:
        try:
            reason = LostReason(lost_reason) if lost_reason else None
        except ValueError:
            reason = None
        if reason is None:
            raise InvalidInput(
                "A lost inquiry needs a reason: {reasons}.",
                fields={"reason": "price | stock | delivery_time | chose_another_shop | no_reply | other"},
                reasons=", ".join(r.value for r in LostReason),
            )
    if target == InquiryStatus.won:
        if order is None:
            raise InvalidInput("A won inquiry is linked to its order.", fields={"order_id": "required"})
        if order.customer_id != inquiry.customer_id:
            raise InvalidInput(
                "Order {order} belongs to another customer.",
                fields={"order_id": "other customer"},
                order=order.id,
            )
    from_status = InquiryStatus(inquiry.status)
    inquiry.status = target
    inquiry.updated_at = now
    if target == InquiryStatus.lost:
        inquiry.lost_reason = reason
        inquiry.lost_note = (note or "").strip()[:500]
    if target == InquiryStatus.won:
        inquiry.won_order_id = order.id
    if lifecycle.is_closed(target):
        inquiry.closed_at = now
    session.add(inquiry)
    session.flush()
    record(
        session,
        action=f"presale.inquiry.{target.value}",
        actor=actor,
        subject_type="inquiry",
        subject_id=inquiry.id,
        now=now,
        detail={
            "from": from_status.value,
            "to": target.value,
            "order_id": order.id if order is not None else None,
            "reason": reason.value if reason else None,
            "note": (note or "")[:200],
        },
    )
    if lifecycle.is_closed(target):
        emit(session, "inquiry.closed", now=now, inquiry=inquiry)
    return inquiry


def mark_lost(
    session: Session,
    inquiry: Inquiry,
    *,
    reason: LostReason | str,
    note: str = "",
    actor: Actor,
    now: datetime,
) -> Inquiry:
    return move(session, inquiry, to=InquiryStatus.lost, lost_reason=reason, note=note, actor=actor, now=now)


def mark_won(
    session: Session, inquiry: Inquiry, *, order: Order, now: datetime, actor: Actor = SYSTEM
) -> Inquiry:
    """Link the inquiry to the order it became; credit the agent and carry the agreed prices over."""
    move(session, inquiry, to=InquiryStatus.won, order=order, actor=actor, now=now)
    _credit_order(session, inquiry, order)
    return inquiry


def _credit_order(session: Session, inquiry: Inquiry, order: Order) -> None:
    rounds = rounds_of(session, inquiry.id)
    agreed: dict[int, Decimal] = {}
    if rounds:
        for product in products_of(session, inquiry.id):
            price = bargaining.agreed_price(product, rounds)
            if price is not None:
                agreed[product.id] = price
    orders.credit_assist(session, order, agent_id=inquiry.agent_id, agreed_prices=agreed)


def on_order_created(session: Session, *, now: datetime, order: Order, **_: Any) -> None:
    """Automatic won: the same customer's active inquiries about a product of this order, opened
    within the store's inquiry_win_days before the order was placed."""
    store = session.get(Store, order.store_id)
    days = store.inquiry_win_days if store is not None else 3
    product_ids = select(OrderItem.product_id).where(
        OrderItem.order_id == order.id, OrderItem.product_id.is_not(None)
    )
    matching = select(InquiryProduct.inquiry_id).where(InquiryProduct.product_id.in_(product_ids))
    query = (
        select(Inquiry)
        .where(
            Inquiry.customer_id == order.customer_id,
            Inquiry.status.in_([InquiryStatus.open, InquiryStatus.bargaining]),
            Inquiry.opened_at >= order.placed_at - timedelta(days=days),
            Inquiry.opened_at <= order.placed_at,
            Inquiry.id.in_(matching),
        )
        .order_by(Inquiry.opened_at.desc(), Inquiry.id.desc())
    )
    for inquiry in session.exec(query).all():
        mark_won(session, inquiry, order=order, now=now, actor=SYSTEM)


def on_approval_decided(session: Session, *, now: datetime, approval: Any, **_: Any) -> None:
    from app.presale import rounds  # late: rounds builds on this module

    rounds.apply_decision(session, approval=approval, now=now)


def list_inquiries(
    session: Session,
    *,
    store_id: int | None = None,
    customer_id: int | None = None,
    status: InquiryStatus | str | None = None,
    agent_id: int | None = None,
    updated_since: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Rows[Inquiry]:
    query = select(Inquiry)
    if store_id is not None:
        query = query.where(Inquiry.store_id == store_id)
    if customer_id is not None:
        query = query.where(Inquiry.customer_id == customer_id)
    if status:
        try:
            query = query.where(Inquiry.status == InquiryStatus(status))
        except ValueError as exc:
            raise InvalidInput(
                "{status} is not an inquiry status.",
                fields={"status": "open | bargaining | won | lost"},
                status=status,
            ) from exc
    if agent_id is not None:
        query = query.where(Inquiry.agent_id == agent_id)
    if updated_since is not None:
        if updated_since.tzinfo is None:
            raise InvalidInput(
                "updated_since needs a time zone, e.g. 2026-11-11T00:00:00Z.",
                fields={"updated_since": "aware"},
            )
        query = query.where(Inquiry.updated_at >= updated_since)
    return paginate(session, query, Inquiry.id, cursor=cursor, limit=limit)


def count_by_status(session: Session, *, agent_id: int | None = None) -> dict[str, int]:
    query = select(Inquiry.status, sa.func.count()).group_by(Inquiry.status)
    if agent_id is not None:
        query = query.where(Inquiry.agent_id == agent_id)
    return {InquiryStatus(s).value: n for s, n in session.exec(query)}


def list_inquiry_cards(session: Session, **filters: Any) -> Rows[InquiryCard]:
    """list_inquiries, as cards (products, rounds, suggestion, discount) in a few queries."""
    rows = list_inquiries(session, **filters)
    return Rows(items=build_cards(session, rows.items), next_cursor=rows.next_cursor)


def open_inquiry_for_customer(
    session: Session, *, customer_id: int, agent_id: int | None = None, now: datetime, **values: Any
) -> Inquiry:
    """open_inquiry from ids (the API and forms): unknown ids are field errors, not 404s."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise InvalidInput(
            "Customer {id} does not exist.", fields={"customer_id": "unknown customer"}, id=customer_id
        )
    if agent_id is not None and session.get(Agent, agent_id) is None:
        raise InvalidInput("Agent {id} does not exist.", fields={"agent_id": "unknown agent"}, id=agent_id)
    store = session.get(Store, customer.store_id)
    return open_inquiry(session, store=store, customer=customer, agent_id=agent_id, now=now, **values)


def win_with_order(
    session: Session, inquiry: Inquiry, *, order_id: Any, actor: Actor, now: datetime
) -> Inquiry:
    try:
        order = session.get(Order, int(order_id))
    except (TypeError, ValueError):
        order = None
    if order is None:
        raise InvalidInput("Order {id} does not exist.", fields={"order_id": "unknown order"}, id=order_id)
    return mark_won(session, inquiry, order=order, actor=actor, now=now)
