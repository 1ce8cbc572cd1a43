"""HTML views of the reviews domain: the review list (bad ones first on request)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from app.accounts.deps import CurrentAgent, verify_csrf
from app.db import SessionDep
from app.reviews import service
from app.reviews.models import Grade
from app.web import render

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


@router.get("/reviews")
def review_list(
    request: Request,
    session: SessionDep,
    agent: CurrentAgent,
    grade: str | None = None,
    store: str | None = None,
    bad_first: bool = False,
    cursor: str | None = None,
) -> Response:
    listing = service.review_list(
        session, grade=grade or None, store_slug=store or None, bad_first=bad_first, cursor=cursor
    )
    return render(
        request,
        "reviews/list.html",
        {
            "listing": listing,
            "grades": list(Grade),
            "grade_labels": service.GRADE_LABELS,
            "filters": {"grade": grade or "", "store": store or "", "bad_first": bad_first},
        },
        partial="reviews/_list.html",
    )
