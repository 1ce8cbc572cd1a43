"""JSON API of the presale domain (/api/v1): inquiries, bargaining rounds, lose and win."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from app.accounts.deps import ReadKey, WriteKey
from app.audit.schemas import ApprovalRead
from app.audit.service import Actor
from app.db import SessionDep, utc_now
from app.integrations.service import require_store
from app.pagination import DEFAULT_LIMIT, Page
from app.presale import rounds, service
from app.presale.models import InquiryStatus
from app.presale.schemas import (
    InquiryCreate,
    InquiryDetail,
    InquiryLose,
    InquiryRead,
    InquiryWin,
    RoundCreate,
    RoundCreated,
    inquiry_detail,
    inquiry_read,
    round_read,
)

router = APIRouter(prefix="/api/v1", tags=["presale"])


@router.get("/inquiries", response_model=Page[InquiryRead], summary="List inquiries, newest first")
def list_inquiries(
    session: SessionDep,
    key: ReadKey,
    store: Annotated[str | None, Query(description="Store slug")] = None,
    customer_id: int | None = None,
    status: InquiryStatus | None = None,
    agent_id: int | None = None,
    updated_since: datetime | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = DEFAULT_LIMIT,
) -> Page[InquiryRead]:
    store_id = require_store(session, store).id if store else None
    rows = service.list_inquiry_cards(
        session,
        store_id=store_id,
        customer_id=customer_id,
        status=status,
        agent_id=agent_id,
        updated_since=updated_since,
        cursor=cursor,
        limit=limit,
    )
    return Page[InquiryRead](items=[inquiry_read(c) for c in rows.items], next_cursor=rows.next_cursor)


@router.get("/inquiries/{inquiry_id}", response_model=InquiryDetail, summary="An inquiry with its rounds")
def read_inquiry(inquiry_id: int, session: SessionDep, key: ReadKey) -> InquiryDetail:
    inquiry = service.require_inquiry(session, inquiry_id)
    return inquiry_detail(service.inquiry_card(session, inquiry))


@router.post("/inquiries", response_model=InquiryDetail, status_code=201, summary="Open an inquiry")
def create_inquiry(body: InquiryCreate, session: SessionDep, key: WriteKey) -> InquiryDetail:
    now = utc_now()
    inquiry = service.open_inquiry_for_customer(
        session,
        customer_id=body.customer_id,
        agent_id=body.agent_id,
        product_ids=body.product_ids,
        question=body.question,
        external_id=body.external_id,
        opened_at=body.opened_at,
        now=now,
    )
    return inquiry_detail(service.inquiry_card(session, inquiry))


@router.post(
    "/inquiries/{inquiry_id}/rounds",
    response_model=RoundCreated,
    status_code=201,
    summary="Record a bargaining round",
    description="An agreed price below the product's floor creates a pending approval instead of standing.",
)
def create_round(inquiry_id: int, body: RoundCreate, session: SessionDep, key: WriteKey) -> RoundCreated:
    inquiry = service.require_inquiry(session, inquiry_id)
    outcome = rounds.record_round(
        session,
        inquiry,
        product_id=body.product_id,
        speaker=body.speaker,
        offered_price=body.offered_price,
        concessions=[c.model_dump() for c in body.concessions],
        note=body.note,
        is_agreed=body.is_agreed,
        actor=Actor.api_key(key),
        now=utc_now(),
    )
    approval = ApprovalRead.model_validate(outcome.approval) if outcome.approval else None
    return RoundCreated(
        round=round_read(outcome.round, getattr(outcome.approval, "id", None)), approval=approval
    )


@router.post("/inquiries/{inquiry_id}/lose", response_model=InquiryDetail, summary="Mark an inquiry lost")
def lose_inquiry(inquiry_id: int, body: InquiryLose, session: SessionDep, key: WriteKey) -> InquiryDetail:
    inquiry = service.require_inquiry(session, inquiry_id)
    service.mark_lost(
        session, inquiry, reason=body.reason, note=body.note, actor=Actor.api_key(key), now=utc_now()
    )
    return inquiry_detail(service.inquiry_card(session, inquiry))


@router.post(
    "/inquiries/{inquiry_id}/win", response_model=InquiryDetail, summary="Mark an inquiry won by an order"
)
def win_inquiry(inquiry_id: int, body: InquiryWin, session: SessionDep, key: WriteKey) -> InquiryDetail:
    inquiry = service.require_inquiry(session, inquiry_id)
    service.win_with_order(session, inquiry, order_id=body.order_id, actor=Actor.api_key(key), now=utc_now())
    return inquiry_detail(service.inquiry_card(session, inquiry))
