"""The inquiry lifecycle as data: open → bargaining → won | lost; won and lost are closed.

Pure: no database, no clock. `presale.service.move` is the one door that applies it.
"""

from __future__ import annotations

from app.presale.models import InquiryStatus

TRANSITIONS: dict[InquiryStatus, frozenset[InquiryStatus]] = {
    InquiryStatus.open: frozenset({InquiryStatus.bargaining, InquiryStatus.won, InquiryStatus.lost}),
    InquiryStatus.bargaining: frozenset({InquiryStatus.won, InquiryStatus.lost}),
    InquiryStatus.won: frozenset(),
    InquiryStatus.lost: frozenset(),
}
CLOSED = frozenset({InquiryStatus.won, InquiryStatus.lost})
ACTIVE = frozenset({InquiryStatus.open, InquiryStatus.bargaining})
ORDER = (InquiryStatus.open, InquiryStatus.bargaining, InquiryStatus.won, InquiryStatus.lost)


def allowed_next(status: InquiryStatus) -> list[InquiryStatus]:
    """The statuses `status` may move to, in lifecycle order."""
    return [s for s in ORDER if s in TRANSITIONS[InquiryStatus(status)]]


def can_move(from_status: InquiryStatus, to_status: InquiryStatus) -> bool:
    return InquiryStatus(to_status) in TRANSITIONS[InquiryStatus(from_status)]


def is_closed(status: InquiryStatus) -> bool:
    return InquiryStatus(status) in CLOSED
