"""The daily rollup gives the same figures as the live tables, and stays correct as data changes."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.metrics import dashboard, kpis, rollup_changes, rollups
from app.metrics.base import Scope
from app.metrics.rollup_models import MetricRollup, MetricRollupState
from tests.metrics import helpers as h
from tests.metrics.helpers import NOVEMBER, desk, local

AFTER = local(2, 9, month=12)  # the refresh runs on 2 December: November is complete


def usable(db, now=None):
    return rollups.usable_days(db, NOVEMBER, now=now)[0]


def both(db, **scope):
    with rollups.enabled(True):
        rolled = kpis.compute(db, period=NOVEMBER, **scope)
    with rollups.enabled(False):
        live = kpis.compute(db, period=NOVEMBER, **scope)
    return rolled, live


def assert_same(db, **scope):
    rolled, live = both(db, **scope)
    assert rolled == live, {k: (rolled[k], live[k]) for k in rolled if rolled[k] != live[k]}
    return rolled


def test_the_rollup_gives_the_live_figures_for_every_scope(db):
    made = desk(db)
    # From the first day with data (3 November) to today (2 December); days before it are empty
    # and cheap to read live.
    assert rollups.refresh(db, now=AFTER) == 30
    assert usable(db) == set(NOVEMBER.dates()[2:])
    values = assert_same(db)
    assert values["first_response_avg"].value is not None and values["inquiry_conversion"].value is not None
    assert values["bad_reviews"].value == 1
    assert_same(db, agent_id=made["x"].id)
    assert_same(db, team_id=made["team"].id)
    assert_same(db, store_id=made["one"].id)
    with rollups.enabled(True):
        rolled = dashboard.build(db, period=NOVEMBER, scope=Scope())
    with rollups.enabled(False):
        live = dashboard.build(db, period=NOVEMBER, scope=Scope())
    assert rolled.heat == live.heat and rolled.funnel == live.funnel and rolled.trends == live.trends
    assert [(a.agent_id, a.values) for a in rolled.agents] == [(a.agent_id, a.values) for a in live.agents]
    assert rolled.templates == live.templates


def test_a_second_refresh_without_changes_recomputes_nothing(db):
    desk(db)
    rollups.refresh(db, now=AFTER)
    assert rollups.refresh(db, now=AFTER + timedelta(minutes=1)) == 0


def test_a_late_reply_to_an_old_question_is_seen_before_and_after_the_next_refresh(db):
    made = desk(db)
    rollups.refresh(db, now=AFTER)
    before = assert_same(db)["avg_response"]
    # The unanswered 22:30 question of the first ticket gets its reply the next morning.
    t = next(iter(db.exec(kpis_ticket_of(made["buyers"][0]))))
    h.message(db, t, "outbound", local(4, 8, 30), author=made["x"])
    assert local(3).date() in rollup_changes.changed_days(db, since=rollup_state(db).seen, tz="Asia/Shanghai")
    after = assert_same(db)["avg_response"]
    assert after.denominator == before.denominator + 1
    # A day recomputed less than PAST_EVERY ago waits (pending, read live by exact reads) …
    assert rollups.refresh(db, now=AFTER + timedelta(minutes=1)) == 0
    assert date(2026, 11, 3) not in usable(db) and assert_same(db)["avg_response"] == after
    # … and is recomputed by the first refresh after that.
    assert rollups.refresh(db, now=AFTER + rollups.PAST_EVERY) >= 1
    assert date(2026, 11, 3) in usable(db)
    assert assert_same(db)["avg_response"] == after


def test_a_refund_on_an_old_order_and_a_recovering_review_are_kept_correct(db):
    made = desk(db)
    rollups.refresh(db, now=AFTER)
    buyer = made["buyers"][3]  # the bad review's buyer
    from sqlmodel import select

    from app.orders.models import Order

    order = db.exec(select(Order).where(Order.customer_id == buyer.id)).one()
    order.refunded_amount = Decimal("10.00")
    order.updated_at = AFTER + timedelta(minutes=2)
    h.review(db, buyer, posted_at=local(25), grade="good")
    db.flush()
    values = assert_same(db)
    assert values["refund_rate"].numerator == 1
    assert values["bad_review_recovery"].value == Decimal("100.0")
    later = AFTER + rollups.PAST_EVERY + timedelta(minutes=3)
    assert rollups.refresh(db, now=later) >= 2  # the payment's and the review's days
    assert date(2026, 11, 13) in usable(db)
    assert assert_same(db)["refund_rate"].numerator == 1


def test_today_is_rolled_up_and_shown_as_of_its_refresh_on_a_dashboard(db):
    made = desk(db)
    now = local(20, 12)
    rollups.refresh(db, now=now)
    days = {r.day for r in db.exec(select_rollup_days())}
    assert max(days) == date(2026, 11, 20)
    assert date(2026, 11, 20) in usable(db)
    # New work today: exact reads compute today live; a dashboard shows today as of the refresh.
    t = h.ticket(db, made["buyers"][0], at=local(20, 12, 0, 30), assignee=made["x"])
    h.message(db, t, "inbound", local(20, 12, 0, 30))
    assert date(2026, 11, 20) not in usable(db)
    days, as_of = rollups.usable_days(db, NOVEMBER, now=local(20, 12, 1))
    assert date(2026, 11, 20) in days and as_of == now
    figures = kpis.collect(db, period=NOVEMBER, scope=Scope(), keys=["tickets_in"], now=local(20, 12, 1))
    assert figures.as_of == now
    assert assert_same(db)["tickets_in"].value == figures.values(["tickets_in"])["tickets_in"].value + 1
    # A refresh within a minute of the last leaves today pending (still live for exact reads).
    assert rollups.refresh(db, now=local(20, 12, 0, 50)) == 0
    assert rollup_state(db).pending == ["2026-11-20"]
    assert date(2026, 11, 20) not in usable(db)
    assert rollups.usable_days(db, NOVEMBER, now=local(20, 12, 1))[1] == now
    # … and still once the refresh is older than LAG (the worker is behind): the page says so.
    assert rollups.usable_days(db, NOVEMBER, now=local(20, 12, 3)) == (usable(db) | {date(2026, 11, 20)}, now)
    late = kpis.collect(db, period=NOVEMBER, scope=Scope(), keys=["tickets_in"], now=local(20, 12, 3))
    assert late.as_of == now and late.behind and not figures.behind
    rollups.refresh(db, now=local(20, 12, 4))
    assert date(2026, 11, 20) in usable(db)
    assert_same(db)


def test_a_dashboard_shows_changed_past_days_as_of_the_refresh_and_exact_reads_stay_live(db):
    """A busy desk changes old days all the time (replies to old tickets): a dashboard reads them
    from the rollup as of the last refresh instead of from the live tables."""
    made = desk(db)
    refreshed = local(20, 12)
    rollups.refresh(db, now=refreshed)
    before = assert_same(db)["avg_response"]
    t = next(iter(db.exec(kpis_ticket_of(made["buyers"][0]))))
    h.message(db, t, "outbound", local(20, 12, 0, 30), author=made["x"])
    changed = local(3).date()
    assert changed not in usable(db)  # exact reads compute the changed day live …
    assert assert_same(db)["avg_response"].denominator == before.denominator + 1
    # … a dashboard shows every day as of the refresh, and says so
    days, as_of = rollups.usable_days(db, NOVEMBER, now=refreshed + rollups.LAG)
    assert changed in days and as_of == refreshed
    board = kpis.collect(
        db, period=NOVEMBER, scope=Scope(), keys=["avg_response"], now=refreshed + rollups.LAG
    )
    assert board.as_of == refreshed
    assert board.values(["avg_response"])["avg_response"] == before
    # … and after LAG without a refresh (the worker stopped) still as of the refresh, marked behind.
    late = refreshed + rollups.LAG + timedelta(seconds=1)
    days, as_of = rollups.usable_days(db, NOVEMBER, now=late)
    assert changed in days and as_of == refreshed
    late_board = kpis.collect(db, period=NOVEMBER, scope=Scope(), keys=["avg_response"], now=late)
    assert late_board.values(["avg_response"])["avg_response"] == before
    assert late_board.behind and not board.behind


def test_a_refresh_out_of_time_keeps_stale_days_pending_and_shows_them_as_of_their_computation(db):
    made = desk(db)
    first = local(20, 12)
    rollups.refresh(db, now=first)
    for buyer in made["buyers"][:3]:
        t = next(iter(db.exec(kpis_ticket_of(buyer))))
        h.message(db, t, "outbound", local(20, 12, 0, 30), author=made["x"])
    second = first + rollups.PAST_EVERY
    assert rollups.refresh(db, now=second, max_days=1) == 1  # one changed day recomputed
    pending = {date.fromisoformat(d) for d in rollup_state(db).pending}
    assert pending and all(d in {r.day for r in db.exec(select_rollup_days())} for d in pending)
    assert not pending & usable(db)  # exact reads: live
    days, as_of = rollups.usable_days(db, NOVEMBER, now=second + timedelta(seconds=30))
    assert pending <= days and as_of == first  # their rows are as of the first refresh
    # The figures are as old as the oldest day read: later, still the pending rows' time.
    days, as_of = rollups.usable_days(db, NOVEMBER, now=first + rollups.LAG + timedelta(seconds=1))
    assert pending <= days and as_of == first
    rollups.refresh(db, now=second + timedelta(minutes=1))
    assert rollup_state(db).pending == [] or rollup_state(db).pending == ["2026-11-20"]
    assert_same(db)


def test_a_store_setting_change_sends_every_day_to_the_live_tables(db):
    made = desk(db)
    rollups.refresh(db, now=AFTER)
    made["one"].inquiry_win_days = 10
    made["one"].updated_at = AFTER + timedelta(minutes=1)
    db.flush()
    assert usable(db) == set()
    assert_same(db)


def test_a_bounded_refresh_leaves_the_rest_to_the_live_tables(db):
    desk(db)
    assert rollups.refresh(db, now=AFTER, max_days=5) == 5
    # the newest days first: 2 December (today) back to 28 November
    assert usable(db) == {date(2026, 11, d) for d in range(28, 31)}
    assert_same(db)
    rollups.refresh(db, now=AFTER + timedelta(minutes=1))
    assert usable(db) == set(NOVEMBER.dates()[2:])


def test_a_refresh_reads_first_and_writes_in_one_short_step(db):
    """What the dispatch job does on SQLite: plan in a read transaction (seconds of queries at a
    big desk), then apply the rows and watermarks in a short write transaction."""
    desk(db)
    found = rollups.plan(db, now=AFTER)
    assert found is not None and len(found.done) == 30
    assert db.exec(select_rollup_days()).first() is None  # planning wrote no row
    assert rollups.apply(db, found, now=AFTER) == 30
    assert usable(db) == set(NOVEMBER.dates()[2:])
    assert_same(db)
    assert rollups.refresh(db, now=AFTER + timedelta(minutes=1)) == 0


def test_rebuild_and_the_dispatch_job_entry(db):
    desk(db)
    assert rollups.rebuild(db, now=AFTER) == 30
    from app.dispatch import JOBS

    assert "app.metrics.rollups:refresh_job" in JOBS


# --- small helpers ---------------------------------------------------------------------------


def kpis_ticket_of(customer):
    from sqlmodel import select

    from app.tickets.models import Ticket

    return select(Ticket).where(Ticket.customer_id == customer.id)


def rollup_state(db):
    from app.metrics.rollup_models import MetricRollupState

    return db.get(MetricRollupState, 1)


def select_rollup_days():
    from sqlmodel import select

    return select(MetricRollup).where(MetricRollup.whole_day.is_(True))


def test_the_command_line_rolls_up_on_demand(fresh_database_url):
    import os
    import subprocess
    import sys
    from pathlib import Path

    huitou = str(Path(sys.executable).with_name("huitou"))
    env = os.environ | {"HUITOU_DATABASE_URL": fresh_database_url, "NO_COLOR": "1"}
    assert subprocess.run([huitou, "migrate"], env=env, capture_output=True, timeout=120).returncode == 0
    done = subprocess.run([huitou, "metrics-rollup"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "rolled up 0 days" in done.stdout  # an empty database has no day to roll up
    again = subprocess.run(
        [huitou, "metrics-rollup", "--rebuild"], env=env, capture_output=True, text=True, timeout=120
    )
    assert again.returncode == 0 and "rolled up" in again.stdout


def test_rows_computed_by_other_kpi_definitions_are_not_used_and_get_rebuilt(db):
    desk(db)
    rollups.refresh(db, now=AFTER)
    state = rollup_state(db)
    state.seen = state.seen | {"v": "0:an-older-definition"}
    db.add(state)
    db.flush()
    assert usable(db) == set()
    assert_same(db)
    assert rollups.refresh(db, now=AFTER + timedelta(minutes=1)) == 30
    assert usable(db) == set(NOVEMBER.dates()[2:])


# --- the dispatch job ------------------------------------------------------------------------


def test_the_dispatch_job_refreshes_at_most_once_per_cycle_however_many_workers():
    """Workers taking turns must not keep a refresh running back to back: the job starts one at
    most every JOB_EVERY (by the last refresh's start, stored for all workers)."""
    from sqlmodel import Session

    from tests.conftest import scratch_engine

    with scratch_engine("rollupjob") as engine:
        with Session(engine, expire_on_commit=False) as session:
            made = desk(session)
            session.commit()

        def refreshed_at():
            with Session(engine) as session:
                return rollup_state(session).refreshed_at

        with Session(engine) as session:  # the job's first cycles: every day rolled up
            assert rollups.refresh(session, now=AFTER) == 30
            session.commit()
        assert refreshed_at() == AFTER
        # A late reply changes 3 November; another worker's cycle a moment later leaves it …
        with Session(engine) as session:
            t = next(iter(session.exec(kpis_ticket_of(made["buyers"][0]))))
            h.message(session, t, "outbound", local(4, 8, 30), author=made["x"])
            session.commit()
        assert rollups.refresh_job(AFTER + rollups.JOB_EVERY / 2, engine=engine) == 0
        assert refreshed_at() == AFTER  # skipped: a refresh would record its start
        # … the first cycle after PAST_EVERY takes it,
        later = AFTER + rollups.PAST_EVERY
        assert rollups.refresh_job(later, engine=engine) >= 1
        assert refreshed_at() == later
        assert rollups.refresh_job(later + rollups.JOB_EVERY / 2, engine=engine) == 0
        assert refreshed_at() == later
        # and a clock set back does not stop the refresh for good.
        rollups.refresh_job(later - timedelta(hours=1), engine=engine)
        assert refreshed_at() == later - timedelta(hours=1)


def test_the_dispatch_job_rests_three_times_as_long_as_a_refresh_took():
    """The job keeps to CORE_SHARE of a core: after a refresh that took t seconds no worker
    starts another before t / CORE_SHARE after its start (nor before JOB_EVERY)."""
    import time

    from sqlmodel import Session

    from tests.conftest import scratch_engine

    with scratch_engine("rollupjobrest") as engine:
        with Session(engine, expire_on_commit=False) as session:
            desk(session)
            session.commit()
        started = time.monotonic()
        assert rollups.refresh_job(AFTER, engine=engine) >= 1  # the first days rolled up
        took = time.monotonic() - started
        with Session(engine) as session:
            state = rollup_state(session)
            assert state.refreshed_at == AFTER
            rest = state.rests_until - AFTER
        assert timedelta(0) < rest <= timedelta(seconds=took / rollups.CORE_SHARE)
        # Made longer than JOB_EVERY, as a refresh of ~4 s at a million orders would: the job
        # rests until then, whichever worker asks,
        until = AFTER + rollups.JOB_EVERY * 3
        with Session(engine) as session:
            session.execute(sa.update(MetricRollupState).values(rests_until=until))
            session.commit()
        assert rollups.refresh_job(until - timedelta(seconds=1), engine=engine) == 0
        with Session(engine) as session:
            assert rollup_state(session).refreshed_at == AFTER
        # and refreshes after it (the days that were left, if any; the start is recorded).
        rollups.refresh_job(until, engine=engine)
        with Session(engine) as session:
            state = rollup_state(session)
            assert state.refreshed_at == until and state.rests_until > until


@pytest.mark.postgres_only
def test_the_refresh_runs_without_parallel_workers_or_jit_and_only_in_its_transaction(engine):
    """Background queries leave the machine's other cores to the requests (PostgreSQL)."""
    from sqlmodel import Session

    def show(session, name):
        return session.execute(sa.text(f"SHOW {name}")).scalar_one()

    with Session(engine) as session:
        before = (show(session, "max_parallel_workers_per_gather"), show(session, "jit"))
        rollups.background_queries(session)
        assert (show(session, "max_parallel_workers_per_gather"), show(session, "jit")) == ("0", "off")
        session.rollback()
        assert (show(session, "max_parallel_workers_per_gather"), show(session, "jit")) == before


def test_the_histograms_are_read_only_for_the_figures_that_need_them(db):
    """A row's histograms are the larger half of its JSON: an agent's targets page (averages,
    counts) reads the sums alone; a p90 reads the histograms too — same figures as live either way."""
    made = desk(db)
    rollups.refresh(db, now=AFTER)
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args):
        if "FROM metric_rollups" in statement:
            statements.append(statement)

    connection = db.connection()
    sa.event.listen(connection, "before_cursor_execute", seen)
    try:
        for keys in (["first_response_avg", "bad_reviews"], ["first_response_p90"]):
            statements.clear()
            with rollups.enabled(True):
                rolled = kpis.compute(db, period=NOVEMBER, agent_id=made["x"].id, keys=keys)
            assert statements, "read from the rollup"
            reads_hists = any("metric_rollups.hists" in s for s in statements)
            assert reads_hists == (keys == ["first_response_p90"]), statements
            with rollups.enabled(False):
                assert rolled == kpis.compute(db, period=NOVEMBER, agent_id=made["x"].id, keys=keys)
    finally:
        sa.event.remove(connection, "before_cursor_execute", seen)
