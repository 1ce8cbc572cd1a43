"""Who sees a buyer's phone and address whole: supervisors and admins (and admin-scope API keys).

Agents see 138****5678 and the address to city level, in pages, JSON and exports alike.
"""

from __future__ import annotations

from typing import Any

UNMASKED_ROLES = frozenset({"supervisor", "admin"})
UNMASKED_SCOPES = frozenset({"admin"})


def sees_whole_pii(viewer: Any) -> bool:
    """viewer: an Agent (has .role) or an ApiKey (has .scope)."""
    role = getattr(viewer, "role", None)
    if role is not None:
        return str(getattr(role, "value", role)) in UNMASKED_ROLES
    scope = getattr(viewer, "scope", None)
    return scope is not None and str(getattr(scope, "value", scope)) in UNMASKED_SCOPES


def mask_phone(phone: str) -> str:
    digits = phone.strip()
    if not digits:
        return ""
    if len(digits) >= 11:
        return f"{digits[:3]}****{digits[-4:]}"
    if len(digits) > 4:
        return f"{'*' * (len(digits) - 4)}{digits[-4:]}"
    return "*" * len(digits)


def mask_email(email: str) -> str:
    name, at, domain = email.partition("@")
    if not at:
        return mask_phone(email)
    return f"{name[:1]}***@{domain}"


def mask_street(street: str) -> str:
    return "****" if street else ""


def customer_view(customer: Any, viewer: Any) -> Any:
    """The read model of `customer` for `viewer` (an Agent or an ApiKey): masked unless sees_whole_pii."""
    from app.customers.schemas import CustomerRead  # late import: schemas is heavier than this module

    whole = sees_whole_pii(viewer)
    district = customer.district if whole else ""
    street = customer.street if whole else mask_street(customer.street)
    parts = [customer.province, customer.city] + ([customer.district, customer.street] if whole else [])
    return CustomerRead(
        id=customer.id,
        store_id=customer.store_id,
        external_id=customer.external_id,
        nickname=customer.nickname,
        name=customer.name,
        phone=customer.phone if whole else mask_phone(customer.phone),
        email=customer.email if whole else mask_email(customer.email),
        province=customer.province,
        city=customer.city,
        district=district,
        street=street,
        address="".join(p for p in parts if p),
        tags=list(customer.tags or []),
        vip_level=customer.vip_level,
        notes=customer.notes,
        marketing_consent=customer.marketing_consent,
        consent_at=customer.consent_at,
        opted_out_at=customer.opted_out_at,
        orders_count=customer.orders_count,
        total_spent=customer.total_spent,
        refunds_count=customer.refunds_count,
        refunded_total=customer.refunded_total,
        last_order_at=customer.last_order_at,
        erased_at=customer.erased_at,
        masked=not whole,
        created_at=customer.created_at,
        updated_at=customer.updated_at,
    )
