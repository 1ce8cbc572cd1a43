"""JSON API of the audit domain (/api/v1): approvals (decided with an admin key) and the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.accounts.deps import AdminKey, ReadKey
from app.audit import service
from app.audit.models import ApprovalKind, ApprovalStatus
from app.audit.schemas import ApprovalDecision, ApprovalRead, AuditEntryRead
from app.db import SessionDep, utc_now
from app.pagination import DEFAULT_LIMIT, Page

router = APIRouter(prefix="/api/v1", tags=["audit"])


@router.get("/approvals", response_model=Page[ApprovalRead], summary="List approvals, newest first")
def list_approvals(
    session: SessionDep,
    key: ReadKey,
    status: ApprovalStatus | None = None,
    kind: ApprovalKind | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = DEFAULT_LIMIT,
) -> Page[ApprovalRead]:
    rows = service.list_approvals(session, status=status, kind=kind, cursor=cursor, limit=limit)
    return Page[ApprovalRead](
        items=[ApprovalRead.model_validate(a) for a in rows.items], next_cursor=rows.next_cursor
    )


def _decide(
    session: SessionDep, key: AdminKey, approval_id: int, body: ApprovalDecision | None, approve: bool
):
    approval = service.require_approval(session, approval_id)
    note = body.note if body is not None else ""
    decided = service.decide(session, approval, approve=approve, decided_by=key, note=note, now=utc_now())
    return ApprovalRead.model_validate(decided)


@router.post("/approvals/{approval_id}/approve", response_model=ApprovalRead, summary="Approve (admin scope)")
def approve(
    approval_id: int, session: SessionDep, key: AdminKey, body: ApprovalDecision | None = None
) -> ApprovalRead:
    return _decide(session, key, approval_id, body, True)


@router.post("/approvals/{approval_id}/reject", response_model=ApprovalRead, summary="Reject (admin scope)")
def reject(
    approval_id: int, session: SessionDep, key: AdminKey, body: ApprovalDecision | None = None
) -> ApprovalRead:
    return _decide(session, key, approval_id, body, False)


@router.get("/audit-log", response_model=Page[AuditEntryRead], summary="The audit log, newest first (admin)")
def audit_log(
    session: SessionDep,
    key: AdminKey,
    action: Annotated[str | None, Query(max_length=64, description="Prefix, e.g. approval.")] = None,
    subject_type: Annotated[str | None, Query(max_length=32)] = None,
    subject_id: int | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = DEFAULT_LIMIT,
) -> Page[AuditEntryRead]:
    rows = service.list_entries(
        session, action=action, subject_type=subject_type, subject_id=subject_id, cursor=cursor, limit=limit
    )
    return Page[AuditEntryRead](
        items=[AuditEntryRead.model_validate(e) for e in rows.items], next_cursor=rows.next_cursor
    )
