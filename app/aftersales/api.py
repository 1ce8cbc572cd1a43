"""JSON API of the aftersales domain (/api/v1)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["aftersales"])
