"""HTML views of the audit domain: the supervisors' approvals queue and the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from app.accounts import service as accounts
from app.accounts.deps import SupervisorAgent, verify_csrf
from app.audit import service
from app.audit.models import ApprovalKind, ApprovalStatus
from app.db import SessionDep, utc_now
from app.i18n import gettext
from app.web import form_int, redirect, render

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


@router.get("/approvals")
def approvals_page(
    request: Request,
    session: SessionDep,
    agent: SupervisorAgent,
    status: str = "pending",
    cursor: str | None = None,
) -> Response:
    chosen = status if status in ApprovalStatus.__members__ else ""
    rows = service.list_approvals(session, status=chosen or None, cursor=cursor, limit=50)
    context = {
        "approvals": rows.items,
        "next_cursor": rows.next_cursor,
        "status": chosen,
        "statuses": list(ApprovalStatus),
        "kinds": list(ApprovalKind),
        "agents": {a.id: a for a in accounts.get_all_agents(session)},
    }
    return render(request, "audit/approvals.html", context)


def _decide(
    request: Request, session: SessionDep, agent: SupervisorAgent, approval_id: int, approve: bool, note: str
):
    approval = service.require_approval(session, approval_id)
    service.decide(session, approval, approve=approve, decided_by=agent, note=note, now=utc_now())
    flash = gettext("Approved.") if approve else gettext("Rejected.")
    return redirect(request, "/approvals", flash=flash)


@router.post("/approvals/{approval_id}/approve")
def approve(
    request: Request,
    session: SessionDep,
    agent: SupervisorAgent,
    approval_id: int,
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    return _decide(request, session, agent, approval_id, True, note)


@router.post("/approvals/{approval_id}/reject")
def reject(
    request: Request,
    session: SessionDep,
    agent: SupervisorAgent,
    approval_id: int,
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    return _decide(request, session, agent, approval_id, False, note)


@router.get("/settings/audit")
def audit_page(
    request: Request,
    session: SessionDep,
    agent: SupervisorAgent,
    action: str = "",
    subject_type: str = "",
    subject_id: str = "",
    cursor: str | None = None,
) -> Response:
    sid = form_int(subject_id)
    rows = service.list_entries(
        session,
        action=action[:64] or None,
        subject_type=subject_type[:32] or None,
        subject_id=sid,
        cursor=cursor,
        limit=100,
    )
    context = {
        "entries": rows.items,
        "next_cursor": rows.next_cursor,
        "filters": {"action": action[:64], "subject_type": subject_type[:32], "subject_id": subject_id[:12]},
        "agents": {a.id: a for a in accounts.get_all_agents(session)},
    }
    return render(request, "audit/log.html", context)
