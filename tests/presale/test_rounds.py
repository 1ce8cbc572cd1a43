from decimal import Decimal as D

import pytest

from app.accounts.models import Role
from app.audit import service as audit
from app.audit.models import Approval, ApprovalStatus, AuditEntry
from app.errors import Conflict, Forbidden, InvalidInput
from app.presale import service
from app.presale.models import BargainRound, InquiryStatus
from app.presale.rounds import record_round
from tests.factories import T0, count, make_agent
from tests.presale.helpers import make_inquiry, setup


def _round(db, inquiry, product, agent, price, **kw):
    values = {"speaker": "agent", "note": "", "is_agreed": False, "concessions": []} | kw
    return record_round(
        db, inquiry, product_id=product.id, offered_price=price, agent=agent, now=T0, **values
    )


def test_first_round_moves_open_to_bargaining_and_seq_increments(db):
    store, product, customer = setup(db)
    agent = make_agent(db)
    inquiry = make_inquiry(db, store, customer, [product])
    first = _round(db, inquiry, product, agent, "150", speaker="buyer", note="能便宜点吗？")
    second = _round(db, inquiry, product, agent, "179", concessions=[{"kind": "free_shipping", "value": "8"}])
    assert inquiry.status == InquiryStatus.bargaining and inquiry.agent_id == agent.id
    assert (first.round.seq, second.round.seq) == (1, 2)
    assert second.round.concessions_value == D("8.00") and second.approval is None
    assert [r.seq for r in service.rounds_of(db, inquiry.id)] == [1, 2]


@pytest.mark.parametrize("closed", ["won", "lost"])
def test_round_on_a_closed_inquiry_is_409_and_writes_nothing(db, closed):
    store, product, customer = setup(db)
    agent = make_agent(db)
    inquiry = make_inquiry(db, store, customer, [product])
    inquiry.status = InquiryStatus(closed)
    db.flush()
    with pytest.raises(Conflict) as exc:
        _round(db, inquiry, product, agent, "150")
    assert exc.value.status_code == 409 and closed in exc.value.english()
    assert count(db, BargainRound, inquiry_id=inquiry.id) == 0


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"speaker": "boss"}, "speaker"),
        ({"offered_price": "-5"}, "offered_price"),
        ({"offered_price": "abc"}, "offered_price"),
        ({"offered_price": "0"}, "offered_price"),
        ({"offered_price": 12.5}, "offered_price"),
        ({"product_id": 999999}, "product_id"),
        ({"concessions": [{"kind": "gift", "value": "-3"}]}, "concessions.0.value"),
        ({"note": "x" * 501}, "note"),
    ],
)
def test_bad_round_input_names_the_field_and_writes_nothing(db, kw, field):
    store, product, customer = setup(db)
    agent = make_agent(db)
    inquiry = make_inquiry(db, store, customer, [product])
    values = {"product_id": product.id, "offered_price": "150", "speaker": "agent"} | kw
    with pytest.raises(InvalidInput) as exc:
        record_round(db, inquiry, agent=agent, now=T0, **values)
    assert field in exc.value.fields
    assert count(db, BargainRound, inquiry_id=inquiry.id) == 0 and inquiry.status == InquiryStatus.open


def test_agent_agreeing_below_floor_waits_for_a_supervisor_who_approves(db):
    store, product, customer = setup(db)  # floor 159
    agent, boss = make_agent(db), make_agent(db, role=Role.supervisor)
    inquiry = make_inquiry(db, store, customer, [product], agent=agent)
    # 165 − 10 (gift) = 155 effective: below the floor
    outcome = _round(
        db, inquiry, product, agent, "165", is_agreed=True, concessions=[{"kind": "gift", "value": "10"}]
    )
    approval = outcome.approval
    assert approval is not None and approval.status == ApprovalStatus.pending
    assert (approval.amount, approval.limit_amount) == (D("155.00"), D("159.00"))
    assert (approval.subject_type, approval.subject_id) == ("bargain_round", outcome.round.id)
    assert outcome.round.is_agreed is False
    card = service.inquiry_card(db, inquiry)
    assert card.pending_approval.id == approval.id and card.products[0].agreed_price is None

    with pytest.raises(Forbidden):
        audit.decide(db, approval, approve=True, decided_by=agent, now=T0)
    audit.decide(db, approval, approve=True, decided_by=boss, note="老客户", now=T0)
    assert outcome.round.is_agreed is True and approval.decided_by_id == boss.id
    assert service.inquiry_card(db, inquiry).products[0].agreed_price == D("165.00")
    with pytest.raises(Conflict):
        audit.decide(db, approval, approve=False, decided_by=boss, now=T0)
    actions = [e.action for e in audit.entries_for(db, "bargain_round", outcome.round.id)]
    assert actions == ["approval.requested.price_below_floor", "approval.approved.price_below_floor"]


def test_rejected_floor_approval_leaves_the_round_not_agreed_and_inquiry_bargaining(db):
    store, product, customer = setup(db)
    agent, boss = make_agent(db), make_agent(db, role=Role.admin)
    inquiry = make_inquiry(db, store, customer, [product], agent=agent)
    outcome = _round(db, inquiry, product, agent, "150", is_agreed=True)
    audit.decide(db, outcome.approval, approve=False, decided_by=boss, now=T0)
    assert outcome.approval.status == ApprovalStatus.rejected
    assert outcome.round.is_agreed is False and inquiry.status == InquiryStatus.bargaining
    assert count(db, BargainRound, inquiry_id=inquiry.id) == 1
    assert count(db, AuditEntry, action="approval.rejected.price_below_floor") == 1


def test_supervisor_cannot_approve_own_request(db):
    store, product, customer = setup(db)
    boss = make_agent(db, role=Role.supervisor)
    inquiry = make_inquiry(db, store, customer, [product])
    approval = audit.request_approval(
        db,
        kind="price_below_floor",
        subject_type="bargain_round",
        subject_id=1,
        amount=D("1"),
        limit_amount=D("2"),
        currency="CNY",
        reason="",
        requested_by_id=boss.id,
        now=T0,
    )
    with pytest.raises(Forbidden):
        audit.decide(db, approval, approve=True, decided_by=boss, now=T0)
    assert approval.status == ApprovalStatus.pending and inquiry.id


@pytest.mark.parametrize("role", [Role.supervisor, Role.admin])
def test_supervisor_agreeing_below_floor_stands_and_is_audited_as_override(db, role):
    store, product, customer = setup(db)
    boss = make_agent(db, role=role)
    inquiry = make_inquiry(db, store, customer, [product])
    outcome = _round(db, inquiry, product, boss, "150", is_agreed=True)
    assert outcome.approval is None and outcome.round.is_agreed is True
    assert count(db, Approval) == 0 or count(db, Approval, subject_id=outcome.round.id) == 0
    entries = audit.entries_for(db, "bargain_round", outcome.round.id)
    assert [e.action for e in entries] == ["presale.floor_override"]
    assert entries[0].amount == D("150.00") and entries[0].actor_id == boss.id


def test_agreement_at_or_above_floor_needs_no_approval(db):
    store, product, customer = setup(db)
    agent = make_agent(db)
    inquiry = make_inquiry(db, store, customer, [product])
    outcome = _round(db, inquiry, product, agent, "159", is_agreed=True)
    assert outcome.approval is None and outcome.round.is_agreed is True


def test_decision_of_another_kind_is_ignored_by_presale(db):
    store, product, customer = setup(db)
    agent = make_agent(db)
    inquiry = make_inquiry(db, store, customer, [product])
    outcome = _round(db, inquiry, product, agent, "150", is_agreed=False)
    approval = audit.request_approval(
        db,
        kind="refund_over_limit",
        subject_type="aftersales_case",
        subject_id=outcome.round.id,
        amount=D("300"),
        limit_amount=D("200"),
        currency="CNY",
        reason="",
        requested_by_id=agent.id,
        now=T0,
    )
    service.on_approval_decided(db, now=T0, approval=approval)
    approval.status = ApprovalStatus.approved
    service.on_approval_decided(db, now=T0, approval=approval)
    assert outcome.round.is_agreed is False
