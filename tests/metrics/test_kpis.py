"""Every KPI formula against a hand-built fixture with known answers (November 2026, Shanghai)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from app.metrics import kpis
from app.metrics.kpis import KPIS, p90
from app.metrics.period import Period
from tests.factories import make_agent, make_customer, make_product, make_store, make_team
from tests.metrics import helpers as h
from tests.metrics.helpers import NOVEMBER, local


def values(db, **scope):
    return kpis.compute(db, period=NOVEMBER, **scope)


def v(db, key, **scope):
    return kpis.compute(db, period=NOVEMBER, keys=[key], **scope)[key]


def test_every_kpi_has_a_label_a_formula_and_a_known_unit():
    assert len(KPIS) >= 25
    for kpi in KPIS.values():
        assert kpi.label and kpi.formula and kpi.unit in kpis.UNITS
        assert kpi.kind in ("ratio", "total", "p90", "external")


def test_no_data_gives_no_value_for_rates_and_zero_for_totals(db):
    result = values(db)
    for key, value in result.items():
        kpi = KPIS[key]
        if kpi.kind == "total":
            assert value.value == 0, key
        else:
            assert value.value is None, key


def test_unknown_kpi_key_is_invalid_input(db):
    from app.errors import InvalidInput

    with pytest.raises(InvalidInput):
        kpis.compute(db, period=NOVEMBER, keys=["conversion_rate_typo"])


def test_period_boundaries_are_local_midnights_in_shanghai(db):
    customer = make_customer(db)
    inside = [local(1, 0, 0), local(30, 23, 59, 59)]
    outside = [local(31, 23, 59, 59, month=10), local(1, 0, 0, month=12)]
    for at in inside + outside:
        h.ticket(db, customer, at=at)
    assert v(db, "tickets_in").value == 2
    # 00:00 on 1 December local is 16:00 UTC on 30 November: it belongs to December.
    assert local(1, 0, 0, month=12).isoformat() == "2026-11-30T16:00:00+00:00"


def test_response_times_exclude_automated_messages_and_credit_the_replier(db):
    x, y = make_agent(db), make_agent(db)
    store = make_store(db)
    a, b, c = (make_customer(db, store=store) for _ in range(3))
    ta = h.ticket(db, a, at=local(5, 10), assignee=x)
    h.message(db, ta, "inbound", local(5, 10, 0, 0))
    h.message(db, ta, "outbound", local(5, 10, 0, 5), automated=True)  # an auto-reply: not a response
    h.message(db, ta, "outbound", local(5, 10, 1, 0), author=x)  # first response: 60 s
    h.message(db, ta, "inbound", local(5, 11, 0, 0))
    h.message(db, ta, "inbound", local(5, 11, 0, 30))  # same round: measured from 11:00:00
    h.message(db, ta, "note", local(5, 11, 1, 0), author=x)  # a note is not a reply
    h.message(db, ta, "outbound", local(5, 11, 2, 0), author=x)  # 120 s
    tb = h.ticket(db, b, at=local(6, 12), assignee=x)  # assigned to x, answered by y
    h.message(db, tb, "inbound", local(6, 12, 0, 0))
    h.message(db, tb, "outbound", local(6, 12, 0, 30), author=y)  # first response: 30 s
    tc = h.ticket(db, c, at=local(7, 9), assignee=x)
    h.message(db, tc, "inbound", local(7, 9, 0, 0))  # never answered
    h.message(db, tc, "outbound", local(7, 9, 0, 1), automated=True)

    result = values(db)
    assert result["first_response_avg"].value == Decimal("45.0")  # (60 + 30) / 2
    assert (result["first_response_avg"].numerator, result["first_response_avg"].denominator) == (90, 2)
    assert result["avg_response"].value == Decimal("70.0")  # (60 + 120 + 30) / 3
    assert result["reply_rate"].value == Decimal("66.7")  # buyers a, b of a, b, c
    assert result["first_response_p90"].value == Decimal("60.0")

    by_x = values(db, agent_id=x.id)
    assert by_x["first_response_avg"].value == Decimal("60.0")
    assert by_x["avg_response"].value == Decimal("90.0")
    assert by_x["reply_rate"].numerator == 1 and by_x["reply_rate"].denominator == 2  # a; c unanswered
    by_y = values(db, agent_id=y.id)
    assert by_y["first_response_avg"].value == Decimal("30.0")
    assert by_y["reply_rate"].value == Decimal("100.0")
    # the workload: x replied on one ticket in two clock hours (10:xx and 11:xx)
    assert by_x["tickets_per_hour"].value == Decimal("0.50")


def test_agent_initiated_ticket_counts_the_reply_to_the_buyers_first_message(db):
    x = make_agent(db)
    t = h.ticket(db, make_customer(db), at=local(3, 9), assignee=x, kind="payment_reminder")
    h.message(db, t, "outbound", local(3, 9, 0), author=x)  # the agent writes first: no question yet
    h.message(db, t, "inbound", local(3, 9, 30))
    h.message(db, t, "outbound", local(3, 9, 31), author=x)
    assert v(db, "first_response_avg").value == Decimal("60.0")


def test_p90_is_the_nearest_rank_on_a_known_list(db):
    assert p90({}) is None
    assert p90({v: 1 for v in range(10, 101, 10)}) == (90, 10)  # rank ⌈9⌉ = 9
    assert p90({v: 1 for v in [*range(1, 11), 100]}) == (10, 11)  # rank ⌈9.9⌉ = 10
    assert p90({7: 1}) == (7, 1)
    assert p90({5: 9, 500: 1}) == (5, 10)
    x = make_agent(db)
    gaps = [5, 1, 9, 3, 7, 2, 8, 4, 6, 10, 100]
    for i, gap in enumerate(gaps):
        t = h.ticket(db, make_customer(db), at=local(10, 8), assignee=x)
        h.message(db, t, "inbound", local(10, 8, i))
        h.message(db, t, "outbound", local(10, 8, i) + timedelta(seconds=gap), author=x)
    result = v(db, "first_response_p90")
    assert (result.value, result.denominator) == (Decimal("10.0"), 11)


def test_a_reply_after_the_period_still_answers_a_question_asked_in_it(db):
    x = make_agent(db)
    t = h.ticket(db, make_customer(db), at=local(30, 23, 50), assignee=x)
    h.message(db, t, "inbound", local(30, 23, 50))
    h.message(db, t, "outbound", local(1, 0, 10, month=12), author=x)
    assert v(db, "first_response_avg").value == Decimal("1200.0")


def test_resolution_sla_and_reopen_rate_over_tickets_solved_in_the_period(db):
    x = make_agent(db)
    customer = make_customer(db)
    h.ticket(  # solved in 4 h; answered in 20 min against a 30-min target; resolved before its due
        db,
        customer,
        at=local(4, 10),
        assignee=x,
        status="solved",
        solved_at=local(4, 14),
        first_response_due_at=local(4, 10, 30),
        first_response_at=local(4, 10, 20),
        resolution_due_at=local(4, 16),
    )
    h.ticket(  # solved in 2 h, after its resolution target; reopened once
        db,
        customer,
        at=local(5, 9),
        assignee=x,
        status="closed",
        solved_at=local(5, 11),
        resolution_due_at=local(5, 10),
        reopened_count=1,
    )
    h.ticket(db, customer, at=local(6, 9), status="solved", solved_at=local(6, 9, 30))  # no targets
    h.ticket(db, customer, at=local(6, 9), status="open")  # not solved
    h.ticket(db, customer, at=local(28, 9, month=10), status="solved", solved_at=local(31, 9, month=10))

    result = values(db)
    assert result["tickets_solved"].value == 3
    assert result["resolution_time"].value == Decimal("7800.0")  # (14400 + 7200 + 1800) / 3
    assert (result["sla_attainment"].numerator, result["sla_attainment"].denominator) == (1, 2)
    assert result["reopen_rate"].value == Decimal("33.3")
    assert v(db, "tickets_solved", agent_id=x.id).value == 2


def test_inquiry_conversion_counts_buyers_once_a_day_and_the_store_window(db):
    store = make_store(db)  # inquiry window: 3 days
    x, y = make_agent(db), make_agent(db)
    paid_in_time, paid_late, never = (make_customer(db, store=store) for _ in range(3))
    h.inquiry(db, paid_in_time, opened_at=local(5, 10), agent=x)
    h.order(db, paid_in_time, placed_at=local(7, 9), paid_at=local(7, 9, 5))
    h.inquiry(db, paid_late, opened_at=local(5, 10), agent=x)
    h.order(db, paid_late, placed_at=local(9, 9), paid_at=local(9, 9, 5))  # 4 days later
    h.inquiry(db, never, opened_at=local(6, 10), agent=y)
    h.inquiry(db, never, opened_at=local(6, 15), agent=y)  # the same buyer, the same day

    result = v(db, "inquiry_conversion")
    assert (result.numerator, result.denominator, result.value) == (1, 3, Decimal("33.3"))
    assert v(db, "inquiry_conversion", agent_id=x.id).value == Decimal("50.0")
    assert v(db, "inquiry_conversion", agent_id=y.id).value == Decimal("0.0")


def test_assisted_sales_order_value_discount_and_refund_rate(db):
    store = make_store(db)
    x = make_agent(db)
    one, two, silent = (make_customer(db, store=store) for _ in range(3))
    first = h.order(db, one, placed_at=local(8, 9), paid_at=local(8, 9), total="100.00", assisted_by_id=x.id)
    h.item(db, first, unit_price="200.00", agreed_price="150.00", quantity=2)  # list 400, discount 100
    h.order(db, one, placed_at=local(8, 10), paid_at=local(8, 10), total="50.00", assisted_by_id=x.id)
    h.order(
        db,
        two,
        placed_at=local(9, 9),
        paid_at=local(9, 9),
        total="30.00",
        assisted_by_id=x.id,
        refunded_amount=Decimal("10.00"),
    )
    h.order(db, silent, placed_at=local(9, 9), paid_at=local(9, 9), total="999.00")  # not assisted
    h.order(db, silent, placed_at=local(9, 9), total="20.00")  # never paid: in no figure

    result = values(db)
    assert result["agent_sales"].value == Decimal("180.00")
    assert result["avg_order_value"].value == Decimal("90.00")  # 180 ÷ 2 paying buyer-days
    assert result["avg_discount"].value == Decimal("25.0")
    assert (result["refund_rate"].numerator, result["refund_rate"].denominator) == (1, 4)
    assert result["refund_rate"].value == Decimal("25.0")
    assert v(db, "refund_rate", agent_id=x.id).value == Decimal("33.3")


def test_bargaining_success_counts_only_bargained_inquiries_closed_in_the_period(db):
    store = make_store(db)
    product = make_product(db, store=store)
    customer = make_customer(db, store=store)
    won = h.inquiry(db, customer, opened_at=local(2), status="won", closed_at=local(3))
    lost = h.inquiry(db, customer, opened_at=local(2), status="lost", closed_at=local(4))
    h.inquiry(db, customer, opened_at=local(2), status="won", closed_at=local(3))  # no bargaining
    still_open = h.inquiry(db, customer, opened_at=local(2), status="bargaining")
    for inq in (won, lost, still_open):
        h.bargain_round(db, inq, product, at=local(2, 11))
    assert v(db, "bargain_success").value == Decimal("50.0")


def test_csat_average_satisfied_share_and_response_rate(db):
    x = make_agent(db)
    customer = make_customer(db)
    for rating in (5, 4, 2):
        t = h.ticket(db, customer, at=local(3), status="solved", solved_at=local(3, 11))
        h.survey(db, t, sent_at=local(3, 11), agent=x, rating=rating, answered_at=local(3, 12))
    t = h.ticket(db, customer, at=local(3), status="solved", solved_at=local(3, 11))
    h.survey(db, t, sent_at=local(3, 11), agent=x)  # not answered
    result = values(db)
    assert result["csat_avg"].value == Decimal("3.67")
    assert result["csat_satisfied"].value == Decimal("66.7")
    assert result["csat_response_rate"].value == Decimal("75.0")


def test_good_review_rate_bad_reviews_and_recovery(db):
    store = make_store(db)
    happy, angry, still_angry, won_back = (make_customer(db, store=store) for _ in range(4))
    for _ in range(2):
        h.review(db, happy, posted_at=local(10), grade="good")
    h.review(db, happy, posted_at=local(10), grade="neutral")
    h.review(db, angry, posted_at=local(11), grade="bad")
    h.review(db, angry, posted_at=local(20), grade="good")  # a later good review: recovered
    h.review(db, still_angry, posted_at=local(12), grade="bad")
    h.review(db, won_back, posted_at=local(13), grade="bad")
    t = h.ticket(db, won_back, at=local(13, 12), status="solved", solved_at=local(14))
    h.survey(db, t, sent_at=local(14), rating=4, answered_at=local(14, 12))  # contact, then a 4

    result = values(db)
    assert (result["good_review_rate"].numerator, result["good_review_rate"].denominator) == (3, 7)
    assert result["bad_reviews"].value == 3
    assert result["bad_review_recovery"].value == Decimal("66.7")


def test_aftersales_handling_time_and_decisions_in_the_buyers_favour(db):
    store = make_store(db)
    x = make_agent(db)
    customer = make_customer(db, store=store)
    o = h.order(db, customer, placed_at=local(1), paid_at=local(1))
    h.case(  # approved, refunded a day after the request
        db,
        o,
        requested_at=local(5, 10),
        decided_at=local(5, 12),
        decider=x,
        state="refunded",
        resolved_at=local(6, 10),
        decided_in_buyer_favour=True,
    )
    h.case(  # rejected two hours after the request
        db,
        o,
        requested_at=local(7, 10),
        decided_at=local(7, 12),
        decider=x,
        state="rejected",
        decided_in_buyer_favour=False,
    )
    h.case(db, o, requested_at=local(8, 10))  # still waiting
    result = values(db)
    assert result["aftersales_time"].value == Decimal("46800.0")  # (86400 + 7200) / 2
    assert result["buyer_favour"].value == Decimal("50.0")
    assert v(db, "buyer_favour", agent_id=x.id).value == Decimal("50.0")


def test_revisit_completion_and_repurchase_within_30_days(db):
    store = make_store(db)
    x = make_agent(db)
    auto, task, waiting, opted_out = (make_customer(db, store=store) for _ in range(4))
    h.revisit(db, auto, due_at=local(3), status="done", action="auto", outcome="sent", handled_at=local(3))
    h.order(db, auto, placed_at=local(13))  # 10 days later: a repurchase
    t = h.ticket(db, task, at=local(4), assignee=x, kind="revisit")
    h.message(db, t, "outbound", local(4, 15), author=x)
    h.revisit(
        db, task, due_at=local(4), status="done", outcome="task_created", ticket_id=t.id, handled_at=local(4)
    )
    h.order(db, task, placed_at=local(4, 9, month=12) + timedelta(days=1))  # 31 days later: too late
    h.revisit(db, waiting, due_at=local(5))  # still pending
    h.revisit(db, opted_out, due_at=local(5), status="skipped", reason="opted out")

    result = values(db)
    assert (result["revisit_completion"].numerator, result["revisit_completion"].denominator) == (2, 3)
    assert result["revisit_repurchase"].value == Decimal("50.0")
    assert v(db, "revisit_completion", agent_id=x.id).value == Decimal("100.0")


def test_phrasing_effectiveness_overall_and_per_template(db):
    x = make_agent(db)
    asking, chasing = h.template(db), h.template(db, category="payment_reminder", title="催付")
    for i in range(3):
        h.usage(db, asking, used_at=local(6), agent=x, outcome_at=local(7) if i == 0 else None)
    h.usage(db, chasing, used_at=local(6), agent=x, outcome_at=local(6, 12))
    assert v(db, "phrasing_effect").value == Decimal("50.0")
    from app.metrics.dashboard import phrasing_table

    rows = {r.template_id: r for r in phrasing_table(db, period=NOVEMBER, scope=kpis.Scope())}
    assert (rows[asking.id].uses, rows[asking.id].outcomes) == (3, 1)
    assert rows[chasing.id].rate.value == Decimal("100.0")


def test_team_scope_sums_its_agents(db):
    team = make_team(db)
    x = make_agent(db, team=team.name)
    make_agent(db)
    customer = make_customer(db)
    h.ticket(db, customer, at=local(3), assignee=x)
    h.ticket(db, customer, at=local(3))
    assert v(db, "tickets_in", team_id=team.id).value == 1
    assert v(db, "tickets_in").value == 2


def test_store_scope(db):
    one, two = make_store(db), make_store(db)
    h.ticket(db, make_customer(db, store=one), at=local(3))
    h.ticket(db, make_customer(db, store=two), at=local(3))
    assert v(db, "tickets_in", store_id=one.id).value == 1


def test_funnel_and_heat_map_in_local_time(db):
    from app.metrics.dashboard import funnel, heat_map

    store = make_store(db)
    customer = make_customer(db, store=store)
    o = h.order(
        db, customer, placed_at=local(2), paid_at=local(2), shipped_at=local(3), delivered_at=local(5)
    )
    h.inquiry(db, customer, opened_at=local(1), status="won", won_order_id=o.id)
    h.inquiry(db, customer, opened_at=local(1))
    steps = dict(funnel(kpis.Figures(NOVEMBER, kpis.Scope(), kpis_rows(db, "funnel"))))
    assert steps["inquired"] == 2 and steps["ordered"] == 1 and steps["delivered"] == 1
    assert steps["confirmed"] == 0

    t = h.ticket(db, customer, at=local(2))
    h.message(db, t, "inbound", local(2, 23, 30))  # Monday 23:30 in Shanghai, 15:30 UTC
    h.message(db, t, "inbound", local(2, 23, 45))
    h.message(db, t, "inbound", local(3, 10, 5))  # Tuesday 10:05
    grid = heat_map(kpis.Figures(NOVEMBER, kpis.Scope(), kpis_rows(db, "inbound_hour")))
    assert date(2026, 11, 2).weekday() == 0
    # November 2026 has five Mondays and four Tuesdays: the grid is the average per day
    assert grid[0][23] == 0.4 and grid[1][10] == 0.2 and grid[0][22] == 0


def kpis_rows(db, family_name):
    from app.metrics.base import run
    from app.metrics.dialect import Sql

    family = next(f for f in kpis.families() if f.name == family_name)
    return run(db, family, Sql.for_session(db, NOVEMBER), kpis.Scope())


def test_daylight_saving_zone_gives_local_days_on_both_engines(db):
    customer = make_customer(db)
    berlin = Period(date(2026, 3, 28), date(2026, 3, 30), "Europe/Berlin")
    # 23:30 local on 29 March (summer time, UTC+2) is 21:30 UTC: still the 29th
    from datetime import UTC, datetime

    h.ticket(db, customer, at=datetime(2026, 3, 29, 21, 30, tzinfo=UTC))
    h.ticket(db, customer, at=datetime(2026, 3, 28, 22, 30, tzinfo=UTC))  # 23:30 winter time, 28th
    figures = kpis.Figures(berlin, kpis.Scope(), kpis_rows_for(db, "incoming", berlin))
    assert {d: s["tickets_in"] for d, s in figures.by_day.items()} == {
        date(2026, 3, 28): 1,
        date(2026, 3, 29): 1,
    }


def kpis_rows_for(db, family_name, period):
    from app.metrics.base import run
    from app.metrics.dialect import Sql

    family = next(f for f in kpis.families() if f.name == family_name)
    return run(db, family, Sql.for_session(db, period), kpis.Scope())


def test_each_store_uses_its_own_inquiry_window(db):
    short, long = make_store(db), make_store(db)
    short.inquiry_win_days, long.inquiry_win_days = 1, 10
    for store in (short, long):
        buyer = make_customer(db, store=store)
        h.inquiry(db, buyer, opened_at=local(5, 10))
        h.order(db, buyer, placed_at=local(9, 9), paid_at=local(9, 9))  # four days later
    assert v(db, "inquiry_conversion", store_id=short.id).value == Decimal("0.0")
    assert v(db, "inquiry_conversion", store_id=long.id).value == Decimal("100.0")
    assert v(db, "inquiry_conversion").value == Decimal("50.0")


def test_every_drill_down_lists_rows_on_this_engine(db):
    from app.metrics import drill
    from app.metrics.dialect import Sql

    h.desk(db)
    sql = Sql.for_session(db, NOVEMBER)
    for key, spec in drill.SPECS.items():
        found = drill.page(db, kpi=key, sql=sql, scope=kpis.Scope())
        if key in ("refunds", "cases"):  # the fixture has neither
            assert found.rows == [], key
            continue
        assert found.rows, key
        assert {c.key for c in spec.columns} <= set(found.rows[0]), key
    for key, kpi in KPIS.items():
        if kpi.drill:
            assert drill.spec_for(key).key == kpi.drill


def test_requests_in_several_threads_find_every_family_on_first_use(monkeypatch):
    """The component → family map is built whole before anyone reads it: a request arriving while
    another thread builds it (slowly here) finds every component, never a half-filled map. (The
    map filled in place gave KeyError: a 500 on /reports/me/targets in a browser test.)"""
    import threading
    import time

    real = kpis.families()
    first_started = threading.Event()

    def slow_families():  # the families one by one, a moment apart
        for fam in real:
            first_started.set()
            yield fam
            time.sleep(0.01)

    monkeypatch.setattr(kpis, "families", slow_families)
    kpis._family_map.cache_clear()
    last = real[-1].components[0]
    found: dict[str, object] = {}
    errors: list[BaseException] = []

    def look(name: str) -> None:
        try:
            found[name] = kpis.family_of(last)
        except BaseException as exc:  # noqa: BLE001 - what a request would have raised
            errors.append(exc)

    first = threading.Thread(target=look, args=("first",))
    first.start()
    assert first_started.wait(10)
    second = threading.Thread(target=look, args=("second",))
    second.start()
    first.join(10)
    second.join(10)
    kpis._family_map.cache_clear()
    assert errors == []
    assert found == {"first": real[-1], "second": real[-1]}
