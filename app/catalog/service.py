"""Products: SKU, title, category, list price, floor price (the lowest an agent may agree), care tips."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from app.audit.service import Actor, record
from app.catalog.models import Product
from app.errors import Conflict, InvalidInput, NotFound
from app.integrations import service as stores
from app.integrations.models import Store
from app.money import parse_currency, parse_money
from app.pagination import Rows, paginate

SKU_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-/]{0,63}$")
EDITABLE = ("title", "category", "list_price", "floor_price", "care_tips", "is_active")


def get_product(session: Session, product_id: int) -> Product | None:
    return session.get(Product, product_id)


def require_product(session: Session, product_id: int) -> Product:
    product = get_product(session, product_id)
    if product is None:
        raise NotFound("Product {id} does not exist.", id=product_id)
    return product


def get_product_by_sku(session: Session, store_id: int, sku: str) -> Product | None:
    return session.exec(select(Product).where(Product.store_id == store_id, Product.sku == sku)).first()


def get_all_products(
    session: Session, *, store_id: int | None = None, active_only: bool = False
) -> list[Product]:
    query = select(Product)
    if store_id is not None:
        query = query.where(Product.store_id == store_id)
    if active_only:
        query = query.where(Product.is_active.is_(True))
    return list(session.exec(query.order_by(Product.id)))


def _resolve_store(session: Session, store: Store | str) -> Store:
    if isinstance(store, Store):
        return store
    found = stores.get_store_by_slug(session, str(store).strip())
    if found is None:
        raise InvalidInput("Store {slug} does not exist.", fields={"store": "unknown store"}, slug=store)
    return found


def _money(field: str, value: Any, errors: dict[str, str]) -> Decimal | None:
    try:
        return parse_money(value, field=field)
    except InvalidInput as exc:
        errors.update(exc.fields)
        return None


def _text(field: str, value: Any, limit: int, errors: dict[str, str], *, required: bool = False) -> str:
    text = "" if value is None else str(value).strip()
    if required and not text:
        errors[field] = "required"
    elif len(text) > limit:
        errors[field] = f"at most {limit} characters"
    return text


def _check_floor(list_price: Decimal | None, floor_price: Decimal | None, errors: dict[str, str]) -> None:
    if list_price is not None and floor_price is not None and floor_price > list_price:
        errors["floor_price"] = "must not be above the list price"


def _raise_if(errors: dict[str, str]) -> None:
    if errors:
        raise InvalidInput(
            "Please correct the product's details: {names}.", fields=errors, names=", ".join(sorted(errors))
        )


def create_product(
    session: Session,
    *,
    store: Store | str,
    sku: str,
    title: str,
    list_price: Decimal | str,
    floor_price: Decimal | str,
    now: datetime,
    category: str = "",
    currency: str | None = None,
    care_tips: str = "",
) -> Product:
    store = _resolve_store(session, store)
    errors: dict[str, str] = {}
    sku = (sku or "").strip()
    if not SKU_RE.match(sku):
        errors["sku"] = "1–64 letters, digits, . _ - /"
    values = {
        "title": _text("title", title, 255, errors, required=True),
        "category": _text("category", category, 64, errors),
        "care_tips": _text("care_tips", care_tips, 5000, errors),
        "list_price": _money("list_price", list_price, errors),
        "floor_price": _money("floor_price", floor_price, errors),
    }
    try:
        code = parse_currency(currency or store.currency)
    except InvalidInput as exc:
        errors.update(exc.fields)
        code = ""
    _check_floor(values["list_price"], values["floor_price"], errors)
    _raise_if(errors)
    if get_product_by_sku(session, store.id, sku):
        raise Conflict("Store {store} already has a product with SKU {sku}.", store=store.slug, sku=sku)
    product = Product(store_id=store.id, sku=sku, currency=code, created_at=now, updated_at=now, **values)
    session.add(product)
    session.flush()
    return product


def update_product(
    session: Session, product: Product, *, actor: Actor, now: datetime, **changes: Any
) -> Product:
    """Change any of EDITABLE (None means unchanged). A new floor price is a money decision: audit-logged."""
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise InvalidInput(
            "These fields cannot be changed: {names}.",
            fields={name: "not editable" for name in unknown},
            names=", ".join(unknown),
        )
    changes = {k: v for k, v in changes.items() if v is not None}
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    if "title" in changes:
        values["title"] = _text("title", changes["title"], 255, errors, required=True)
    if "category" in changes:
        values["category"] = _text("category", changes["category"], 64, errors)
    if "care_tips" in changes:
        values["care_tips"] = _text("care_tips", changes["care_tips"], 5000, errors)
    for field in ("list_price", "floor_price"):
        if field in changes:
            values[field] = _money(field, changes[field], errors)
    if "is_active" in changes:
        values["is_active"] = bool(changes["is_active"])
    _check_floor(
        values.get("list_price", product.list_price), values.get("floor_price", product.floor_price), errors
    )
    _raise_if(errors)
    old_floor = product.floor_price
    for field, value in values.items():
        setattr(product, field, value)
    product.updated_at = now
    session.add(product)
    session.flush()
    if "floor_price" in values and values["floor_price"] != old_floor:
        record(
            session,
            action="catalog.floor_price_changed",
            actor=actor,
            subject_type="product",
            subject_id=product.id,
            amount=product.floor_price,
            currency=product.currency,
            detail={"old_floor_price": str(old_floor), "sku": product.sku},
            now=now,
        )
    return product


def deactivate(session: Session, product: Product, *, now: datetime) -> Product:
    """No longer sold: hidden from pickers, kept for the orders and inquiries that name it."""
    if product.is_active:
        product.is_active = False
        product.updated_at = now
        session.add(product)
        session.flush()
    return product


@dataclass(frozen=True)
class ProductFilters:
    store: str = ""
    category: str = ""
    q: str = ""
    active: bool | None = None


def products_query(session: Session, filters: ProductFilters) -> Any:
    query = select(Product)
    if filters.store:
        query = query.where(Product.store_id == _resolve_store(session, filters.store).id)
    if filters.category.strip():
        query = query.where(Product.category == filters.category.strip())
    q = filters.q.strip()
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            sa.or_(Product.title.ilike(pattern, escape="\\"), Product.sku.ilike(pattern, escape="\\"))
        )
    if filters.active is not None:
        query = query.where(Product.is_active.is_(filters.active))
    return query


def list_products(
    session: Session, *, filters: ProductFilters, cursor: str | None = None, limit: int = 50
) -> Rows[Product]:
    return paginate(session, products_query(session, filters), Product.id, cursor=cursor, limit=limit)


def categories(session: Session) -> list[str]:
    query = select(Product.category).where(Product.category != "").distinct().order_by(Product.category)
    return list(session.exec(query))


def can_edit_prices(agent: Any) -> bool:
    """Prices and floors are a supervisor's (or admin's) decision; agents read them."""
    return str(getattr(agent.role, "value", agent.role)) in ("supervisor", "admin")


@dataclass
class CatalogListing:
    products: list[Product]
    next_cursor: str | None
    stores: list[Store]
    categories: list[str]


def catalog_listing(
    session: Session, *, filters: ProductFilters, cursor: str | None = None, limit: int = 50
) -> CatalogListing:
    """One page of the catalog with what its filters offer."""
    rows = list_products(session, filters=filters, cursor=cursor, limit=limit)
    return CatalogListing(
        products=rows.items,
        next_cursor=rows.next_cursor,
        stores=stores.get_all_stores(session),
        categories=categories(session),
    )
