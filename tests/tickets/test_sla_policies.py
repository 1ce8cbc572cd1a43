"""SLA policies: which one a ticket follows (most specific wins), what a policy may hold, and who
may change them."""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from app.accounts.models import Role
from app.errors import Forbidden, InvalidInput
from app.tickets import sla, sla_policies
from app.tickets.business_time import BusinessClock, CalendarClock
from app.tickets.sla_models import SlaPolicy
from tests.factories import T0, count, make_agent, make_customer, make_store, make_team
from tests.tickets.helpers import make_ticket
from tests.tickets.sla_helpers import make_policy


def test_the_most_specific_policy_wins(db):
    team, other = make_team(db), make_team(db)
    p = {
        "store": make_policy(db, first_response_minutes=1),
        "priority": make_policy(db, priority="high", first_response_minutes=2),
        "kind": make_policy(db, kind="payment_reminder", first_response_minutes=3),
        "kind+priority": make_policy(db, kind="payment_reminder", priority="high", first_response_minutes=4),
        "team": make_policy(db, team_id=team.id, first_response_minutes=5),
        "team+priority": make_policy(db, team_id=team.id, priority="high", first_response_minutes=6),
        "team+kind": make_policy(db, team_id=team.id, kind="payment_reminder", first_response_minutes=7),
        "all": make_policy(
            db, team_id=team.id, kind="payment_reminder", priority="high", first_response_minutes=8
        ),
    }

    def chosen(team_id, kind, priority):
        return sla_policies.policy_for(db, team_id=team_id, kind=kind, priority=priority).id

    assert chosen(team.id, "payment_reminder", "high") == p["all"].id
    assert chosen(team.id, "payment_reminder", "low") == p["team+kind"].id
    assert chosen(team.id, "shipping", "high") == p["team+priority"].id
    assert chosen(team.id, "shipping", "low") == p["team"].id
    assert chosen(other.id, "payment_reminder", "high") == p["kind+priority"].id
    assert chosen(None, "payment_reminder", "low") == p["kind"].id
    assert chosen(None, "shipping", "high") == p["priority"].id
    assert chosen(other.id, "shipping", "normal") == p["store"].id
    # The loaded set (the job's) chooses the same.
    policies = sla_policies.PolicySet.load(db)
    assert policies.choose(team_id=team.id, kind="shipping", priority="high").id == p["team+priority"].id


def test_without_a_policy_the_calendar_defaults_apply(db):
    ticket = make_ticket(db, priority="high")
    targets = sla.targets_for(db, ticket)
    assert isinstance(targets.clock, CalendarClock) and targets.policy_id is None
    assert (targets.first_response, targets.resolution) == (timedelta(hours=1), timedelta(hours=4))
    assert not targets.pause_when_pending and not targets.pause_when_snoozed


def test_a_policy_counts_in_the_stores_time_zone(db):
    make_policy(db, first_response_minutes=30, day_start="10:00", day_end="19:00")
    tokyo = make_store(db, timezone="Asia/Tokyo")
    ticket = make_ticket(db, customer=make_customer(db, store=tokyo))
    clock = sla.targets_for(db, ticket).clock
    assert isinstance(clock, BusinessClock)
    assert clock.hours.tz == "Asia/Tokyo" and clock.hours.start == time(10) and clock.hours.end == time(19)


def test_an_empty_target_means_no_such_deadline(db):
    make_policy(db, first_response_minutes=30)  # no next response, no resolution target
    ticket = make_ticket(db)
    assert ticket.first_response_due_at is not None
    assert ticket.resolution_due_at is None and ticket.due_at == ticket.first_response_due_at


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"first_response_minutes": "-5"}, "first_response_minutes"),
        ({"next_response_minutes": "0"}, "next_response_minutes"),
        ({"resolution_minutes": "43201"}, "resolution_minutes"),
        ({"resolution_minutes": "两小时"}, "resolution_minutes"),
        ({"day_start": "18:00", "day_end": "09:00"}, "day_end"),
        ({"day_start": "09:00", "day_end": "09:30"}, "day_end"),
        ({"day_start": "25:00"}, "day_start"),
        ({"team_id": "999999"}, "team_id"),
        ({"team_id": "x1"}, "team_id"),
        ({"kind": "haggling"}, "kind"),
        ({"priority": "critical"}, "priority"),
        ({"clock": "lunar"}, "clock"),
        ({"risk_percent": "95"}, "risk_percent"),
        ({"risk_percent": "-1"}, "risk_percent"),
        ({"name": "名" * 65}, "name"),
    ],
)
def test_bad_policy_input_names_the_field_and_writes_nothing(db, values, field):
    admin = make_agent(db, role=Role.admin)
    before = count(db, SlaPolicy)
    with pytest.raises(InvalidInput) as err:
        sla_policies.create_policy(db, actor=admin, values={"first_response_minutes": "30"} | values, now=T0)
    assert field in err.value.fields
    assert count(db, SlaPolicy) == before


def test_one_policy_per_team_kind_and_priority(db):
    make_policy(db, kind="shipping", first_response_minutes=30)
    with pytest.raises(InvalidInput) as err:
        make_policy(db, kind="shipping", first_response_minutes=60)
    assert "kind" in err.value.fields
    assert count(db, SlaPolicy) == 1


def test_who_may_change_policies(db):
    team, other = make_team(db), make_team(db)
    supervisor = make_agent(db, role=Role.supervisor, team=team.name)
    agent = make_agent(db, team=team.name)
    values = {"first_response_minutes": "30"}
    with pytest.raises(Forbidden):
        sla_policies.create_policy(db, actor=agent, values=values, now=T0)
    with pytest.raises(Forbidden):
        sla_policies.create_policy(db, actor=supervisor, values=values | {"team_id": str(other.id)}, now=T0)
    own = sla_policies.create_policy(db, actor=supervisor, values=values | {"team_id": str(team.id)}, now=T0)
    store_wide = sla_policies.create_policy(db, actor=supervisor, values=values, now=T0)
    assert own.team_id == team.id and store_wide.team_id is None
    theirs = make_policy(db, team_id=other.id, first_response_minutes=10)
    with pytest.raises(Forbidden):
        sla_policies.update_policy(db, theirs, actor=supervisor, values=values, now=T0)
    with pytest.raises(Forbidden):  # nor move their own to another team
        sla_policies.update_policy(
            db, own, actor=supervisor, values=values | {"team_id": str(other.id)}, now=T0
        )
    assert own.team_id == team.id
    sla_policies.delete_policy(db, own, actor=supervisor)
    assert count(db, SlaPolicy) == 2


def test_the_demo_seeds_a_few_policies(db):
    from app.tickets.demo import DEMO_POLICIES, _policies

    team = make_team(db, name="售后")
    _policies(db, {"售后": team}, T0)
    rows = sla_policies.list_policies(db, team_id=team.id)
    assert len(rows) == len(DEMO_POLICIES) == 3
    chosen = sla_policies.policy_for(db, team_id=team.id, kind="aftersales", priority="normal")
    assert chosen.team_id == team.id and chosen.clock == "business"
    assert sla_policies.policy_for(db, team_id=None, kind="inquiry", priority="urgent").clock == "calendar"
