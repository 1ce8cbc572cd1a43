"""Revisit plans around holidays (dates from chinese-calendar), consent, opt-out, cap, reach, results."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from app.errors import InvalidInput
from app.followups import revisits
from app.followups.models import FollowupKind, FollowupStatus, Outcome
from app.orders.lifecycle import Stage
from app.tickets import service as tickets
from tests.factories import make_customer, make_product, make_store
from tests.followups.helpers import followups, run_at
from tests.orders.helpers import make_order

SH = ZoneInfo("Asia/Shanghai")
YEAR = max(d.year for d in chinese_calendar.holidays)


def _holiday(holiday) -> datetime:
    """10:00 Shanghai time on the holiday's first day off, as the library has it."""
    day = min(d for d, name in chinese_calendar.holidays.items() if d.year == YEAR and name == holiday.value)
    return datetime.combine(day, time(10), SH).astimezone(UTC)


SPRING = _holiday(chinese_calendar.Holiday.spring_festival)
MID_AUTUMN = _holiday(chinese_calendar.Holiday.mid_autumn_festival)


def _plan(db, now, **overrides):
    data = {
        "name": "节日问候",
        "schedule": "named",
        "named_dates": ["spring_festival"],
        "category": "revisit_holiday",
        "action": "auto",
        "segment": {},
    } | overrides
    return revisits.create_plan(db, data=data, now=now)


def test_spring_festival_greeting_goes_out_on_the_librarys_date(db):
    store = make_store(db)
    customer = make_customer(db, store=store, marketing_consent=True)
    now = SPRING - timedelta(days=5)
    plan = _plan(db, now, store_id=store.id)
    assert revisits.materialise(db, plan, now=now) == 1
    (greeting,) = followups(db, plan_id=plan.id)
    assert greeting.customer_id == customer.id and greeting.due_at == SPRING
    run_at(db, SPRING - timedelta(minutes=1))
    db.refresh(greeting)
    assert greeting.status == FollowupStatus.pending
    run_at(db, SPRING)
    db.refresh(greeting)
    assert (greeting.status, greeting.outcome) == (FollowupStatus.done, Outcome.queued)
    assert "春节" in greeting.message


def test_mid_autumn_plan_for_consenting_vips_reports_its_reach(db):
    store = make_store(db)
    vip = make_customer(db, store=store, vip_level=3, marketing_consent=True)
    make_customer(db, store=store, vip_level=1, marketing_consent=True)  # not in the segment
    no_consent = make_customer(db, store=store, vip_level=3)
    opted_out = make_customer(db, store=store, vip_level=4, marketing_consent=True, opted_out_at=MID_AUTUMN)
    now = MID_AUTUMN - timedelta(days=3)
    plan = _plan(db, now, store_id=store.id, named_dates=["mid_autumn"], segment={"min_vip_level": 2})
    reach = revisits.reach(db, plan, now=now)
    assert (reach.matched, reach.eligible) == (3, 1)
    assert reach.skipped == {"no marketing consent": 1, "opted out": 1}
    reasons = {c.customer_id: c.reason for c in reach.sample}
    assert reasons == {vip.id: None, no_consent.id: "no marketing consent", opted_out.id: "opted out"}
    revisits.materialise(db, plan, now=now)
    assert [f.customer_id for f in followups(db, plan_id=plan.id)] == [vip.id]


def test_materialising_twice_schedules_once(db):
    store = make_store(db)
    make_customer(db, store=store, marketing_consent=True)
    now = SPRING - timedelta(days=2)
    plan = _plan(db, now, store_id=store.id)
    revisits.materialise(db, plan, now=now)
    assert revisits.materialise(db, plan, now=now + timedelta(hours=2)) == 0
    assert len(followups(db, plan_id=plan.id)) == 1


def test_consent_withdrawn_before_the_date_skips_the_revisit(db):
    store = make_store(db)
    customer = make_customer(db, store=store, marketing_consent=True)
    now = SPRING - timedelta(days=2)
    plan = _plan(db, now, store_id=store.id)
    revisits.materialise(db, plan, now=now)
    customer.opted_out_at, customer.marketing_consent = now, False
    db.add(customer)
    run_at(db, SPRING)
    (revisit,) = followups(db, plan_id=plan.id)
    assert revisit.status == FollowupStatus.skipped
    assert revisit.reason in ("no marketing consent", "opted out")


def test_frequency_cap_holds_across_plans(db):
    store = make_store(db)
    make_customer(db, store=store, marketing_consent=True)
    now = SPRING - timedelta(days=2)
    first = _plan(db, now, store_id=store.id, name="春节问候")
    second = _plan(
        db, now, store_id=store.id, name="春节上新", category="revisit_new_arrivals", action="task"
    )
    revisits.materialise(db, first, now=now)
    revisits.materialise(db, second, now=now)
    run_at(db, SPRING)
    done = followups(db, kind=FollowupKind.revisit, status=FollowupStatus.done)
    skipped = followups(db, kind=FollowupKind.revisit, status=FollowupStatus.skipped)
    assert len(done) == 1 and [s.reason for s in skipped] == ["cap reached"]
    # A week later the reach of a third plan shows the cap too.
    later = _plan(db, SPRING, store_id=store.id, named_dates=["double11"], name="x")
    reach = revisits.reach(db, later, now=SPRING + timedelta(days=1))
    assert reach.eligible == 1  # 双11 is months away: outside the cap


def test_relative_plan_thirty_days_after_confirmation(db):
    store = make_store(db)
    customer = make_customer(db, store=store, marketing_consent=True)
    product = make_product(db, store=store, category="绿茶", care_tips="密封冷藏，避光防潮。")
    order = make_order(db, store=store, customer=customer, product=product, stage=Stage.confirmed)
    confirmed = order.confirmed_at
    plan = revisits.create_plan(
        db,
        data={
            "name": "保养提醒",
            "schedule": "relative",
            "first_after_days": 30,
            "repeat_days": 90,
            "category": "revisit_care",
            "action": "task",
            "segment": {"category": "绿茶"},
        },
        now=confirmed,
    )
    assert revisits.materialise(db, plan, now=confirmed + timedelta(days=20)) == 0  # beyond the week ahead
    revisits.materialise(db, plan, now=confirmed + timedelta(days=27))
    (care,) = followups(db, plan_id=plan.id)
    expected = datetime.combine(confirmed.astimezone(SH).date() + timedelta(days=30), time(10), SH)
    assert care.due_at == expected.astimezone(UTC)
    run_at(db, care.due_at)
    db.refresh(care)
    assert care.outcome == Outcome.task_created
    assert "密封冷藏" in care.message


def test_customer_date_plan_skips_customers_without_a_date(db):
    store = make_store(db)
    known = make_customer(db, store=store, marketing_consent=True)
    unknown = make_customer(db, store=store, marketing_consent=True)
    now = datetime(YEAR, 3, 1, 2, tzinfo=UTC)
    revisits.set_customer_date(db, customer_id=known.id, month=3, day=5, now=now)
    plan = _plan(db, now, store_id=store.id, named_dates=["customer_date"], name="生日祝福")
    reach = revisits.reach(db, plan, now=now)
    assert {c.customer_id: c.reason for c in reach.sample} == {known.id: None, unknown.id: "no date known"}
    revisits.materialise(db, plan, now=now)
    assert [f.customer_id for f in followups(db, plan_id=plan.id)] == [known.id]


def test_results_count_replies_and_repurchases_within_30_days(db):
    store = make_store(db)
    customer = make_customer(db, store=store, marketing_consent=True)
    now = SPRING - timedelta(days=2)
    plan = _plan(db, now, store_id=store.id, action="task")
    revisits.materialise(db, plan, now=now)
    run_at(db, SPRING)
    (revisit,) = followups(db, plan_id=plan.id)
    ticket = tickets.require_ticket(db, revisit.ticket_id)
    tickets.add_message(
        db, ticket, direction="inbound", body="谢谢，新年快乐！", now=SPRING + timedelta(hours=3)
    )
    make_order(
        db,
        store=store,
        customer=customer,
        placed_at=SPRING + timedelta(days=10),
        now=SPRING + timedelta(days=10),
    )
    results = revisits.results(db, plan)
    assert (results.contacted, results.replied, results.repurchased) == (1, 1, 1)


def test_year_without_holiday_data_is_reported_not_guessed(db):
    store = make_store(db)
    make_customer(db, store=store, marketing_consent=True)
    now = datetime(YEAR + 1, 12, 30, tzinfo=UTC)
    plan = _plan(db, now, store_id=store.id)
    reach = revisits.reach(db, plan, now=now)
    assert any(str(YEAR + 2) in note for note in reach.notes)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"schedule": "relative", "first_after_days": 30, "repeat_days": 7}, "repeat_days"),
        ({"segment": {"favourite_colour": "red"}}, "segment.favourite_colour"),
        ({"segment": {"min_vip_level": "gold"}}, "segment.min_vip_level"),
        ({"segment": {"min_total_spent": "-5"}}, "segment.min_total_spent"),
        ({"segment": {"category": "不存在的类目"}}, "segment.category"),
        ({"category": "buy_now_pay_later"}, "category"),
        ({"named_dates": ["christmas"]}, "named_dates"),
        ({"named_dates": []}, "named_dates"),
        ({"schedule": "sometimes"}, "schedule"),
        ({"action": "shout"}, "action"),
        ({"name": ""}, "name"),
        ({"send_hour": 25}, "send_hour"),
    ],
)
def test_bad_plans_are_rejected_with_the_field(db, overrides, field):
    with pytest.raises(InvalidInput) as err:
        _plan(db, SPRING, **overrides)
    assert field in err.value.fields
    assert revisits.list_plans(db) == []


def test_cadence_message_names_the_cap(db):
    with pytest.raises(InvalidInput) as err:
        _plan(db, SPRING, schedule="relative", first_after_days=30, repeat_days=10)
    assert "shorter than the frequency cap (14 days)" in err.value.fields["repeat_days"]


def test_the_planning_job_evaluates_outside_the_write_lock_and_plans_once_an_hour(monkeypatch):
    """The dispatch job reads who is due first (seconds at 250,000 buyers: on SQLite a writing
    transaction would hold the only write lock meanwhile), then stores the revisits."""
    import sqlite3

    from sqlmodel import Session

    from app.followups import jobs
    from tests.conftest import scratch_engine

    with scratch_engine("revisits") as engine:
        now = SPRING - timedelta(days=5)
        with Session(engine, expire_on_commit=False) as session:
            store = make_store(session)
            make_customer(session, store=store, marketing_consent=True)
            plan = _plan(session, now, store_id=store.id)
            session.commit()
        evaluated, real = [], revisits._evaluate

        def evaluate(session, *args, **kwargs):
            if engine.dialect.name == "sqlite":  # another connection could begin writing now
                other = sqlite3.connect(engine.url.database, timeout=0, isolation_level=None)
                other.execute("BEGIN IMMEDIATE")
                other.execute("ROLLBACK")
                other.close()
            evaluated.append(1)
            return real(session, *args, **kwargs)

        monkeypatch.setattr(revisits, "_evaluate", evaluate)
        assert jobs.plan_revisits(now, engine=engine) == 1
        assert jobs.plan_revisits(now + timedelta(minutes=30), engine=engine) == 0
        assert len(evaluated) == 1, "planned within the hour: not evaluated again"
        with Session(engine) as session:
            (greeting,) = followups(session, plan_id=plan.id)
            assert greeting.due_at == SPRING
