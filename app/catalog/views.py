"""HTML views of the catalog domain."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from app.accounts.deps import verify_csrf

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
