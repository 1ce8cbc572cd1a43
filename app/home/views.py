"""The workbench (/) and the settings hub (/settings); the domains fill in what they show."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from app.accounts.deps import CurrentAgent, verify_csrf
from app.web import render

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


@router.get("/")
def workbench(request: Request, agent: CurrentAgent) -> Response:
    return render(request, "home/workbench.html")


@router.get("/settings")
def settings_hub(request: Request, agent: CurrentAgent) -> Response:
    return render(request, "home/settings.html")
