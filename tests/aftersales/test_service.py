from datetime import timedelta
from decimal import Decimal

import pytest

import app.events
from app.aftersales import service
from app.aftersales.lifecycle import CaseKind, CaseReason, CaseState
from app.aftersales.models import AftersalesCase, CaseHistoryEntry
from app.audit.service import Actor
from app.errors import Conflict, InvalidInput
from app.orders.lifecycle import Stage
from tests.aftersales.helpers import make_case, walk
from tests.aftersales.test_lifecycle import EXPECTED
from tests.factories import T0, count, make_agent, make_store
from tests.orders.helpers import make_order

CAUGHT: list[dict] = []


def _catch(session, **payload):
    CAUGHT.append(payload)


@pytest.fixture
def agent(db):
    return make_agent(db)


@pytest.mark.parametrize("kind", list(CaseKind))
@pytest.mark.parametrize("from_state", list(CaseState))
def test_move_applies_the_table_for_every_kind_from_and_to(db, agent, kind, from_state):
    """Every (kind, from, to) triple through the one door: allowed moves land, others are 409."""
    case = make_case(db, kind=kind, actor=Actor.agent(agent))
    for to_state in CaseState:
        case.state = from_state
        case.refunded_amount = Decimal("1.00")  # a refunded case has money recorded against it
        db.add(case)
        db.flush()
        allowed = to_state in EXPECTED[kind].get(from_state, set())
        history_before = count(db, CaseHistoryEntry, case_id=case.id)
        if allowed:
            service.move(db, case, to=to_state, actor=Actor.agent(agent), now=T0 + timedelta(hours=1))
            assert case.state == to_state
            assert count(db, CaseHistoryEntry, case_id=case.id) == history_before + 1
        else:
            with pytest.raises(Conflict) as caught:
                service.move(db, case, to=to_state, actor=Actor.agent(agent), now=T0)
            assert "Allowed next:" in caught.value.english()
            assert case.state == from_state
            assert count(db, CaseHistoryEntry, case_id=case.id) == history_before


def test_invalid_move_names_the_allowed_states_for_that_kind(db, agent):
    case = make_case(db, kind=CaseKind.refund_only, actor=Actor.agent(agent))
    walk(db, case, CaseState.approved, actor=Actor.agent(agent))
    with pytest.raises(Conflict) as caught:
        service.move(db, case, to=CaseState.awaiting_return, actor=Actor.agent(agent), now=T0)
    assert caught.value.english().endswith("Allowed next: refunded.")


def test_a_case_becomes_refunded_only_through_a_refund(db, agent):
    case = make_case(db, kind=CaseKind.refund_only, actor=Actor.agent(agent))
    walk(db, case, CaseState.approved, actor=Actor.agent(agent))
    with pytest.raises(Conflict):
        service.move(db, case, to=CaseState.refunded, actor=Actor.agent(agent), now=T0)


def test_unknown_target_state_is_invalid_input(db, agent):
    case = make_case(db, actor=Actor.agent(agent))
    with pytest.raises(InvalidInput) as caught:
        service.move(db, case, to="teleported", actor=Actor.agent(agent), now=T0)
    assert "to" in caught.value.fields


def test_move_sets_timestamps_and_the_buyer_favour_and_emits_case_changed(db, agent, monkeypatch):
    monkeypatch.setitem(app.events.SUBSCRIBERS, "case.changed", ["tests.aftersales.test_service:_catch"])
    CAUGHT.clear()
    actor = Actor.agent(agent)
    case = make_case(db, kind=CaseKind.exchange, actor=actor)
    assert [(c["from_state"], c["to_state"]) for c in CAUGHT] == [(None, CaseState.requested)]
    walk(db, case, CaseState.closed, actor=actor)
    assert case.decided_at == T0 + timedelta(hours=1)
    assert case.return_received_at == T0 + timedelta(hours=3)
    assert case.resolved_at == T0 + timedelta(hours=4) and case.decided_in_buyer_favour is True
    assert case.closed_at == T0 + timedelta(hours=5)
    assert [c["to_state"] for c in CAUGHT][1:] == [
        CaseState.approved,
        CaseState.awaiting_return,
        CaseState.return_received,
        CaseState.exchanged,
        CaseState.closed,
    ]
    assert all(c["case"] is case for c in CAUGHT)
    history = service.history_for(db, case.id)
    assert [h.to_state for h in history][0] == CaseState.requested and history[-1].actor_id == agent.id


def test_rejection_is_not_in_the_buyers_favour(db, agent):
    case = make_case(db, actor=Actor.agent(agent))
    walk(db, case, CaseState.rejected, actor=Actor.agent(agent))
    assert case.decided_in_buyer_favour is False and case.decided_at is not None


@pytest.mark.parametrize("stage", [Stage.ordered, Stage.cancelled])
def test_a_case_on_an_unpaid_order_is_a_conflict_and_writes_nothing(db, agent, stage):
    order = make_order(db, stage=stage)
    with pytest.raises(Conflict) as caught:
        make_case(db, order=order, actor=Actor.agent(agent))
    assert "paid order" in caught.value.english()
    assert count(db, AftersalesCase, order_id=order.id) == 0 and count(db, CaseHistoryEntry) == 0


@pytest.mark.parametrize("stage", [Stage.paid, Stage.shipped, Stage.reviewed, Stage.refunded])
def test_a_case_opens_on_any_paid_order(db, agent, stage):
    case = make_case(db, order=make_order(db, stage=stage), actor=Actor.agent(agent))
    assert case.state == CaseState.requested and case.currency == "CNY"


def test_requested_amount_above_the_refundable_remainder_is_refused(db, agent):
    order = make_order(db, stage=Stage.delivered, unit_price=Decimal("199.00"))
    with pytest.raises(InvalidInput) as caught:
        make_case(db, order=order, requested_amount=Decimal("199.01"), actor=Actor.agent(agent))
    assert "requested_amount" in caught.value.fields
    assert count(db, AftersalesCase, order_id=order.id) == 0


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"kind": "swap"}, "kind"),
        ({"reason": "bored"}, "reason"),
        ({"requested_amount": "-1"}, "requested_amount"),
        ({"requested_amount": "abc"}, "requested_amount"),
        ({"description": "长" * 2001}, "description"),
    ],
)
def test_bad_case_input_names_the_field(db, agent, values, field):
    order = make_order(db, stage=Stage.delivered)
    args = {
        "order": order,
        "kind": "return_refund",
        "reason": "quality",
        "actor": Actor.agent(agent),
        "now": T0,
    } | values
    with pytest.raises(InvalidInput) as caught:
        service.open_case(db, **args)
    assert field in caught.value.fields


def test_deadlines_come_from_the_store_settings(db, agent):
    store = make_store(db)
    actor = Actor.agent(agent)
    default = make_case(db, store=store, kind=CaseKind.return_refund, actor=actor)
    assert default.respond_by_at == T0 + timedelta(hours=48)
    walk(db, default, CaseState.return_received, actor=actor)
    assert default.refund_by_at == default.return_received_at + timedelta(hours=72)

    store.aftersales_respond_hours, store.aftersales_refund_hours = 24, 12
    db.add(store)
    db.flush()
    quicker = make_case(db, store=store, kind=CaseKind.return_refund, actor=actor)
    assert quicker.respond_by_at == T0 + timedelta(hours=24)
    walk(db, quicker, CaseState.return_received, actor=actor)
    assert quicker.refund_by_at == quicker.return_received_at + timedelta(hours=12)

    refund_only = make_case(db, store=store, kind=CaseKind.refund_only, actor=actor)
    assert refund_only.refund_by_at is None
    walk(db, refund_only, CaseState.approved, actor=actor)
    assert refund_only.refund_by_at == refund_only.decided_at + timedelta(hours=12)


def test_overdue_cases_are_flagged_and_lead_the_queue(db, agent):
    actor = Actor.agent(agent)
    fresh = make_case(db, actor=actor, now=T0 + timedelta(hours=40))
    late = make_case(db, actor=actor, now=T0)
    views = service.work_queue(db, now=T0 + timedelta(hours=50))
    ids = [v.id for v in views]
    assert ids.index(late.id) < ids.index(fresh.id)
    flagged = {v.id: v.overdue for v in views}
    assert flagged[late.id] is True and flagged[fresh.id] is False


def test_recommendation_is_stored_and_uses_the_delivery_date(db, agent):
    order = make_order(db, stage=Stage.delivered)  # delivered at T0
    within = make_case(
        db,
        order=order,
        reason=CaseReason.seven_day_no_reason,
        actor=Actor.agent(agent),
        now=T0 + timedelta(days=3),
    )
    late = make_case(
        db,
        order=order,
        reason=CaseReason.seven_day_no_reason,
        actor=Actor.agent(agent),
        now=T0 + timedelta(days=9),
    )
    assert within.recommendation == "approve_if_intact" and late.recommendation == "past_seven_days"


def test_cases_for_customer_lists_the_buyers_cases_with_their_order(db, agent):
    case = make_case(db, actor=Actor.agent(agent))
    views = service.cases_for_customer(db, case.customer_id, now=T0)
    assert [v.id for v in views] == [case.id] and views[0].order_number.startswith("HT")
    assert views[0].allowed_next == (CaseState.approved, CaseState.rejected)
