"""HTML views of the aftersales domain: the case queue, the case page, moves, refunds, opening."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from app.accounts.deps import CurrentAgent, verify_csrf
from app.aftersales import service
from app.aftersales.lifecycle import KIND_LABELS, REASON_LABELS, STATE_LABELS, CaseKind, CaseReason, CaseState
from app.audit.service import Actor
from app.customers import service as customers
from app.db import SessionDep, utc_now
from app.errors import is_htmx
from app.i18n import gettext
from app.orders import service as orders
from app.web import redirect, render

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


def _labels() -> dict[str, Any]:
    return {
        "kinds": list(CaseKind),
        "reasons": list(CaseReason),
        "states": list(CaseState),
        "kind_labels": KIND_LABELS,
        "reason_labels": REASON_LABELS,
        "state_labels": STATE_LABELS,
    }


@router.get("/cases")
def case_list(
    request: Request,
    session: SessionDep,
    agent: CurrentAgent,
    state: str | None = None,
    kind: str | None = None,
) -> Response:
    views = service.work_queue(session, now=utc_now(), state=state or None, kind=kind or None)
    return render(
        request,
        "aftersales/list.html",
        {"cases": views, "filters": {"state": state or "", "kind": kind or ""}, **_labels()},
        partial="aftersales/_rows.html",
    )


def _page_context(session: SessionDep, case_id: int, agent: Any) -> dict[str, Any]:
    case = service.require_case(session, case_id)
    order = orders.require_order(session, case.order_id)
    customer = customers.require_customer(session, case.customer_id)
    return {
        "case": service.case_view(session, case, now=utc_now()),
        "order": order,
        "customer": customers.customer_view(customer, agent),
        "history": service.history_for(session, case.id),
        "approvals": service.approvals_for(session, case.id),
        **_labels(),
    }


@router.get("/cases/{case_id}")
def case_page(request: Request, session: SessionDep, agent: CurrentAgent, case_id: int) -> Response:
    return render(request, "aftersales/page.html", _page_context(session, case_id, agent))


def _actions_response(request: Request, session: SessionDep, case_id: int, agent: Any) -> Response:
    if is_htmx(request):
        return render(request, "aftersales/_case_actions.html", _page_context(session, case_id, agent))
    return redirect(request, f"/cases/{case_id}")


@router.post("/cases/{case_id}/move")
def move_case(
    request: Request,
    session: SessionDep,
    agent: CurrentAgent,
    case_id: int,
    to: Annotated[str, Form()],
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    case = service.require_case(session, case_id)
    service.move(session, case, to=to, note=note, actor=Actor.agent(agent), now=utc_now())
    return _actions_response(request, session, case_id, agent)


@router.post("/cases/{case_id}/refund")
def refund_case(
    request: Request,
    session: SessionDep,
    agent: CurrentAgent,
    case_id: int,
    amount: Annotated[str, Form(max_length=20)],
) -> Response:
    case = service.require_case(session, case_id)
    service.refund(session, case, amount=amount, actor=Actor.agent(agent), now=utc_now())
    return _actions_response(request, session, case_id, agent)


@router.post("/orders/{order_id}/cases")
def open_case(
    request: Request,
    session: SessionDep,
    agent: CurrentAgent,
    order_id: int,
    kind: Annotated[str, Form()],
    reason: Annotated[str, Form()],
    description: Annotated[str, Form(max_length=2000)] = "",
    requested_amount: Annotated[str, Form(max_length=20)] = "0",
) -> Response:
    order = orders.require_order(session, order_id)
    case = service.open_case(
        session,
        order=order,
        kind=kind,
        reason=reason,
        description=description,
        requested_amount=requested_amount.strip() or "0",
        actor=Actor.agent(agent),
        now=utc_now(),
    )
    return redirect(request, f"/cases/{case.id}", flash=gettext("After-sales case opened."))
