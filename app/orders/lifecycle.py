"""The order lifecycle as data: stages, their order, and the moves allowed between them.

Pure: no database, no clock. `orders.service.advance` is the one door that applies it.
"""

from __future__ import annotations

import enum


class Stage(enum.StrEnum):
    ordered = "ordered"
    paid = "paid"
    shipped = "shipped"
    delivered = "delivered"
    confirmed = "confirmed"
    review_requested = "review_requested"
    reviewed = "reviewed"
    cancelled = "cancelled"
    refunded = "refunded"


class ActorType(enum.StrEnum):
    agent = "agent"
    storefront = "storefront"
    system = "system"
