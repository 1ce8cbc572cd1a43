"""The audit log (append-only) and supervisor approvals of money decisions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session, select

from app.audit.models import Approval, ApprovalKind, ApprovalStatus, AuditEntry
from app.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.events import emit
from app.pagination import Rows, paginate


@dataclass(frozen=True)
class Actor:
    """Who did something: an agent, an API key, a storefront (webhook) or the system (a job)."""

    type: str
    id: int | None = None

    @classmethod
    def agent(cls, agent: Any) -> Actor:
        return cls("agent", agent.id)

    @classmethod
    def api_key(cls, key: Any) -> Actor:
        return cls("api_key", key.id)


SYSTEM = Actor("system")
STOREFRONT = Actor("storefront")


def record(
    session: Session,
    *,
    action: str,
    actor: Actor,
    subject_type: str,
    subject_id: int | None,
    now: datetime,
    amount: Decimal | None = None,
    currency: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        action=action,
        actor_type=actor.type,
        actor_id=actor.id,
        subject_type=subject_type,
        subject_id=subject_id,
        amount=amount,
        currency=currency,
        detail=detail or {},
        created_at=now,
    )
    session.add(entry)
    session.flush()
    return entry


def entries_for(session: Session, subject_type: str, subject_id: int) -> list[AuditEntry]:
    query = select(AuditEntry).where(
        AuditEntry.subject_type == subject_type, AuditEntry.subject_id == subject_id
    )
    return list(session.exec(query.order_by(AuditEntry.id)))


def request_approval(
    session: Session,
    *,
    kind: ApprovalKind,
    subject_type: str,
    subject_id: int,
    amount: Decimal,
    limit_amount: Decimal,
    currency: str,
    reason: str,
    requested_by_id: int | None,
    now: datetime,
    actor: Actor | None = None,
) -> Approval:
    """A pending approval; `actor` names the requester when it is not an agent (an API key)."""
    kind = _enum(ApprovalKind, kind, "kind")
    approval = Approval(
        kind=kind,
        subject_type=subject_type,
        subject_id=subject_id,
        amount=amount,
        limit_amount=limit_amount,
        currency=currency,
        reason=reason[:500],
        requested_by_id=requested_by_id,
        created_at=now,
    )
    session.add(approval)
    session.flush()
    record(
        session,
        action=f"approval.requested.{kind.value}",
        actor=actor or Actor("agent", requested_by_id),
        subject_type=subject_type,
        subject_id=subject_id,
        amount=amount,
        currency=currency,
        detail={"approval_id": approval.id, "limit": str(limit_amount), "reason": reason[:500]},
        now=now,
    )
    return approval


def get_approval(session: Session, approval_id: int) -> Approval | None:
    return session.get(Approval, approval_id)


def require_approval(session: Session, approval_id: int) -> Approval:
    approval = get_approval(session, approval_id)
    if approval is None:
        raise NotFound("Approval {id} does not exist.", id=approval_id)
    return approval


def pending_approvals(session: Session) -> list[Approval]:
    query = select(Approval).where(Approval.status == ApprovalStatus.pending).order_by(Approval.created_at)
    return list(session.exec(query))


def _decider(decided_by: Any) -> tuple[Actor, int | None]:
    """An agent of supervisor/admin role, or an admin-scope API key; (its Actor, its agent id)."""
    scope = getattr(decided_by, "scope", None)
    if scope is not None and getattr(decided_by, "role", None) is None:
        if str(getattr(scope, "value", scope)) != "admin":
            raise Forbidden("Only a supervisor or an admin can decide an approval.")
        return Actor.api_key(decided_by), None
    if str(getattr(getattr(decided_by, "role", ""), "value", getattr(decided_by, "role", ""))) not in (
        "supervisor",
        "admin",
    ):
        raise Forbidden("Only a supervisor or an admin can decide an approval.")
    return Actor.agent(decided_by), decided_by.id


def decide(
    session: Session, approval: Approval, *, approve: bool, decided_by: Any, note: str = "", now: datetime
) -> Approval:
    """A supervisor (or an admin-scope API key) accepts or rejects, once; the domain that asked
    applies the outcome through the approval.decided event."""
    actor, agent_id = _decider(decided_by)
    if approval.status != ApprovalStatus.pending:
        raise Conflict("This approval was already {status}.", status=approval.status.value)
    if agent_id is not None and approval.requested_by_id == agent_id:
        raise Forbidden("You cannot approve your own request.")
    approval.status = ApprovalStatus.approved if approve else ApprovalStatus.rejected
    approval.decided_by_id = agent_id
    approval.decided_at = now
    approval.decision_note = note[:500]
    session.add(approval)
    session.flush()
    record(
        session,
        action=f"approval.{approval.status.value}.{approval.kind.value}",
        actor=actor,
        subject_type=approval.subject_type,
        subject_id=approval.subject_id,
        amount=approval.amount,
        currency=approval.currency,
        detail={"approval_id": approval.id, "note": note[:500]},
        now=now,
    )
    emit(session, "approval.decided", now=now, approval=approval)
    return approval


def list_approvals(
    session: Session,
    *,
    status: ApprovalStatus | str | None = None,
    kind: ApprovalKind | str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Rows[Approval]:
    query = select(Approval)
    if status:
        query = query.where(Approval.status == _enum(ApprovalStatus, status, "status"))
    if kind:
        query = query.where(Approval.kind == _enum(ApprovalKind, kind, "kind"))
    return paginate(session, query, Approval.id, cursor=cursor, limit=limit)


def list_entries(
    session: Session,
    *,
    action: str | None = None,
    subject_type: str | None = None,
    subject_id: int | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Rows[AuditEntry]:
    """The audit log, newest first; `action` matches a prefix (approval. finds every approval)."""
    query = select(AuditEntry)
    if action:
        query = query.where(AuditEntry.action.startswith(action.strip(), autoescape=True))
    if subject_type:
        query = query.where(AuditEntry.subject_type == subject_type.strip())
    if subject_id is not None:
        query = query.where(AuditEntry.subject_id == subject_id)
    return paginate(session, query, AuditEntry.id, cursor=cursor, limit=limit)


def _enum(enum_cls: Any, value: Any, field: str) -> Any:
    try:
        return enum_cls(value)
    except ValueError as exc:
        allowed = " | ".join(m.value for m in enum_cls)
        raise InvalidInput(
            "{value} is not one of: {allowed}.", fields={field: allowed}, value=value, allowed=allowed
        ) from exc
