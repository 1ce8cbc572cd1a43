"""The workbench (/) and the settings hub (/settings); the domains fill in what they show."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from app.accounts.deps import CurrentAgent, verify_csrf
from app.db import SessionDep, utc_now
from app.tickets import workbench as desk
from app.web import render

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


@router.get("/")
def workbench(
    request: Request,
    session: SessionDep,
    agent: CurrentAgent,
    queue: str = "",
    cursor: str | None = None,
) -> Response:
    now = utc_now()
    listing = desk.queue_list(session, agent=agent, now=now, selected=queue[:32] or None)
    rows = desk.rows_or_empty(session, agent=agent, listing=listing, now=now, cursor=cursor)
    return render(request, "home/workbench.html", {"listing": listing, "queue_rows": rows})


@router.get("/settings")
def settings_hub(request: Request, agent: CurrentAgent) -> Response:
    return render(request, "home/settings.html")
