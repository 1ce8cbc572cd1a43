"""JSON API of the aftersales domain (/api/v1/cases)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.accounts.deps import ReadKey, WriteKey
from app.aftersales import service
from app.aftersales.lifecycle import CaseKind, CaseState
from app.aftersales.schemas import CaseCreate, CasePage, CaseRead, CaseRefundIn, MoveIn
from app.aftersales.service import CaseView
from app.audit.service import Actor
from app.db import SessionDep, utc_now
from app.errors import InvalidInput
from app.integrations import service as stores
from app.orders import service as orders
from app.pagination import DEFAULT_LIMIT

router = APIRouter(prefix="/api/v1", tags=["aftersales"])


def _read(view: CaseView, history: list | None = None) -> CaseRead:
    return CaseRead.model_validate(
        {
            **view.row.model_dump(),
            "order_number": view.order_number,
            "allowed_next": list(view.allowed_next),
            "recommendation_text": view.recommendation_text,
            "overdue": view.overdue,
            "pending_approval": view.pending_approval,
            "history": history,
        }
    )


def _full(session: SessionDep, case_id: int) -> CaseRead:
    case = service.require_case(session, case_id)
    return _read(service.case_view(session, case, now=utc_now()), service.history_for(session, case.id))


@router.get("/cases", response_model=CasePage, summary="List after-sales cases (newest first)")
def list_cases(
    session: SessionDep,
    key: ReadKey,
    store: Annotated[str | None, Query(description="Store slug")] = None,
    state: CaseState | None = None,
    kind: CaseKind | None = None,
    customer_id: int | None = None,
    order_id: int | None = None,
    updated_since: datetime | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = DEFAULT_LIMIT,
) -> CasePage:
    store_id = stores.require_store(session, store).id if store else None
    rows = service.list_cases(
        session,
        cursor=cursor,
        limit=limit,
        store_id=store_id,
        state=state,
        kind=kind,
        customer_id=customer_id,
        order_id=order_id,
        updated_since=updated_since,
    )
    views = service.case_views(session, rows.items, now=utc_now())
    return CasePage(items=[_read(v) for v in views], next_cursor=rows.next_cursor)


@router.get("/cases/{case_id}", response_model=CaseRead, summary="One case with its history")
def get_case(case_id: int, session: SessionDep, key: ReadKey) -> CaseRead:
    return _full(session, case_id)


@router.post("/cases", response_model=CaseRead, status_code=201, summary="Open an after-sales case")
def open_case(body: CaseCreate, session: SessionDep, key: WriteKey) -> CaseRead:
    order = orders.get_order(session, body.order_id)
    if order is None:
        raise InvalidInput(
            "Order {id} does not exist.", fields={"order_id": "unknown order"}, id=body.order_id
        )
    case = service.open_case(
        session,
        order=order,
        kind=body.kind,
        reason=body.reason,
        description=body.description,
        requested_amount=body.requested_amount,
        actor=Actor.api_key(key),
        now=utc_now(),
    )
    return _full(session, case.id)


@router.post("/cases/{case_id}/move", response_model=CaseRead, summary="Move a case to its next state")
def move_case(case_id: int, body: MoveIn, session: SessionDep, key: WriteKey) -> CaseRead:
    case = service.require_case(session, case_id)
    service.move(session, case, to=body.to, note=body.note, actor=Actor.api_key(key), now=utc_now())
    return _full(session, case_id)


@router.post(
    "/cases/{case_id}/refund",
    response_model=CaseRead,
    summary="Refund the buyer and mark the case refunded",
    description=(
        "Records the refund on the order (a full refund moves the order to `refunded`). Above the "
        "store's agent refund limit a write-scope key asks a supervisor instead: the answer is 202 "
        "with `pending_approval` set and the case unchanged. An admin-scope key is not limited."
    ),
    responses={202: {"description": "Waiting for a supervisor's approval", "model": CaseRead}},
)
def refund_case(
    case_id: int, body: CaseRefundIn, session: SessionDep, key: WriteKey, response: Response
) -> CaseRead:
    case = service.require_case(session, case_id)
    service.refund(session, case, amount=body.amount, actor=Actor.api_key(key), now=utc_now())
    result = _full(session, case_id)
    if result.pending_approval is not None:
        response.status_code = 202
    return result
