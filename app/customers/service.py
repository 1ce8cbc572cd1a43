"""Buyer profiles: create, update, search, marketing consent, and lifetime figures kept from orders."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from app.customers.masking import customer_view
from app.customers.models import Customer
from app.errors import Conflict, InvalidInput, NotFound
from app.integrations import service as stores
from app.integrations.models import Store
from app.orders.lifecycle import Stage
from app.orders.models import Order
from app.pagination import Rows, paginate

__all__ = [
    "create_customer",
    "customer_view",
    "grant_consent",
    "list_customers",
    "on_order_changed",
    "opt_out",
    "recompute_all_lifetime",
    "require_customer",
    "update_customer",
]

PHONE_RE = re.compile(r"^\+?[0-9][0-9\-]{0,19}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
VIP_MIN, VIP_MAX = 0, 9
MAX_TAGS, MAX_TAG_LENGTH = 20, 32
TEXT_LIMITS = {
    "nickname": 64,
    "name": 64,
    "email": 255,
    "province": 32,
    "city": 32,
    "district": 32,
    "street": 255,
    "notes": 5000,
    "external_id": 64,
}
EDITABLE = (
    "nickname",
    "name",
    "phone",
    "email",
    "province",
    "city",
    "district",
    "street",
    "tags",
    "vip_level",
    "notes",
)


# --- validation ------------------------------------------------------------------------------


def _clean_text(field: str, value: Any, errors: dict[str, str]) -> str:
    text = "" if value is None else str(value).strip()
    if len(text) > TEXT_LIMITS.get(field, 255):
        errors[field] = f"at most {TEXT_LIMITS.get(field, 255)} characters"
    return text


def _clean_phone(value: Any, errors: dict[str, str]) -> str:
    phone = "" if value is None else str(value).strip().replace(" ", "")
    if phone and (len(phone) > 20 or not PHONE_RE.match(phone)):
        errors["phone"] = "digits, + and - only, at most 20"
    return phone


def _clean_email(value: Any, errors: dict[str, str]) -> str:
    email = "" if value is None else str(value).strip()
    if email and (len(email) > 255 or not EMAIL_RE.match(email)):
        errors["email"] = "not an email address"
    return email


def _clean_vip(value: Any, errors: dict[str, str]) -> int:
    try:
        level = int(str(value).strip()) if not isinstance(value, int) else value
    except (TypeError, ValueError):
        errors["vip_level"] = f"a whole number {VIP_MIN}–{VIP_MAX}"
        return 0
    if isinstance(value, bool) or not VIP_MIN <= level <= VIP_MAX:
        errors["vip_level"] = f"a whole number {VIP_MIN}–{VIP_MAX}"
    return level


def parse_tags(value: Any) -> list[str]:
    """Tags from a list or from a form's text ("老客, VIP，爱砍价"): trimmed, de-duplicated, in order."""
    if value is None:
        return []
    items = re.split(r"[,，;；\n]", value) if isinstance(value, str) else list(value)
    tags: list[str] = []
    for item in items:
        tag = str(item).strip()
        if tag and tag not in tags:
            tags.append(tag)
    return tags


def _clean_tags(value: Any, errors: dict[str, str]) -> list[str]:
    tags = parse_tags(value)
    if len(tags) > MAX_TAGS or any(len(t) > MAX_TAG_LENGTH for t in tags):
        errors["tags"] = f"at most {MAX_TAGS} tags of {MAX_TAG_LENGTH} characters"
    return tags


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    """Validate every given field first; raise once, naming all bad fields, before anything is written."""
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    for field, value in values.items():
        if field == "phone":
            cleaned[field] = _clean_phone(value, errors)
        elif field == "email":
            cleaned[field] = _clean_email(value, errors)
        elif field == "vip_level":
            cleaned[field] = _clean_vip(value, errors)
        elif field == "tags":
            cleaned[field] = _clean_tags(value, errors)
        else:
            cleaned[field] = _clean_text(field, value, errors)
    if "nickname" in cleaned and not cleaned["nickname"] and "nickname" not in errors:
        errors["nickname"] = "required"
    if errors:
        raise InvalidInput(
            "Please correct the customer's details: {names}.", fields=errors, names=", ".join(sorted(errors))
        )
    return cleaned


# --- records ---------------------------------------------------------------------------------


def get_customer(session: Session, customer_id: int) -> Customer | None:
    return session.get(Customer, customer_id)


def require_customer(session: Session, customer_id: int) -> Customer:
    customer = get_customer(session, customer_id)
    if customer is None:
        raise NotFound("Customer {id} does not exist.", id=customer_id)
    return customer


def get_customer_by_external_id(session: Session, store_id: int, external_id: str) -> Customer | None:
    query = select(Customer).where(Customer.store_id == store_id, Customer.external_id == external_id)
    return session.exec(query).first()


def resolve_store(session: Session, store: Store | str, *, field: str = "store") -> Store:
    """A Store, or one named by its slug (an unknown slug is bad input naming `field`)."""
    if isinstance(store, Store):
        return store
    found = stores.get_store_by_slug(session, str(store).strip())
    if found is None:
        raise InvalidInput("Store {slug} does not exist.", fields={field: "unknown store"}, slug=store)
    return found


def create_customer(
    session: Session,
    *,
    store: Store | str,
    nickname: str,
    now: datetime,
    external_id: str | None = None,
    name: str = "",
    phone: str = "",
    email: str = "",
    province: str = "",
    city: str = "",
    district: str = "",
    street: str = "",
    tags: list[str] | str | None = None,
    vip_level: int = 0,
    notes: str = "",
    marketing_consent: bool = False,
) -> Customer:
    store = resolve_store(session, store)
    values = _clean(
        {
            "nickname": nickname,
            "name": name,
            "phone": phone,
            "email": email,
            "province": province,
            "city": city,
            "district": district,
            "street": street,
            "tags": tags,
            "vip_level": vip_level,
            "notes": notes,
            "external_id": external_id,
        }
    )
    external = values.pop("external_id") or None
    if external and get_customer_by_external_id(session, store.id, external):
        raise Conflict(
            "Store {store} already has a customer with external id {external_id}.",
            store=store.slug,
            external_id=external,
        )
    customer = Customer(
        store_id=store.id,
        external_id=external,
        marketing_consent=marketing_consent,
        consent_at=now if marketing_consent else None,
        created_at=now,
        updated_at=now,
        **values,
    )
    session.add(customer)
    session.flush()
    return customer


def _ensure_not_erased(customer: Customer) -> None:
    if customer.erased_at is not None:
        raise Conflict("Customer {id} was erased; the record can no longer be changed.", id=customer.id)


def update_customer(session: Session, customer: Customer, *, now: datetime, **changes: Any) -> Customer:
    """Change any of EDITABLE; fields not given stay as they are."""
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise InvalidInput(
            "These fields cannot be changed: {names}.",
            fields={name: "not editable" for name in unknown},
            names=", ".join(unknown),
        )
    _ensure_not_erased(customer)
    values = _clean({k: v for k, v in changes.items() if v is not None or k == "tags"})
    for field, value in values.items():
        setattr(customer, field, value)
    customer.updated_at = now
    session.add(customer)
    session.flush()
    return customer


def grant_consent(session: Session, customer: Customer, *, now: datetime) -> Customer:
    """The buyer agreed to marketing (revisits). Granting again keeps the original time."""
    _ensure_not_erased(customer)
    if not customer.marketing_consent:
        customer.marketing_consent = True
        customer.consent_at = now
        customer.opted_out_at = None
        customer.updated_at = now
        session.add(customer)
        session.flush()
    return customer


def opt_out(session: Session, customer: Customer, *, now: datetime) -> Customer:
    """The buyer asked for no more marketing. Opting out again keeps the original time."""
    if customer.opted_out_at is None or customer.marketing_consent:
        customer.marketing_consent = False
        customer.opted_out_at = now
        customer.updated_at = now
        session.add(customer)
        session.flush()
    return customer


# --- search ----------------------------------------------------------------------------------


# A viewer who sees phones masked finds a buyer by phone only with the whole number: a search on
# part of it would confirm the hidden digits one at a time.
WHOLE_PHONE_DIGITS = 11


@dataclass(frozen=True)
class CustomerFilters:
    q: str = ""
    store: str = ""
    vip_min: int | None = None
    tag: str = ""
    updated_since: datetime | None = None
    whole_phone_only: bool = False  # set for viewers who see phones masked (masking.sees_whole_pii)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def customers_query(session: Session, filters: CustomerFilters) -> Any:
    query = select(Customer)
    if filters.store:
        query = query.where(Customer.store_id == resolve_store(session, filters.store).id)
    q = filters.q.strip()
    if q:
        pattern = _like(q)
        phone = Customer.phone.like(pattern, escape="\\")
        if filters.whole_phone_only:
            # The number itself, or (stored with a country code) 11 digits or more of it.
            whole = len(q.replace(" ", "").replace("-", "")) >= WHOLE_PHONE_DIGITS
            phone = sa.or_(Customer.phone == q, phone) if whole else Customer.phone == q
        query = query.where(
            sa.or_(
                Customer.nickname.ilike(pattern, escape="\\"),
                Customer.name.ilike(pattern, escape="\\"),
                phone,
                Customer.external_id.like(pattern, escape="\\"),
            )
        )
    if filters.vip_min is not None:
        if not VIP_MIN <= filters.vip_min <= VIP_MAX:
            raise InvalidInput("vip_min must be between 0 and 9.", fields={"vip_min": "0–9"})
        query = query.where(Customer.vip_level >= filters.vip_min)
    if filters.tag.strip():
        # Tags are stored as JSON text on both engines; match the whole quoted element.
        query = query.where(
            sa.cast(Customer.tags, sa.Text).like(_like(json.dumps(filters.tag.strip())), escape="\\")
        )
    if filters.updated_since is not None:
        since = filters.updated_since
        query = query.where(Customer.updated_at >= (since if since.tzinfo else since.replace(tzinfo=UTC)))
    return query


def list_customers(
    session: Session, *, filters: CustomerFilters, cursor: str | None = None, limit: int = 50
) -> Rows[Customer]:
    """Newest first, cursor-paginated."""
    return paginate(session, customers_query(session, filters), Customer.id, cursor=cursor, limit=limit)


# --- lifetime figures ------------------------------------------------------------------------


def _lifetime_values() -> dict[str, Any]:
    """Correlated subqueries over orders for the customer row being updated (both engines)."""
    orders = Order.__table__
    customers = Customer.__table__
    own = orders.c.customer_id == customers.c.id
    live = orders.c.stage != Stage.cancelled.value

    def scalar(expr: Any, *conditions: Any) -> Any:
        return sa.select(expr).where(own, *conditions).scalar_subquery()

    return {
        "orders_count": scalar(sa.func.count(), live),
        "total_spent": scalar(
            sa.func.coalesce(sa.func.sum(orders.c.total), 0), live, orders.c.paid_at.is_not(None)
        ),
        "refunds_count": scalar(sa.func.count(), orders.c.refunded_amount > 0),
        "refunded_total": scalar(sa.func.coalesce(sa.func.sum(orders.c.refunded_amount), 0)),
        "last_order_at": scalar(sa.func.max(orders.c.placed_at)),
    }


def _expire_loaded(session: Session, customer_id: int | None = None) -> None:
    # The UPDATE ran in SQL: loaded Customer objects must re-read their figures.
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Customer) and (customer_id is None or obj.id == customer_id):
            session.expire(obj)


def recompute_lifetime(session: Session, customer_id: int, *, now: datetime) -> None:
    session.flush()
    customers = Customer.__table__
    statement = (
        sa.update(customers).where(customers.c.id == customer_id).values(**_lifetime_values(), updated_at=now)
    )
    session.execute(statement)
    _expire_loaded(session, customer_id)


def on_order_changed(session: Session, *, now: datetime, order: Order, **_: Any) -> None:
    """Subscriber of order.created and order.stage_changed: refresh that buyer's figures."""
    recompute_lifetime(session, order.customer_id, now=now)


def recompute_all_lifetime(session: Session, *, now: datetime) -> int:
    """Every customer's figures in one UPDATE (after bulk seeding or an import). Returns rows touched.

    updated_at is left alone: this repairs derived figures, it is not a change to the profile.
    """
    session.flush()
    result = session.execute(sa.update(Customer.__table__).values(**_lifetime_values()))
    _expire_loaded(session)
    return result.rowcount or 0
