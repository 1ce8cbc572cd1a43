"""The KPI registry: every KPI's label, formula (shown beside the number), unit, direction, the
components it is computed from and the rows behind it. English msgids; the UI translates them."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from app.i18n import N_

UNITS = ("percent", "seconds", "money", "count", "score", "ratio")
AREAS: dict[str, str] = {
    "sales": N_("Sales"),
    "service": N_("Service"),
    "satisfaction": N_("Satisfaction"),
    "aftersales": N_("After-sales"),
    "revisits": N_("Revisits and phrasing"),
    "workload": N_("Workload and quality"),
}


@dataclass(frozen=True)
class KpiDef:
    key: str
    label: str  # English msgid
    formula: str  # English msgid: the definition shown beside the number
    unit: str
    higher_is_better: bool
    area: str
    num: str | None = None  # component summed for the numerator (or the total)
    den: str | None = None  # component summed for the denominator; None: a total
    kind: str = "ratio"  # ratio | total | p90 | external
    drill: str | None = None  # the rows behind it (app.metrics.drill)


@dataclass(frozen=True)
class KpiValue:
    value: Decimal | None
    numerator: Decimal | int | None
    denominator: Decimal | int | None
    unit: str = "count"


def _k(*args: Any, **kwargs: Any) -> KpiDef:
    return KpiDef(*args, **kwargs)


KPIS: dict[str, KpiDef] = {
    k.key: k
    for k in (
        # --- sales ---------------------------------------------------------------------------
        _k(
            "inquiry_conversion",
            N_("Inquiry conversion (询单转化率)"),
            N_(
                "Buyers who inquired and then paid within the store's inquiry window ÷ buyers who "
                "inquired (a buyer counts once a day, for the agent who handled the inquiry)"
            ),
            "percent",
            True,
            "sales",
            "inq_converted",
            "inq_buyers",
            drill="inquiries",
        ),
        _k(
            "agent_sales",
            N_("Agent-assisted sales (客服销售额)"),
            N_("Total of orders credited to an agent, paid in the period (gross of refunds)"),
            "money",
            True,
            "sales",
            "sales_cents",
            kind="total",
            drill="sales",
        ),
        _k(
            "avg_order_value",
            N_("Average order value (客单价)"),
            N_("Agent-assisted sales ÷ buyers who paid them (once a day)"),
            "money",
            True,
            "sales",
            "sales_cents",
            "sales_buyers",
            drill="sales",
        ),
        _k(
            "bargain_success",
            N_("Bargaining success (议价成功率)"),
            N_("Bargained inquiries closed as won ÷ bargained inquiries closed (won or lost) in the period"),
            "percent",
            True,
            "sales",
            "bargain_won",
            "bargain_closed",
            drill="bargaining",
        ),
        _k(
            "avg_discount",
            N_("Average discount"),
            N_("1 − agreed price ÷ list price, over bargained lines of assisted orders paid in the period"),
            "percent",
            False,
            "sales",
            "discount_cents",
            "list_cents",
            drill="sales",
        ),
        # --- service -------------------------------------------------------------------------
        _k(
            "first_response_avg",
            N_("First response time (首次响应时间), average"),
            N_(
                "Mean time from a ticket's first buyer message to the first human reply "
                "(automatic messages excluded)"
            ),
            "seconds",
            False,
            "service",
            "first_secs",
            "first_n",
            drill="responses",
        ),
        _k(
            "first_response_p90",
            N_("First response time, p90"),
            N_("90 % of first human replies came within this time (nearest rank, whole seconds)"),
            "seconds",
            False,
            "service",
            "first_hist",
            kind="p90",
            drill="responses",
        ),
        _k(
            "avg_response",
            N_("Average response time (平均响应时间)"),
            N_("Mean time from a buyer's question to the next human reply, over every answered question"),
            "seconds",
            False,
            "service",
            "round_secs",
            "round_n",
            drill="responses",
        ),
        _k(
            "reply_rate",
            N_("Reply rate (回复率)"),
            N_("Buyers who got a human reply ÷ buyers who wrote (once a day)"),
            "percent",
            True,
            "service",
            "buyers_replied",
            "buyers_wrote",
            drill="responses",
        ),
        _k(
            "resolution_time",
            N_("Resolution time"),
            N_("Mean time from a ticket's creation to its solve, over tickets solved in the period"),
            "seconds",
            False,
            "service",
            "resolve_secs",
            "solved_n",
            drill="solved",
        ),
        _k(
            "sla_attainment",
            N_("SLA attainment"),
            N_("Solved tickets that kept every SLA target they had ÷ solved tickets with a target"),
            "percent",
            True,
            "service",
            "sla_met",
            "sla_due",
            drill="solved",
        ),
        _k(
            "reopen_rate",
            N_("Reopen rate"),
            N_("Tickets solved in the period that had been reopened ÷ tickets solved in the period"),
            "percent",
            False,
            "service",
            "reopened_n",
            "solved_n",
            drill="solved",
        ),
        # --- satisfaction --------------------------------------------------------------------
        _k(
            "csat_avg",
            N_("CSAT, average rating"),
            N_("Mean rating (1–5) of surveys answered in the period"),
            "score",
            True,
            "satisfaction",
            "csat_sum",
            "csat_answered",
            drill="csat",
        ),
        _k(
            "csat_satisfied",
            N_("CSAT, satisfied (4–5)"),
            N_("Surveys rated 4 or 5 ÷ surveys answered in the period"),
            "percent",
            True,
            "satisfaction",
            "csat_happy",
            "csat_answered",
            drill="csat",
        ),
        _k(
            "csat_response_rate",
            N_("CSAT response rate"),
            N_("Surveys sent in the period and answered ÷ surveys sent in the period"),
            "percent",
            True,
            "satisfaction",
            "csat_sent_answered",
            "csat_sent",
            drill="csat",
        ),
        _k(
            "good_review_rate",
            N_("Good review rate (好评率)"),
            N_("Good reviews ÷ all reviews posted in the period"),
            "percent",
            True,
            "satisfaction",
            "reviews_good",
            "reviews_all",
            drill="reviews",
        ),
        _k(
            "bad_reviews",
            N_("Bad reviews (差评)"),
            N_("Bad reviews posted in the period"),
            "count",
            False,
            "satisfaction",
            "reviews_bad",
            kind="total",
            drill="bad_reviews",
        ),
        _k(
            "bad_review_recovery",
            N_("Bad reviews recovered"),
            N_(
                "Bad reviews followed by the same buyer's good review or a CSAT rating of 4–5 "
                "÷ bad reviews posted in the period"
            ),
            "percent",
            True,
            "satisfaction",
            "reviews_bad_recovered",
            "reviews_bad",
            drill="bad_reviews",
        ),
        # --- after-sales ---------------------------------------------------------------------
        _k(
            "refund_rate",
            N_("Refund rate (退款率)"),
            N_("Orders paid in the period that have a refund ÷ orders paid in the period"),
            "percent",
            False,
            "aftersales",
            "orders_refunded",
            "orders_paid",
            drill="refunds",
        ),
        _k(
            "aftersales_time",
            N_("After-sales handling time"),
            N_("Mean time from a case's request to its outcome or rejection, over cases finished then"),
            "seconds",
            False,
            "aftersales",
            "case_secs",
            "case_done",
            drill="cases",
        ),
        _k(
            "buyer_favour",
            N_("Decided in the buyer's favour"),
            N_("Cases approved ÷ cases decided (approved or rejected) in the period"),
            "percent",
            True,
            "aftersales",
            "case_favour",
            "case_decided",
            drill="cases",
        ),
        # --- revisits and phrasing -------------------------------------------------------------
        _k(
            "revisit_completion",
            N_("Revisit completion (回访完成率)"),
            N_(
                "Revisits due in the period that were done (message sent, or the task answered or "
                "solved) ÷ revisits due (not skipped by opt-out or caps)"
            ),
            "percent",
            True,
            "revisits",
            "revisit_done",
            "revisit_due",
            drill="revisits",
        ),
        _k(
            "revisit_repurchase",
            N_("Repurchase within 30 days of a revisit"),
            N_("Done revisits whose buyer ordered within 30 days after ÷ done revisits"),
            "percent",
            True,
            "revisits",
            "revisit_repurchased",
            "revisit_done",
            drill="revisits",
        ),
        _k(
            "phrasing_effect",
            N_("Phrasing effectiveness"),
            N_(
                "Phrasing uses followed by what they were for (review, payment, win, reply) "
                "÷ phrasing uses in the period"
            ),
            "percent",
            True,
            "revisits",
            "usage_outcome",
            "usage_n",
            drill="phrasing",
        ),
        # --- workload and quality --------------------------------------------------------------
        _k(
            "tickets_in",
            N_("New tickets"),
            N_("Tickets created in the period"),
            "count",
            True,
            "workload",
            "tickets_in",
            kind="total",
            drill="incoming",
        ),
        _k(
            "tickets_solved",
            N_("Solved tickets"),
            N_("Tickets solved in the period"),
            "count",
            True,
            "workload",
            "solved_n",
            kind="total",
            drill="solved",
        ),
        _k(
            "tickets_per_hour",
            N_("Tickets per agent-hour"),
            N_("Tickets an agent replied to (once a day) ÷ clock hours in which they sent a reply"),
            "ratio",
            True,
            "workload",
            "handled_tickets",
            "active_hours",
            drill="workload",
        ),
        _k(
            "qa_score",
            N_("Quality score (质检)"),
            N_(
                "Mean quality-inspection score of the inspected tickets solved in the period "
                "(0–100; fatal items score 0)"
            ),
            "score",
            True,
            "workload",
            kind="external",
        ),
    )
}
