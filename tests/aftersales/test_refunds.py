from datetime import timedelta
from decimal import Decimal

import pytest

from app.accounts.models import Role
from app.aftersales import service
from app.aftersales.lifecycle import CaseKind, CaseState
from app.audit import service as audit
from app.audit.models import Approval, ApprovalKind, ApprovalStatus
from app.audit.service import Actor
from app.errors import Conflict, InvalidInput
from app.orders.lifecycle import Stage
from tests.aftersales.helpers import make_case, walk
from tests.factories import T0, count, make_agent, make_store
from tests.orders.helpers import make_order

LATER = T0 + timedelta(days=1)


def _ready(db, *, price, kind=CaseKind.return_refund, store=None):
    """A case waiting for its refund on a delivered order of `price`."""
    agent = make_agent(db)
    order = make_order(db, store=store or make_store(db), stage=Stage.delivered, unit_price=Decimal(price))
    case = make_case(db, order=order, kind=kind, requested_amount=Decimal(price), actor=Actor.agent(agent))
    walk(
        db,
        case,
        CaseState.return_received if kind == CaseKind.return_refund else CaseState.approved,
        actor=Actor.agent(agent),
    )
    return agent, order, case


def _actions(db, subject_type, subject_id):
    return [e.action for e in audit.entries_for(db, subject_type, subject_id)]


def test_agent_refund_below_the_limit_works_and_a_full_refund_moves_the_order(db):
    agent, order, case = _ready(db, price="150.00")
    service.refund(db, case, amount=Decimal("150.00"), actor=Actor.agent(agent), now=T0)
    assert case.state == CaseState.refunded and case.refunded_amount == Decimal("150.00")
    assert order.refunded_amount == Decimal("150.00") and order.stage == Stage.refunded
    assert _actions(db, "order", order.id) == ["order.refund"]
    assert case.resolved_at == T0 and case.decided_in_buyer_favour is True


def test_a_partial_refund_leaves_the_order_stage(db):
    agent, order, case = _ready(db, price="150.00", kind=CaseKind.price_adjustment)
    service.refund(db, case, amount=Decimal("20.00"), actor=Actor.agent(agent), now=T0)
    assert case.state == CaseState.refunded and order.stage == Stage.delivered
    assert order.refunded_amount == Decimal("20.00")


def test_agent_refund_above_the_limit_waits_then_a_supervisor_approves(db):
    agent, order, case = _ready(db, price="399.00")
    service.refund(db, case, amount=Decimal("399.00"), actor=Actor.agent(agent), now=T0)
    assert case.state == CaseState.return_received and order.refunded_amount == 0
    approval = service.case_view(db, case, now=T0).pending_approval
    assert approval is not None and approval.kind == ApprovalKind.refund_over_limit
    assert approval.amount == Decimal("399.00") and approval.limit_amount == Decimal("200.00")
    assert approval.requested_by_id == agent.id
    with pytest.raises(Conflict):  # one request at a time
        service.refund(db, case, amount=Decimal("399.00"), actor=Actor.agent(agent), now=T0)

    supervisor = make_agent(db, role=Role.supervisor)
    audit.decide(db, approval, approve=True, decided_by=supervisor, note="质量问题，同意", now=LATER)
    assert case.state == CaseState.refunded and case.refunded_amount == Decimal("399.00")
    assert order.stage == Stage.refunded and order.refunded_amount == Decimal("399.00")
    assert _actions(db, "aftersales_case", case.id) == [
        "approval.requested.refund_over_limit",
        "approval.approved.refund_over_limit",
    ]
    refund_entry = audit.entries_for(db, "order", order.id)[0]
    assert refund_entry.action == "order.refund" and refund_entry.actor_id == supervisor.id
    assert service.history_for(db, case.id)[-1].actor_id == supervisor.id


def test_a_rejected_refund_leaves_the_case_and_order_and_tells_the_agent(db):
    agent, order, case = _ready(db, price="399.00")
    service.refund(db, case, amount=Decimal("399.00"), actor=Actor.agent(agent), now=T0)
    approval = service.case_view(db, case, now=T0).pending_approval
    audit.decide(
        db, approval, approve=False, decided_by=make_agent(db, role=Role.admin), note="先核实", now=LATER
    )
    assert case.state == CaseState.return_received and order.refunded_amount == 0
    assert order.stage == Stage.delivered and _actions(db, "order", order.id) == []
    assert service.case_view(db, case, now=T0).pending_approval is None
    assert "rejected: 先核实" in service.history_for(db, case.id)[-1].note
    assert [a.status for a in service.approvals_for(db, case.id)] == [ApprovalStatus.rejected]


@pytest.mark.parametrize("role", [Role.supervisor, Role.admin])
def test_supervisors_and_admins_refund_above_the_limit_directly(db, role):
    _, order, case = _ready(db, price="399.00")
    boss = make_agent(db, role=role)
    service.refund(db, case, amount=Decimal("399.00"), actor=Actor.agent(boss), now=T0)
    assert case.state == CaseState.refunded and order.stage == Stage.refunded
    assert count(db, Approval, subject_id=case.id) == 0


def test_the_limit_is_a_store_setting(db):
    store = make_store(db)
    store.agent_refund_limit = Decimal("500.00")
    db.add(store)
    agent, order, case = _ready(db, price="399.00", store=store)
    service.refund(db, case, amount=Decimal("399.00"), actor=Actor.agent(agent), now=T0)
    assert case.state == CaseState.refunded


def test_refund_before_the_return_arrives_names_the_allowed_states(db):
    agent = make_agent(db)
    case = make_case(db, kind=CaseKind.return_refund, actor=Actor.agent(agent))
    walk(db, case, CaseState.awaiting_return, actor=Actor.agent(agent))
    with pytest.raises(Conflict) as caught:
        service.refund(db, case, amount=Decimal("10.00"), actor=Actor.agent(agent), now=T0)
    assert "Allowed next: return_received" in caught.value.english()


@pytest.mark.parametrize("amount", ["0", "-5", "abc", "150.01", "1.001"])
def test_bad_refund_amounts_name_the_amount(db, amount):
    agent, order, case = _ready(db, price="150.00")
    with pytest.raises(InvalidInput) as caught:
        service.refund(db, case, amount=amount, actor=Actor.agent(agent), now=T0)
    assert "amount" in caught.value.fields and order.refunded_amount == 0
    assert case.state == CaseState.return_received


def test_exchange_and_resend_need_no_money(db):
    agent = make_agent(db)
    for kind, outcome in ((CaseKind.exchange, CaseState.exchanged), (CaseKind.resend, CaseState.resent)):
        case = make_case(db, kind=kind, actor=Actor.agent(agent))
        walk(db, case, outcome, actor=Actor.agent(agent))
        assert case.state == outcome and case.refunded_amount == 0


def test_other_approval_kinds_are_ignored(db):
    other = Approval(
        kind=ApprovalKind.price_below_floor,
        subject_type="bargain_round",
        subject_id=999_999,
        amount=Decimal("1.00"),
        limit_amount=Decimal("2.00"),
        status=ApprovalStatus.approved,
        created_at=T0,
    )
    service.on_approval_decided(db, now=T0, approval=other)  # nothing to look up, nothing raised
