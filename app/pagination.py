"""Cursor pagination for API lists: newest first by id, an opaque cursor, a bounded page size."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlmodel import Session, select

from app.errors import InvalidInput

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


@dataclass
class Rows(Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"before": last_id}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))["before"]
        if not isinstance(value, int) or value < 0 or value > 2**63 - 1:
            raise ValueError
        return value
    except (ValueError, KeyError, TypeError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(
            "The cursor is not one this API gave out.", fields={"cursor": "invalid cursor"}
        ) from exc


def paginate(session: Session, query: Any, id_column: Any, *, cursor: str | None, limit: int) -> Rows[Any]:
    """Run `query` (a select of one model) newest first, from after `cursor`, `limit` rows at most."""
    if limit < 1 or limit > MAX_LIMIT:
        raise InvalidInput(
            "limit must be between 1 and {max}.", fields={"limit": f"1–{MAX_LIMIT}"}, max=MAX_LIMIT
        )
    if cursor:
        query = query.where(id_column < decode_cursor(cursor))
    rows = list(session.exec(query.order_by(id_column.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return Rows(items=rows, next_cursor=encode_cursor(rows[-1].id) if more and rows else None)


__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "Page", "Rows", "paginate", "select"]
