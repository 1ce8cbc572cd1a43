"""JSON API of follow-ups (/api/v1/followups)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.accounts.deps import ReadKey
from app.db import SessionDep
from app.followups import service
from app.followups.models import FollowupKind, FollowupStatus
from app.followups.schemas import FollowupRead
from app.pagination import DEFAULT_LIMIT, Page

router = APIRouter(prefix="/api/v1", tags=["followups"])


@router.get(
    "/followups",
    response_model=Page[FollowupRead],
    summary="List follow-ups, newest first",
    description="An order's (or customer's) scheduled and handled follow-ups with their outcome.",
)
def list_followups(
    session: SessionDep,
    key: ReadKey,
    order_id: int | None = None,
    customer_id: int | None = None,
    status: FollowupStatus | None = None,
    kind: FollowupKind | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = DEFAULT_LIMIT,
) -> Page[FollowupRead]:
    rows = service.list_followups(
        session,
        cursor=cursor,
        limit=limit,
        order_id=order_id,
        customer_id=customer_id,
        status=status,
        kind=kind,
    )
    return Page[FollowupRead](
        items=[FollowupRead.model_validate(f) for f in rows.items], next_cursor=rows.next_cursor
    )
