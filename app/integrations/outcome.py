"""What processing one inbox delivery produced."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Outcome:
    note: str = ""
    # Set when the delivery created or updated an order: deliveries waiting for it are woken.
    order_external_id: str | None = None
    result: dict[str, Any] | None = None
    ignored: bool = False
