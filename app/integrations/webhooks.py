"""Inbound webhook endpoints: /webhooks/{platform}/{store_slug}."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
