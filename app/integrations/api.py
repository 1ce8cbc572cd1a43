"""JSON API of the integrations domain (/api/v1): stores and outbound subscriptions."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["integrations"])
