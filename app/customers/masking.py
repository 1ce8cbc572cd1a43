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
