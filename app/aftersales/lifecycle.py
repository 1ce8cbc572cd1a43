"""The after-sales case lifecycle as data: kinds, reasons, states. Pure; the service applies it."""

from __future__ import annotations

import enum


class CaseKind(enum.StrEnum):
    return_refund = "return_refund"  # 退货退款
    exchange = "exchange"  # 换货
    refund_only = "refund_only"  # 仅退款
    resend = "resend"  # 补发
    price_adjustment = "price_adjustment"  # 价格补差


class CaseReason(enum.StrEnum):
    quality = "quality"
    wrong_item = "wrong_item"
    size_fit = "size_fit"
    damaged_in_transit = "damaged_in_transit"
    not_as_described = "not_as_described"
    seven_day_no_reason = "seven_day_no_reason"  # 七天无理由
    other = "other"


class CaseState(enum.StrEnum):
    requested = "requested"
    approved = "approved"
    rejected = "rejected"
    awaiting_return = "awaiting_return"
    return_received = "return_received"
    refunded = "refunded"
    exchanged = "exchanged"
    resent = "resent"
    closed = "closed"
