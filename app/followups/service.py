"""Reading follow-ups: the API list (by order, customer, status, kind) and the customer's timeline."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from app.errors import InvalidInput
from app.followups.models import Followup, FollowupKind, FollowupStatus
from app.pagination import Rows, paginate

TIMELINE_LIMIT = 100


def _enum(enum_cls: Any, value: Any, name: str) -> Any:
    if value is None or value == "":
        return None
    try:
        return enum_cls(value)
    except ValueError as exc:
        raise InvalidInput(
            "{value} is not a valid {name}.",
            fields={name: ", ".join(m.value for m in enum_cls)},
            value=value,
            name=name,
        ) from exc


def list_followups(
    session: Session,
    *,
    cursor: str | None,
    limit: int,
    order_id: int | None = None,
    customer_id: int | None = None,
    status: FollowupStatus | str | None = None,
    kind: FollowupKind | str | None = None,
) -> Rows[Followup]:
    """Follow-ups, newest first, filtered."""
    status = _enum(FollowupStatus, status, "status")
    kind = _enum(FollowupKind, kind, "kind")
    query = select(Followup)
    if order_id is not None:
        query = query.where(Followup.order_id == order_id)
    if customer_id is not None:
        query = query.where(Followup.customer_id == customer_id)
    if status is not None:
        query = query.where(Followup.status == status)
    if kind is not None:
        query = query.where(Followup.kind == kind)
    return paginate(session, query, Followup.id, cursor=cursor, limit=limit)


def followups_for_customer(
    session: Session, customer_id: int, *, limit: int = TIMELINE_LIMIT
) -> list[Followup]:
    """The customer's follow-ups for the timeline: what is coming, then what happened, newest first."""
    query = (
        select(Followup)
        .where(Followup.customer_id == customer_id)
        .order_by(Followup.due_at.desc(), Followup.id.desc())
        .limit(limit)
    )
    return list(session.exec(query))


# --- settings pages ----------------------------------------------------------------------------


def rules_page(session: Session, *, now: Any) -> dict[str, Any]:
    """Everything /settings/followups shows: the rules and each store's quiet hours and cap."""
    from app.followups.rules import list_rules, settings_for
    from app.integrations.service import get_all_stores

    stores = get_all_stores(session)
    return {
        "rules": list_rules(session, now=now),
        "stores": [(store, settings_for(session, store)) for store in stores],
    }


def plan_page(session: Session, plan_id: int, *, now: Any) -> dict[str, Any]:
    """A revisit plan with its reach (before it runs) and its results (after)."""
    from app.followups import revisits

    plan = revisits.require_plan(session, plan_id)
    return {
        "plan": plan,
        "reach": revisits.reach(session, plan, now=now),
        "results": revisits.results(session, plan),
    }
