"""HTML views of the integrations domain: stores, the webhook inbox, outbound subscriptions."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from app.accounts.deps import verify_csrf

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
