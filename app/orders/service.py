"""Orders: creation, the one door for stage changes (advance), refunds, read models."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from app.audit import service as audit
from app.audit.service import Actor
from app.catalog.models import Product
from app.customers.models import Customer
from app.errors import Conflict, InvalidInput, NotFound
from app.events import emit
from app.integrations.models import Store
from app.money import parse_currency, parse_money
from app.orders import lifecycle
from app.orders.lifecycle import TIMESTAMP_FIELD, Stage
from app.orders.models import Order, OrderItem, OrderTimelineEntry, Shipment
from app.pagination import Rows, paginate

MAX_QUANTITY = 100_000


@dataclass(frozen=True)
class NewItem:
    product_id: int | None
    sku: str
    title: str
    quantity: int
    unit_price: Decimal
    agreed_price: Decimal | None = None


@dataclass
class OrderCard:
    """Everything a page shows of one order: the order, its lines, parcels and history."""

    order: Order
    items: list[OrderItem] = field(default_factory=list)
    shipments: list[Shipment] = field(default_factory=list)
    timeline: list[OrderTimelineEntry] = field(default_factory=list)
    store: Store | None = None

    @property
    def allowed_next(self) -> tuple[Stage, ...]:
        return lifecycle.manual_next(Stage(self.order.stage))

    @property
    def can_add_shipment(self) -> bool:
        return Stage(self.order.stage) in (Stage.paid, Stage.shipped)

    @property
    def can_mark_delivered(self) -> bool:
        return Stage(self.order.stage) == Stage.shipped

    @property
    def steps(self) -> list[dict[str, object]]:
        stamps = {stage: getattr(self.order, column) for stage, column in TIMESTAMP_FIELD.items()}
        return lifecycle.steps(Stage(self.order.stage), stamps)


# --- reading ---------------------------------------------------------------------------------


def get_order(session: Session, order_id: int) -> Order | None:
    return session.get(Order, order_id)


def require_order(session: Session, order_id: int) -> Order:
    order = get_order(session, order_id)
    if order is None:
        raise NotFound("Order {id} does not exist.", id=order_id)
    return order


def get_order_by_external_id(session: Session, store_id: int, external_id: str) -> Order | None:
    query = select(Order).where(Order.store_id == store_id, Order.external_id == external_id)
    return session.exec(query).first()


def orders_for_customer(session: Session, customer_id: int) -> list[Order]:
    query = (
        select(Order)
        .where(Order.customer_id == customer_id)
        .order_by(Order.placed_at.desc(), Order.id.desc())
    )
    return list(session.exec(query))


def items_for(session: Session, order_id: int) -> list[OrderItem]:
    return list(session.exec(select(OrderItem).where(OrderItem.order_id == order_id).order_by(OrderItem.id)))


def shipments_for(session: Session, order_id: int) -> list[Shipment]:
    return list(session.exec(select(Shipment).where(Shipment.order_id == order_id).order_by(Shipment.id)))


def timeline_for(session: Session, order_id: int) -> list[OrderTimelineEntry]:
    query = select(OrderTimelineEntry).where(OrderTimelineEntry.order_id == order_id)
    return list(session.exec(query.order_by(OrderTimelineEntry.occurred_at, OrderTimelineEntry.id)))


def order_card(session: Session, order: Order) -> OrderCard:
    return OrderCard(
        order=order,
        items=items_for(session, order.id),
        shipments=shipments_for(session, order.id),
        timeline=timeline_for(session, order.id),
        store=session.get(Store, order.store_id),
    )


def order_cards_for_customer(session: Session, customer_id: int) -> list[OrderCard]:
    return order_cards(session, orders_for_customer(session, customer_id))


def order_cards(session: Session, orders: list[Order]) -> list[OrderCard]:
    """One query per kind of row, not per order: fifty orders are still four queries."""
    if not orders:
        return []
    ids = [o.id for o in orders]
    cards = {o.id: OrderCard(order=o) for o in orders}
    for item in session.exec(select(OrderItem).where(OrderItem.order_id.in_(ids)).order_by(OrderItem.id)):
        cards[item.order_id].items.append(item)
    for shipment in session.exec(select(Shipment).where(Shipment.order_id.in_(ids)).order_by(Shipment.id)):
        cards[shipment.order_id].shipments.append(shipment)
    timeline = select(OrderTimelineEntry).where(OrderTimelineEntry.order_id.in_(ids))
    for entry in session.exec(timeline.order_by(OrderTimelineEntry.occurred_at, OrderTimelineEntry.id)):
        cards[entry.order_id].timeline.append(entry)
    stores = {s.id: s for s in session.exec(select(Store).where(Store.id.in_({o.store_id for o in orders})))}
    for card in cards.values():
        card.store = stores.get(card.order.store_id)
    return [cards[i] for i in ids]


def list_orders(
    session: Session,
    *,
    cursor: str | None,
    limit: int,
    store_id: int | None = None,
    external_id: str | None = None,
    stage: Stage | None = None,
    customer_id: int | None = None,
    updated_since: datetime | None = None,
    q: str | None = None,
) -> Rows[Order]:
    """Filtered orders, newest first. `q` is what an agent pastes from chat: an order number
    (prefix) or the storefront's id."""
    query = select(Order)
    if q and q.strip():
        term = q.strip()[:64]
        query = query.where(sa.or_(Order.number.startswith(term, autoescape=True), Order.external_id == term))
    if store_id is not None:
        query = query.where(Order.store_id == store_id)
    if external_id is not None:
        query = query.where(Order.external_id == external_id)
    if stage is not None:
        query = query.where(Order.stage == stage)
    if customer_id is not None:
        query = query.where(Order.customer_id == customer_id)
    if updated_since is not None:
        query = query.where(Order.updated_at >= updated_since)
    return paginate(session, query, Order.id, cursor=cursor, limit=limit)


# --- creating --------------------------------------------------------------------------------


def _check_items(session: Session, store: Store, items: list[NewItem]) -> list[tuple[NewItem, Decimal]]:
    """Validated lines with their totals (the agreed price wins over the unit price)."""
    if not items:
        raise InvalidInput("An order needs at least one line item.", fields={"items": "at least one item"})
    checked = []
    for index, item in enumerate(items):
        where = f"items.{index}"
        if (
            isinstance(item.quantity, bool)
            or not isinstance(item.quantity, int)
            or not 1 <= item.quantity <= MAX_QUANTITY
        ):
            raise InvalidInput(
                "Quantity must be a whole number from 1 to {max}.",
                fields={f"{where}.quantity": f"1–{MAX_QUANTITY}"},
                max=MAX_QUANTITY,
            )
        if not item.title.strip():
            raise InvalidInput("Every line item needs a title.", fields={f"{where}.title": "required"})
        unit_price = parse_money(item.unit_price, field=f"{where}.unit_price")
        agreed = (
            None
            if item.agreed_price is None
            else parse_money(item.agreed_price, field=f"{where}.agreed_price")
        )
        if item.product_id is not None:
            product = session.get(Product, item.product_id)
            if product is None or product.store_id != store.id:
                raise InvalidInput(
                    "Product {id} is not in this store's catalog.",
                    fields={f"{where}.product_id": "unknown product"},
                    id=item.product_id,
                )
        clean = NewItem(item.product_id, item.sku, item.title, item.quantity, unit_price, agreed)
        checked.append((clean, (agreed if agreed is not None else unit_price) * item.quantity))
    return checked


def create_order(
    session: Session,
    *,
    store: Store,
    customer: Customer,
    items: list[NewItem],
    placed_at: datetime,
    actor: Actor,
    now: datetime,
    number: str | None = None,
    external_id: str | None = None,
    currency: str | None = None,
    shipping_fee: Decimal = Decimal("0"),
    discount_total: Decimal = Decimal("0"),
    total: Decimal | None = None,
    assisted_by_id: int | None = None,
    source_updated_at: datetime | None = None,
    note: str = "",
) -> Order:
    """Validate everything, then write the order, its lines and its first timeline row."""
    if customer.store_id != store.id:
        raise InvalidInput("The customer belongs to another store.", fields={"customer_id": "other store"})
    currency = parse_currency(currency or store.currency)
    shipping_fee = parse_money(shipping_fee, field="shipping_fee")
    discount_total = parse_money(discount_total, field="discount_total")
    checked = _check_items(session, store, items)
    subtotal = sum((line_total for _, line_total in checked), Decimal("0.00"))
    if total is None:
        total = subtotal + shipping_fee - discount_total
        if total < 0:
            raise InvalidInput(
                "The discount is larger than the order.", fields={"discount_total": "too large"}
            )
    else:
        total = parse_money(total, field="total")
    if external_id is not None:
        external_id = str(external_id).strip()[:64] or None
        if external_id and get_order_by_external_id(session, store.id, external_id):
            raise Conflict("Order {external_id} of this store already exists.", external_id=external_id)
    order = Order(
        store_id=store.id,
        customer_id=customer.id,
        external_id=external_id,
        number=(number or "").strip()[:64] or "pending",
        stage=Stage.ordered,
        currency=currency,
        subtotal=subtotal,
        shipping_fee=shipping_fee,
        discount_total=discount_total,
        total=total,
        assisted_by_id=assisted_by_id,
        placed_at=placed_at,
        source_updated_at=source_updated_at,
        note=note[:5000],
        created_at=now,
        updated_at=now,
    )
    session.add(order)
    session.flush()
    if order.number == "pending":
        order.number = f"HT{placed_at:%Y%m%d}{order.id:06d}"
    # The lines in one statement (an ORM bulk insert): nothing here needs their ids back.
    session.execute(
        sa.insert(OrderItem),
        [
            {
                "order_id": order.id,
                "product_id": item.product_id,
                "sku": item.sku.strip()[:64],
                "title": item.title.strip()[:255],
                "quantity": item.quantity,
                "unit_price": item.unit_price,
                "agreed_price": item.agreed_price,
                "line_total": line_total,
            }
            for item, line_total in checked
        ],
    )
    _append_timeline(session, order, None, Stage.ordered, actor, "order placed", placed_at, now)
    session.flush()
    emit(session, "order.created", now=now, order=order)
    return order


# --- the one door for stages -----------------------------------------------------------------


def _append_timeline(
    session: Session,
    order: Order,
    from_stage: Stage | None,
    to_stage: Stage,
    actor: Actor,
    reason: str,
    occurred_at: datetime,
    now: datetime,
) -> None:
    session.add(
        OrderTimelineEntry(
            order_id=order.id,
            from_stage=from_stage,
            to_stage=to_stage,
            actor_type=actor.type if actor.type in ("agent", "storefront", "system") else "agent",
            actor_id=actor.id,
            reason=reason[:255],
            occurred_at=occurred_at,
            created_at=now,
        )
    )


def _conflict(order: Order, to: Stage) -> Conflict:
    allowed = ", ".join(s.value for s in lifecycle.manual_next(Stage(order.stage))) or "none (final stage)"
    return Conflict(
        "Order {number} cannot move from {current} to {to}. Allowed next: {allowed}.",
        number=order.number,
        current=Stage(order.stage).value,
        to=to.value,
        allowed=allowed,
    )


def advance(
    session: Session,
    order: Order,
    *,
    to: Stage | str,
    actor: Actor,
    now: datetime,
    reason: str = "",
    at: datetime | None = None,
) -> Order:
    """Move an order forward, the only way a stage changes.

    A storefront or the system may report a stage the order already passed (a late `paid`
    after `shipped`): its timestamp is filled in and the stage stays. They may also skip ahead
    (a fulfilment before the payment): the order walks through the stages between. An agent's
    move must be one allowed step. Anything else is a Conflict naming the allowed next stages.
    """
    try:
        to = Stage(to)
    except ValueError as exc:
        raise InvalidInput(
            "{stage} is not an order stage.", fields={"stage": ", ".join(s.value for s in Stage)}, stage=to
        ) from exc
    at = at or now
    current = Stage(order.stage)
    if to == Stage.refunded and current != Stage.refunded and order.refunded_amount < order.total:
        raise Conflict(
            "Order {number} becomes refunded only when its whole total has been refunded; "
            "record the refund (an after-sales case does it).",
            number=order.number,
        )
    from_storefront = actor.type in ("storefront", "system")
    if lifecycle.is_allowed(current, to):
        path = [to]
    elif from_storefront and lifecycle.is_behind(current, to):
        return _fill_late_timestamp(session, order, to, actor, reason, at, now)
    elif from_storefront and (path := lifecycle.catch_up_path(current, to)):
        pass
    else:
        raise _conflict(order, to)
    for step in path:
        before = Stage(order.stage)
        order.stage = step
        stamp = TIMESTAMP_FIELD[step]
        # Only the target's time is known; stages walked through keep theirs empty until their
        # own (late) event arrives.
        if step == to and getattr(order, stamp) is None:
            setattr(order, stamp, at)
        step_reason = reason if step == to else f"implied by {to.value}"
        _append_timeline(session, order, before, step, actor, step_reason, at, now)
    order.updated_at = now
    session.add(order)
    session.flush()
    emit(session, "order.stage_changed", now=now, order=order, from_stage=current, to_stage=to)
    return order


def _fill_late_timestamp(
    session: Session, order: Order, to: Stage, actor: Actor, reason: str, at: datetime, now: datetime
) -> Order:
    stamp = TIMESTAMP_FIELD[to]
    # The earliest report of a stage wins, whatever order the reports arrive in.
    recorded = getattr(order, stamp)
    if recorded is None or (at < recorded and to != Stage.ordered):
        setattr(order, stamp, at)
        order.updated_at = now
        session.add(order)
        _append_timeline(
            session,
            order,
            Stage(order.stage),
            to,
            actor,
            reason or f"late {to.value} event: time recorded",
            at,
            now,
        )
        session.flush()
    return order


def update_from_source(
    session: Session,
    order: Order,
    *,
    source_updated_at: datetime,
    now: datetime,
    shipping_fee: Decimal | None = None,
    discount_total: Decimal | None = None,
    total: Decimal | None = None,
    note: str | None = None,
) -> bool:
    """Mutable fields from a storefront report, applied only when it is newer than the last one.

    Stages and refunds have their own doors; this covers totals and the note. Returns whether
    the report was applied.
    """
    if order.source_updated_at is not None and source_updated_at <= order.source_updated_at:
        return False
    money_changed = False
    for name, value in (("shipping_fee", shipping_fee), ("discount_total", discount_total), ("total", total)):
        if value is None:
            continue
        value = parse_money(value, field=name)
        if value != getattr(order, name) and (name != "total" or value >= order.refunded_amount):
            setattr(order, name, value)
            money_changed = True
    if note is not None and note[:5000] != order.note:
        order.note = note[:5000]
    order.source_updated_at = source_updated_at
    order.updated_at = now
    session.add(order)
    session.flush()
    if money_changed:
        emit(session, "order.updated", now=now, order=order)
    return True


def credit_assist(
    session: Session, order: Order, *, agent_id: int | None, agreed_prices: dict[int, Decimal]
) -> Order:
    """Credit the agent whose inquiry became this order (客服销售额) and note the bargained prices
    on its lines. Fills only what is still empty: the storefront's own figures are never overwritten,
    and the line totals stay what the buyer was charged."""
    if order.assisted_by_id is None and agent_id is not None:
        order.assisted_by_id = agent_id
        session.add(order)
    if agreed_prices:
        for item in items_for(session, order.id):
            price = agreed_prices.get(item.product_id) if item.product_id is not None else None
            if price is not None and item.agreed_price is None:
                item.agreed_price = parse_money(price, field="agreed_price")
                session.add(item)
    session.flush()
    return order


# --- refunds and auto-confirmation -----------------------------------------------------------


def record_refund(
    session: Session, order: Order, *, amount: Decimal, actor: Actor, reason: str, now: datetime
) -> Order:
    """Money back to the buyer. Refunding the whole total moves the order to refunded."""
    amount = parse_money(amount, field="amount")
    if amount <= 0:
        raise InvalidInput("A refund must be more than zero.", fields={"amount": "must be > 0"})
    if Stage(order.stage) in (Stage.ordered, Stage.cancelled):
        raise Conflict("Order {number} was never paid; there is nothing to refund.", number=order.number)
    if order.refunded_amount + amount > order.total:
        raise InvalidInput(
            "Refunds would exceed the order total of {total}.",
            fields={"amount": f"at most {order.total - order.refunded_amount}"},
            total=str(order.total),
        )
    order.refunded_amount = order.refunded_amount + amount
    order.updated_at = now
    session.add(order)
    session.flush()
    audit.record(
        session,
        action="order.refund",
        actor=actor,
        subject_type="order",
        subject_id=order.id,
        amount=amount,
        currency=order.currency,
        detail={"reason": reason[:255], "refunded_total": str(order.refunded_amount)},
        now=now,
    )
    if order.refunded_amount == order.total and Stage(order.stage) != Stage.refunded:
        advance(session, order, to=Stage.refunded, actor=actor, reason=reason or "full refund", now=now)
    emit(session, "order.refunded", now=now, order=order, amount=amount)
    return order


def _confirm_due(store: Store, now: datetime) -> Any:
    """Orders of the store shipped longer ago than its auto-confirm days, oldest first
    (ix_orders_stage_shipped: the range of each stage up to the cutoff)."""
    cutoff = now - timedelta(days=store.auto_confirm_days)
    return (
        select(Order)
        .where(
            Order.store_id == store.id,
            Order.stage.in_([Stage.shipped, Stage.delivered]),
            Order.shipped_at.is_not(None),
            Order.shipped_at <= cutoff,
        )
        .order_by(Order.shipped_at)
    )


def auto_confirm_pending(session: Session, *, now: datetime) -> bool:
    """Whether any order is due for automatic confirmation (a read: the job asks this first, so
    on SQLite it takes the write lock only when there is something to confirm)."""
    for store in session.exec(select(Store).order_by(Store.id)):
        if session.exec(_confirm_due(store, now).with_only_columns(Order.id).limit(1)).first() is not None:
            return True
    return False


def auto_confirm_due(session: Session, *, now: datetime, limit: int = 500) -> int:
    """Confirm receipt for orders shipped longer ago than their store's auto-confirm days.

    The rule is a store setting (Taobao express: 10 days after shipping). Returns how many.
    """
    confirmed = 0
    for store in session.exec(select(Store).order_by(Store.id)):
        for order in session.exec(_confirm_due(store, now).limit(limit - confirmed)):
            advance(
                session,
                order,
                to=Stage.confirmed,
                actor=audit.SYSTEM,
                now=now,
                reason=f"confirmed automatically {store.auto_confirm_days} days after shipping",
            )
            confirmed += 1
        if confirmed >= limit:
            break
    return confirmed
