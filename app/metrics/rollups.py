"""Where the KPI components come from: the daily rollup for days it holds and that have not
changed since, the live tables for every other day (changed days, days not rolled up yet).

Kept correct as data changes: `refresh` (the dispatch job, every few seconds) finds the local days
that changes since its previous run can affect (app.metrics.rollup_changes) and recomputes them
with the same family queries the live path runs; a read finds the days changed since the last
refresh and computes those live, so a day's figures are exact from either source. The exception
is a caller that passes `now`: a page shows the figures as of the last refresh (and says so)
instead of recomputing changed days on every load.
A change committed while a refresh was reading is caught by the next one (the refresh looks back
one run). Deleting rows (which the product does not do: erasure anonymises) calls for `rebuild`.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections import defaultdict
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.config import get_settings
from app.db import is_postgres, session_scope
from app.metrics import rollup_changes
from app.metrics.base import NO_BUCKET, Scope, run
from app.metrics.dialect import Sql
from app.metrics.period import Period, local_today
from app.metrics.rollup_models import MetricRollup, MetricRollupState

rollups = MetricRollup.__table__
MAX_BACK_DAYS = 400  # days before today worth keeping rolled up (a dashboard spans 366 at most)
RUN_DAYS = 31  # days per family query while refreshing
LAG = timedelta(minutes=2)  # rolled-up figures older than this on a page: the worker is behind
TODAY_EVERY = timedelta(minutes=1)  # today is recomputed at most this often (it changes constantly)
# … and an earlier day at most this often: on a busy desk replies and solves touch tickets of every
# day all the time, and recomputing each changed day at once kept a core busy at a million orders
# (a day's queries take 1–2 s there). Pages say how old the figures are.
PAST_EVERY = timedelta(minutes=5)
JOB_BUDGET_SECONDS = 2.0  # one dispatch cycle stops recomputing days after this long
# However many dispatch workers run, the job refreshes at most this often (one worker's cycle):
# workers taking turns could otherwise keep a refresh running back to back.
JOB_EVERY = timedelta(seconds=5)
# … and keeps, on average, to this share of one core: a refresh that took t seconds rests until
# t / CORE_SHARE after its start. Under a busy desk every day changes all the time, and a day's
# queries take ~4 s at a million orders: back to back, the refresh kept ~70 % of a core busy beside
# a server that needed it (scripts/bench/run.sh). The figures then age up to a few minutes more;
# pages say how old they are.
CORE_SHARE = 0.25
SQLITE_SLICE_SECONDS = 0.05  # on SQLite, each write transaction of a refresh stops after this long
SQLITE_SLICE_PAUSE = 0.05
# Bump when a family's SQL changes meaning: the rollup is then rebuilt (new components do it alone).
ROLLUP_REVISION = 1
_enabled: ContextVar[bool] = ContextVar("metrics_rollup_enabled", default=True)


@contextlib.contextmanager
def enabled(on: bool) -> Iterator[None]:
    """Switch the rollup off (or on) for reads in this context: benchmarks and tests compare both."""
    token = _enabled.set(on)
    try:
        yield
    finally:
        _enabled.reset(token)


def rollup_tz() -> str:
    return get_settings().default_timezone


def version() -> str:
    """What the stored rows were computed by: the revision and the families' components."""
    from app.metrics.kpis import families

    names = ",".join(f"{f.name}:{'/'.join(f.components)}" for f in families())
    return f"{ROLLUP_REVISION}:{hashlib.sha256(names.encode()).hexdigest()[:12]}"


def _runs(days: list[date], limit: int = RUN_DAYS) -> list[tuple[date, date]]:
    """Sorted days → contiguous (first, last) runs of at most `limit` days."""
    runs: list[tuple[date, date]] = []
    for day in days:
        if runs and day == runs[-1][1] + timedelta(days=1) and (day - runs[-1][0]).days < limit:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


@contextlib.contextmanager
def tuned_sqlite_reads(session: Any) -> Iterator[None]:
    """Memory-mapped reads and a bigger page cache on this (pooled) connection while the KPI
    queries read wide index ranges (SQLite's 2 MB default cache turns them into a read() per
    page). The mapping is address space backed by the OS page cache, not memory of its own; the
    cache is given back afterwards, or every pooled connection of a server would keep 16 MiB."""
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    session.execute(sa.text("PRAGMA mmap_size = 1073741824"))  # 1 GiB of address space
    session.execute(sa.text("PRAGMA cache_size = -16384"))  # 16 MiB
    try:
        yield
    finally:
        session.execute(sa.text("PRAGMA cache_size = -2000"))  # SQLite's default


# --- reading -----------------------------------------------------------------------------------


def collect(
    session: Any,
    *,
    period: Period,
    scope: Scope,
    families: list[Any],
    agent_hists: bool = False,
    now: datetime | None = None,
) -> Any:
    from app.metrics.kpis import Figures

    figures = Figures(period, scope)
    rolled: set[date] = set()
    if _enabled.get():
        rolled, figures.as_of = usable_days(session, period, now=now)
        figures.behind = bool(now and figures.as_of and now - figures.as_of > LAG)
    live = _runs(sorted(set(period.dates()) - rolled))
    with tuned_sqlite_reads(session) if live else contextlib.nullcontext():
        for first, last in live:
            sql = Sql.for_session(session, Period(first, last, period.tz))
            for family in families:
                for row in run(session, family, sql, scope):
                    figures.add(row)
    if rolled:
        _read(session, figures, rolled, scope, families, agent_hists)
    return figures


def usable_days(
    session: Any, period: Period, *, now: datetime | None = None
) -> tuple[set[date], datetime | None]:
    """Days of the period the rollup holds that nothing changed since its last refresh.

    With `now` (a page's clock), the figures are instead those of the rollup as it stands: every
    rolled-up day is read from it, and the time they are correct as of is returned — the last
    refresh's start for the days it brought up to date, the day's own computation for a day it
    left pending (today, recomputed once a minute; days a refresh had no time for). Under a busy
    desk every day changes all the time: recomputing the changed ones from the live tables on each
    read made an agent's own figures take seconds at a million orders, and fifty agents' pages
    doing it at once stalled the whole server (scripts/bench/run.sh). The page says how old the
    figures are, and that the worker is behind when that is more than LAG (Figures.behind).
    Without `now` the figures are exact."""
    state = session.get(MetricRollupState, 1)
    if state is None or state.tz != period.tz or not state.seen or state.seen.get("v") != version():
        return set(), None
    r = rollups
    computed = dict(
        session.execute(
            sa.select(r.c.day, r.c.computed_at).where(
                r.c.whole_day.is_(sa.true()), r.c.day.between(period.start, period.end)
            )
        ).all()
    )
    if not computed:
        return set(), None
    refreshed = _seen_at(state)
    if now is not None and refreshed is not None:
        pending = _pending(state)
        fresh = {d: (at if d in pending else refreshed) for d, at in computed.items()}
        usable = {d for d, at in fresh.items() if at is not None}
        return usable, min((fresh[d] for d in usable), default=None)
    stale = rollup_changes.changed_days(session, since=state.seen, tz=state.tz)
    if stale is rollup_changes.EVERYTHING:
        return set(), None
    return set(computed) - stale - _pending(state), None


def _seen_at(state: MetricRollupState) -> datetime | None:
    """When the last refresh started: every day it did not leave pending is correct as of then."""
    text = (state.seen or {}).get("t")
    return datetime.fromisoformat(text) if text else None


def _pending(state: MetricRollupState) -> set[date]:
    return {date.fromisoformat(d) for d in state.pending or []}


def _keep(values: dict[str, Any] | None, wanted: set[str]) -> dict[str, Any]:
    return {k: v for k, v in (values or {}).items() if k in wanted}


def _read(
    session: Any, figures: Any, days: set[date], scope: Scope, families: list[Any], agent_hists: bool
) -> None:
    sums_wanted = {c for f in families if not f.histogram for c in f.components}
    hists_wanted = {c for f in families if f.histogram for c in f.components}
    r = rollups
    between = r.c.day.between(min(days), max(days))
    whole = scope == Scope()
    # Histograms are the larger half of a row's JSON: read (and decoded) only when a family
    # asked for needs one.
    hist = r.c.hists if hists_wanted else sa.null().label("hists")
    if whole:
        query = sa.select(r.c.day, r.c.sums, hist).where(r.c.whole_day.is_(sa.true()), between)
        for day, sums, hists in session.execute(query):
            if day in days:
                figures.add_day(day, _keep(sums, sums_wanted), _keep(hists, hists_wanted))
    columns = [r.c.day, r.c.agent_id, r.c.sums] + ([hist] if agent_hists or not whole else [])
    query = sa.select(*columns).where(
        r.c.whole_day.is_(sa.false()), between, *scope.where(store=r.c.store_id, agent=r.c.agent_id)
    )
    for row in session.execute(query):
        if row.day in days:
            hists = _keep(row.hists, hists_wanted) if len(row) > 3 else None
            figures.add_cell(row.day, row.agent_id, _keep(row.sums, sums_wanted), hists, totals=not whole)


# --- refreshing --------------------------------------------------------------------------------


def _state(session: Any, tz: str, *, create: bool = True) -> MetricRollupState | None:
    """The state row, locked for this refresh (None: another worker is refreshing). Without
    `create`, a missing row is a new one not yet stored (a read transaction writes nothing)."""
    query = sa.select(MetricRollupState).where(MetricRollupState.id == 1)
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    state = session.execute(query).scalar_one_or_none()
    if state is None and not create:
        return MetricRollupState(id=1, tz=tz, seen={}, safe={}, pending=[])
    if state is None:
        dialect_insert = pg_insert if is_postgres(session) else sqlite_insert
        session.execute(
            dialect_insert(MetricRollupState.__table__)
            .values(id=1, tz=tz, seen={}, safe={}, pending=[])
            .on_conflict_do_nothing(index_elements=["id"])
        )
        state = session.execute(query).scalar_one_or_none()
    return state


def _empty() -> list[Any]:
    return [defaultdict(int), defaultdict(lambda: defaultdict(int))]


def compute_days(session: Any, days: list[date], tz: str, *, now: datetime, run_days: int = RUN_DAYS) -> None:
    """Recompute the rollup rows of these days from the live tables (all families, all cells)."""
    write_days(session, day_records(session, days, tz, now=now, run_days=run_days))


Batch = tuple[date, date, list[dict[str, Any]]]


def day_records(
    session: Any, days: list[date], tz: str, *, now: datetime, run_days: int = RUN_DAYS
) -> list[Batch]:
    """The rollup rows of these days, computed from the live tables (reads only)."""
    from app.metrics.kpis import families

    batches: list[Batch] = []
    for first, last in _runs(sorted(days), run_days):
        period = Period(first, last, tz)
        sql = Sql.for_session(session, period)
        cells: dict[tuple[date, int | None, int | None], list[Any]] = {}
        wholes: dict[date, list[Any]] = {d: _empty() for d in period.dates()}
        for family in families():
            for row in run(session, family, sql, Scope()):
                cell = cells.setdefault((row.day, row.store_id, row.agent_id), _empty())
                for target in (cell, wholes[row.day]):
                    if row.bucket == NO_BUCKET:
                        target[0][row.component] += row.value
                    else:
                        target[1][row.component][str(row.bucket)] += row.value

        def record(day: date, store: int | None, agent: int | None, found: list[Any], whole: bool) -> dict:
            sums, hists = found
            return {
                "day": day,
                "whole_day": whole,
                "store_id": store,
                "agent_id": agent,
                "sums": dict(sums),
                "hists": {c: dict(b) for c, b in hists.items()},
                "computed_at": now if whole else None,
            }

        records = [record(day, None, None, found, True) for day, found in wholes.items()]
        records += [record(day, store, agent, found, False) for (day, store, agent), found in cells.items()]
        batches.append((first, last, records))
    return batches


def write_days(session: Any, batches: list[Batch]) -> None:
    for first, last, records in batches:
        session.execute(sa.delete(rollups).where(rollups.c.day.between(first, last)))
        for i in range(0, len(records), 2000):
            session.execute(sa.insert(rollups), records[i : i + 2000])


@dataclass
class Plan:
    """A refresh worked out on a read: what to write, and the watermarks to record."""

    tz: str
    marks: dict[str, Any]
    reset: bool  # other KPI definitions or time zone: every stored row goes
    today: date
    batches: list[Batch]
    done: list[date]
    pending: set[date]
    safe: dict[str, Any]


def refresh(
    session: Any, *, now: datetime, max_days: int | None = None, budget_seconds: float | None = None
) -> int:
    """Bring the rollup up to date: recompute changed days (today first), then days never rolled
    up, newest first. `max_days` / `budget_seconds` bound the work; changed days left over stay
    pending (exact reads take them live) and are done by a later refresh. Returns the days
    recomputed."""
    found = plan(session, now=now, max_days=max_days, budget_seconds=budget_seconds)
    return apply(session, found, now=now) if found is not None else 0


def plan(
    session: Any, *, now: datetime, max_days: int | None = None, budget_seconds: float | None = None
) -> Plan | None:
    """The reading half of a refresh: which days changed, and their new rows (None: another
    worker holds the refresh)."""
    tz = rollup_tz()
    state = _state(session, tz, create=is_postgres(session))
    if state is None:
        return None
    with tuned_sqlite_reads(session):
        return _plan(session, state, tz, now=now, max_days=max_days, budget_seconds=budget_seconds)


def _plan(
    session: Any,
    state: MetricRollupState,
    tz: str,
    *,
    now: datetime,
    max_days: int | None,
    budget_seconds: float | None,
) -> Plan:
    marks = rollup_changes.marks(session, now=now) | {"v": version()}
    reset = state.tz != tz or bool(state.seen and state.seen.get("v") != marks["v"])
    today = local_today(now, tz)
    r = rollups
    have: dict[date, Any] = {}
    if not reset:
        have = dict(
            session.execute(sa.select(r.c.day, r.c.computed_at).where(r.c.whole_day.is_(sa.true()))).all()
        )
    if state.safe and not reset:
        changed = rollup_changes.changed_days(session, since=state.safe, tz=tz)
        stale = set(have) if changed is rollup_changes.EVERYTHING else (changed | _pending(state)) & set(have)
    else:
        stale = set(have)
    # Days change all the time: recompute today once a minute at most, an earlier day once every
    # five minutes, and remember them meanwhile (pending).
    pending = set()
    for day in sorted(stale):
        last = have.get(day)
        if last is not None and now - last < (TODAY_EVERY if day == today else PAST_EVERY):
            stale.discard(day)
            pending.add(day)
    stale = {d for d in stale if d <= today}  # a clock set back: later days have not happened
    wanted: list[date] = sorted(stale, reverse=True)
    first = rollup_changes.earliest_day(session, tz)
    if first is not None:
        start = max(first, today - timedelta(days=MAX_BACK_DAYS))
        newest_first = (today - timedelta(days=i) for i in range((today - start).days + 1))
        wanted += [d for d in newest_first if d not in have]
    todo = wanted if max_days is None else wanted[:max_days]
    done: list[date] = []
    batches: list[Batch] = []
    started = time.monotonic()  # a duration, not the time of day: the budget of one job cycle
    step = 1 if budget_seconds is not None else max(len(todo), 1)
    for i in range(0, len(todo), step):
        if budget_seconds is not None and done and time.monotonic() - started > budget_seconds:
            break
        chunk = todo[i : i + step]
        batches += day_records(session, chunk, tz, now=now)
        done += chunk
    # Stale days not recomputed now keep their rows, pending: exact reads take them live, a page
    # shows them as of their computation.
    pending |= (set(wanted) - set(done)) & set(have)
    safe = ({} if reset else state.seen) or marks
    return Plan(tz, marks, reset, today, batches, done, pending, safe)


def apply(session: Any, found: Plan, *, now: datetime) -> int:
    """The writing half of a refresh: the new rows and the watermarks, in one short transaction."""
    if found.reset:
        session.execute(sa.delete(rollups))
    session.execute(sa.delete(rollups).where(rollups.c.day > found.today))
    write_days(session, found.batches)
    state = _state(session, found.tz)  # on PostgreSQL the plan's transaction holds it already
    if state is None:
        return 0
    state.tz, state.safe, state.seen = found.tz, found.safe, found.marks
    state.pending = sorted(d.isoformat() for d in found.pending)
    state.refreshed_at = now
    session.add(state)
    session.flush()
    return len(found.done)


def background_queries(session: Any) -> None:
    """On PostgreSQL, for this transaction: no parallel workers and no JIT compilation. At a
    million orders a busy day's queries ran on three processes in about the time one takes
    (scripts/bench/rollup_days.py, docs/performance.md), and JIT spent 0.13 s compiling the
    1.2 s `responses` query: under load that CPU is the requests'."""
    if is_postgres(session):
        session.execute(sa.text("SET LOCAL max_parallel_workers_per_gather = 0"))
        session.execute(sa.text("SET LOCAL jit = off"))


def _resting(session: Any, now: datetime) -> bool:
    """Is the refresh (of any worker) resting at `now`: less than JOB_EVERY after the last one
    started, or before the rest that one's run time called for? A clock set back: no."""
    # Plain column reads: the ORM object stays unloaded for the locking read that follows.
    s = MetricRollupState
    found = session.execute(sa.select(s.refreshed_at, s.rests_until).where(s.id == 1)).first()
    if found is None or found.refreshed_at is None or now < found.refreshed_at:
        return False
    return now < max(found.refreshed_at + JOB_EVERY, found.rests_until or found.refreshed_at)


def _rest(session: Any, now: datetime, spent: float) -> None:
    """After a refresh started at `now` that took `spent` seconds: no other before now + spent /
    CORE_SHARE."""
    until = now + timedelta(seconds=spent / CORE_SHARE)
    session.execute(sa.update(MetricRollupState).where(MetricRollupState.id == 1).values(rests_until=until))


def rebuild(session: Any, *, now: datetime) -> int:
    """Forget the rollup and compute it again (after rows were deleted, or to check it)."""
    session.execute(sa.delete(rollups))
    session.execute(sa.delete(MetricRollupState.__table__))
    session.flush()
    return refresh(session, now=now)


def refresh_job(now: datetime, *, engine: Any = None) -> int:
    """The dispatch job: a refresh bounded by time, so one cycle never holds up the other jobs,
    started at most every JOB_EVERY across all workers, and resting after each for three times
    as long as it took (CORE_SHARE; it returns 0 while resting).

    On SQLite each step computes a day in a read transaction and writes it in a short write
    transaction: a day's queries take seconds at a million orders, and holding SQLite's only write
    lock meanwhile stalled every webhook and reply of the server until they gave up (seen in
    scripts/bench/run.sh). Each step picks up where the last stopped."""
    started = time.monotonic()  # durations, not the time of day: the budget and the rest
    if not get_settings().is_sqlite:
        with session_scope(engine) as session:
            if _resting(session, now):
                return 0
            background_queries(session)
            found = plan(session, now=now, budget_seconds=JOB_BUDGET_SECONDS)
            if found is None:
                return 0
            done = apply(session, found, now=now)
            _rest(session, now, time.monotonic() - started)
            return done
    with session_scope(engine, write=False) as session:
        if _resting(session, now):
            return 0
    total = 0
    while time.monotonic() - started < JOB_BUDGET_SECONDS:
        with session_scope(engine, write=False) as session:
            found = plan(session, now=now, budget_seconds=SQLITE_SLICE_SECONDS)
        if found is None:
            break
        with session_scope(engine) as session:
            done = apply(session, found, now=now)
        total += done
        if not done:
            break
        time.sleep(SQLITE_SLICE_PAUSE)  # the server's writers waiting in SQLite's busy handler go first
    with session_scope(engine) as session:
        _rest(session, now, time.monotonic() - started)
    return total
