"""The recommendation shown with each after-sales request: the house stance, never forced.

When an exchange is debatable, exchange; when a refund is debatable, refund; when responsibility
is unclear, the shop takes it. Pure: the service stores the code on the case.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.aftersales.lifecycle import CaseKind, CaseReason
from app.i18n import N_

SEVEN_DAYS = 7

# code -> the explanation an agent reads beside the request (English msgid).
EXPLANATIONS: dict[str, str] = {
    "approve_shop_pays_shipping": N_("The shop is at fault: approve, and the shop pays any return shipping."),
    "shop_takes_responsibility": N_(
        "Responsibility is unclear, so the shop takes it: approve, the shop pays any return "
        "shipping, and claims from the carrier or supplier separately."
    ),
    "approve_if_intact": N_(
        "Seven-day no-reason return, within 7 days of delivery: approve if the goods are intact "
        "(完好, tags on, resaleable); the buyer pays return shipping unless freight insurance covers it."
    ),
    "past_seven_days": N_(
        "More than 7 days after delivery, the no-reason return has lapsed. Do not refuse flatly: "
        "offer an exchange or a small goodwill refund."
    ),
    "approve_exchange": N_("A size or fit exchange: approve it — when an exchange is debatable, exchange."),
    "offer_exchange_or_refund": N_(
        "Offer the right size first; if the buyer prefers the money back, refund — when a refund is "
        "debatable, refund."
    ),
}


@dataclass(frozen=True)
class Recommendation:
    code: str
    explanation: str


def explain(code: str) -> str:
    """The explanation msgid for a stored code ('' for an unknown or empty code)."""
    return EXPLANATIONS.get(code, "")


def recommend(
    kind: CaseKind | str, reason: CaseReason | str, *, days_since_delivery: float | None = None
) -> Recommendation:
    """What the desk suggests for a request of `kind` for `reason`.

    `days_since_delivery` is None when the goods have not been delivered (a seven-day return
    cannot have lapsed yet).
    """
    kind, reason = CaseKind(kind), CaseReason(reason)
    if reason in (CaseReason.quality, CaseReason.wrong_item):
        code = "approve_shop_pays_shipping"
    elif reason in (CaseReason.damaged_in_transit, CaseReason.not_as_described, CaseReason.other):
        code = "shop_takes_responsibility"
    elif reason == CaseReason.seven_day_no_reason:
        within = days_since_delivery is None or days_since_delivery <= SEVEN_DAYS
        code = "approve_if_intact" if within else "past_seven_days"
    elif kind == CaseKind.exchange:  # size / fit
        code = "approve_exchange"
    else:
        code = "offer_exchange_or_refund"
    return Recommendation(code=code, explanation=EXPLANATIONS[code])
