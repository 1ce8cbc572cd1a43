"""The order stage machine, over every (from, to) pair."""

import itertools

import pytest

from app.audit.service import STOREFRONT, Actor
from app.errors import Conflict
from app.orders import service
from app.orders.lifecycle import ALLOWED, SEQUENCE, TERMINAL, Stage, catch_up_path, manual_next
from app.orders.models import OrderTimelineEntry
from tests.factories import T0, count, make_agent
from tests.orders.helpers import make_order

PAIRS = list(itertools.product(Stage, Stage))


@pytest.mark.parametrize(("start", "to"), PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_an_agent_moves_exactly_along_the_allowed_steps(db, start, to):
    agent = make_agent(db)
    order = make_order(db, stage=start)
    rows_before = len(service.timeline_for(db, order.id))
    if to in manual_next(start):
        service.advance(db, order, to=to, actor=Actor.agent(agent), now=T0)
        assert order.stage == to
        last = service.timeline_for(db, order.id)[-1]
        assert (last.from_stage, last.to_stage, last.actor_type, last.actor_id) == (
            start,
            to,
            "agent",
            agent.id,
        )
    else:
        with pytest.raises(Conflict) as exc:
            service.advance(db, order, to=to, actor=Actor.agent(agent), now=T0)
        assert order.stage == start
        assert len(service.timeline_for(db, order.id)) == rows_before
        if to != Stage.refunded:
            allowed = ", ".join(s.value for s in manual_next(start)) or "none (final stage)"
            assert f"Allowed next: {allowed}" in exc.value.english()


@pytest.mark.parametrize(("start", "to"), PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_a_storefront_event_never_moves_a_stage_back(db, start, to):
    order = make_order(db, stage=start)
    allowed = to in ALLOWED[start] and to != Stage.refunded
    behind = start in SEQUENCE and to in SEQUENCE and SEQUENCE.index(to) <= SEQUENCE.index(start)
    ahead = catch_up_path(start, to) is not None
    if to == Stage.refunded and start != Stage.refunded:
        with pytest.raises(Conflict, match="whole total has been refunded"):
            service.advance(db, order, to=to, actor=STOREFRONT, now=T0)
        assert order.stage == start
    elif allowed or behind or ahead:
        service.advance(db, order, to=to, actor=STOREFRONT, now=T0)
        assert order.stage == (start if behind and not allowed else to)
    else:
        with pytest.raises(Conflict):
            service.advance(db, order, to=to, actor=STOREFRONT, now=T0)
        assert order.stage == start


def test_refunded_comes_only_from_recording_the_money(db, now):
    from decimal import Decimal

    order = make_order(db, stage=Stage.delivered)
    assert Stage.refunded not in service.order_card(db, order).allowed_next
    service.record_refund(db, order, amount=Decimal("50.00"), actor=STOREFRONT, reason="partial", now=now)
    assert order.stage == Stage.delivered
    rest = order.total - Decimal("50.00")
    service.record_refund(db, order, amount=rest, actor=STOREFRONT, reason="rest", now=now)
    assert order.stage == Stage.refunded and order.refunded_at == now


def test_terminal_stages_allow_nothing():
    assert all(ALLOWED[s] == () for s in TERMINAL)


def test_late_paid_event_fills_its_time_without_moving_the_stage_back(db, now):
    order = make_order(db)
    service.advance(db, order, to=Stage.shipped, actor=STOREFRONT, now=now)  # fulfilment before payment
    assert order.stage == Stage.shipped and order.paid_at is None
    paid_at = now.replace(hour=1)
    service.advance(db, order, to=Stage.paid, actor=STOREFRONT, at=paid_at, now=now)
    assert order.stage == Stage.shipped and order.paid_at == paid_at
    # The same late event again changes nothing and writes nothing.
    rows = len(service.timeline_for(db, order.id))
    service.advance(db, order, to=Stage.paid, actor=STOREFRONT, at=now, now=now)
    assert order.paid_at == paid_at and len(service.timeline_for(db, order.id)) == rows


def test_skipped_stages_are_walked_through_with_a_timeline_row_each(db, now):
    order = make_order(db)
    service.advance(db, order, to=Stage.delivered, actor=STOREFRONT, now=now)
    steps = [(e.from_stage, e.to_stage) for e in service.timeline_for(db, order.id)]
    assert steps == [
        (None, Stage.ordered),
        (Stage.ordered, Stage.paid),
        (Stage.paid, Stage.shipped),
        (Stage.shipped, Stage.delivered),
    ]
    assert order.delivered_at == now and order.paid_at is None


@pytest.mark.parametrize(
    "events",
    list(itertools.permutations([Stage.ordered, Stage.paid, Stage.shipped, Stage.delivered])),
    ids=lambda p: ">".join(s.value for s in p),
)
def test_any_order_of_storefront_events_ends_in_the_same_state(db, now, events):
    from datetime import timedelta

    order = make_order(db)
    at = {
        Stage.ordered: now,
        Stage.paid: now + timedelta(hours=1),
        Stage.shipped: now + timedelta(hours=5),
        Stage.delivered: now + timedelta(days=2),
    }
    for stage in events:
        service.advance(db, order, to=stage, actor=STOREFRONT, at=at[stage], now=now)
    assert order.stage == Stage.delivered
    assert (order.paid_at, order.shipped_at, order.delivered_at) == (
        at[Stage.paid],
        at[Stage.shipped],
        at[Stage.delivered],
    )


def test_an_unknown_stage_is_invalid_input(db):
    from app.errors import InvalidInput

    order = make_order(db)
    with pytest.raises(InvalidInput) as exc:
        service.advance(db, order, to="teleported", actor=STOREFRONT, now=T0)
    assert "stage" in exc.value.fields
    assert count(db, OrderTimelineEntry, order_id=order.id) == 1
