import pytest

from app.aftersales import lifecycle
from app.aftersales.lifecycle import CaseKind, CaseState

S = CaseState
COMMON = {S.requested: {S.approved, S.rejected}, S.rejected: {S.closed}}
# Written out by hand, independently of the module's table.
EXPECTED: dict[CaseKind, dict[CaseState, set[CaseState]]] = {
    CaseKind.return_refund: COMMON
    | {
        S.approved: {S.awaiting_return},
        S.awaiting_return: {S.return_received},
        S.return_received: {S.refunded},
        S.refunded: {S.closed},
    },
    CaseKind.exchange: COMMON
    | {
        S.approved: {S.awaiting_return},
        S.awaiting_return: {S.return_received},
        S.return_received: {S.exchanged},
        S.exchanged: {S.closed},
    },
    CaseKind.refund_only: COMMON | {S.approved: {S.refunded}, S.refunded: {S.closed}},
    CaseKind.resend: COMMON | {S.approved: {S.resent}, S.resent: {S.closed}},
    CaseKind.price_adjustment: COMMON | {S.approved: {S.refunded}, S.refunded: {S.closed}},
}
TRIPLES = [(k, f, t) for k in CaseKind for f in CaseState for t in CaseState]


@pytest.mark.parametrize(("kind", "from_state", "to_state"), TRIPLES)
def test_every_kind_from_to_triple_matches_the_case_machine(kind, from_state, to_state):
    expected = to_state in EXPECTED[kind].get(from_state, set())
    assert lifecycle.is_allowed(kind, from_state, to_state) is expected
    assert (to_state in lifecycle.allowed_next(kind, from_state)) is expected


@pytest.mark.parametrize("kind", list(CaseKind))
def test_closed_is_final_for_every_kind(kind):
    assert lifecycle.allowed_next(kind, CaseState.closed) == ()


def test_only_goods_coming_back_wait_for_a_return():
    assert {CaseKind.return_refund, CaseKind.exchange} == lifecycle.NEEDS_RETURN
    assert [k for k in CaseKind if lifecycle.refund_after_decision(k)] == [
        CaseKind.refund_only,
        CaseKind.price_adjustment,
    ]


def test_every_state_kind_and_reason_has_a_label():
    assert set(lifecycle.STATE_LABELS) == set(CaseState)
    assert set(lifecycle.KIND_LABELS) == set(CaseKind)
    assert set(lifecycle.REASON_LABELS) == set(lifecycle.CaseReason)
