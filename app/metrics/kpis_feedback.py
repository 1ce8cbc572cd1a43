"""Satisfaction, after-sales, revisit and phrasing KPI families.

Rules where the issue is silent:
- CSAT (reviews.CsatSurvey, credited to the survey's agent): the average and the share rating 4–5
  are over surveys answered in the period; the response rate is surveys sent in the period that
  have been answered ÷ surveys sent in the period.
- 好评率 = good ÷ all reviews posted in the period (by their grade); credited to the agent who
  assisted the reviewed order. A 差评 is *recovered* when, after it was posted, the same buyer
  posted a good review in that store, or rated a CSAT survey 4 or 5 (the contact that followed).
- After-sales handling time: from the request to its outcome (refunded / exchanged / resent), or
  to the rejection, for cases finished in the period. In the buyer's favour: cases decided
  (approved or rejected) in the period that were approved. Both credited to the agent who decided.
- 回访完成率: revisits due in the period and not skipped by a rule (opt-out, caps) that were done:
  an automatic message sent, or a revisit task whose ticket got a human reply or was solved after
  the task was created. Credited to the task ticket's assignee. Repurchase: done revisits whose
  buyer placed an order within 30 days after the revisit ÷ done revisits.
- Phrasing effectiveness: uses (sent or copied) in the period whose purpose followed (the
  usage's recorded outcome: reviewed / paid / won / replied) ÷ uses; per template and overall.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.aftersales.models import AftersalesCase, CaseHistoryEntry
from app.followups.models import Followup
from app.metrics.base import Family, Scope, count_if
from app.metrics.dialect import Sql
from app.orders.models import Order
from app.phrasing.models import PhrasingUsage
from app.reviews.models import CsatSurvey, Review
from app.tickets.models import Ticket, TicketMessage

surveys = CsatSurvey.__table__
reviews = Review.__table__
orders = Order.__table__
cases = AftersalesCase.__table__
history = CaseHistoryEntry.__table__
followups = Followup.__table__
tickets = Ticket.__table__
messages = TicketMessage.__table__
usages = PhrasingUsage.__table__
REPURCHASE_DAYS = 30


def _csat_sent(sql: Sql, scope: Scope) -> Any:
    c = surveys
    return (
        sa.select(
            sql.local_day(c.c.sent_at).label("d"),
            c.c.store_id.label("s"),
            c.c.agent_id.label("a"),
            sa.func.count().label("csat_sent"),
            count_if(c.c.answered_at.is_not(None)).label("csat_sent_answered"),
        )
        .where(sql.within(c.c.sent_at), *scope.where(store=c.c.store_id, agent=c.c.agent_id))
        .group_by("d", "s", "a")
    )


def _csat_answered(sql: Sql, scope: Scope) -> Any:
    c = surveys
    return (
        sa.select(
            sql.local_day(c.c.answered_at).label("d"),
            c.c.store_id.label("s"),
            c.c.agent_id.label("a"),
            sa.func.count().label("csat_answered"),
            sa.func.sum(c.c.rating).label("csat_sum"),
            count_if(c.c.rating >= 4).label("csat_happy"),
        )
        .where(
            sql.within(c.c.answered_at),
            c.c.rating.is_not(None),
            *scope.where(store=c.c.store_id, agent=c.c.agent_id),
        )
        .group_by("d", "s", "a")
    )


def _reviews(sql: Sql, scope: Scope) -> Any:
    r, o = reviews, orders
    later = reviews.alias("later")
    recovered = sa.or_(
        sa.select(sa.literal(1))
        .where(
            later.c.store_id == r.c.store_id,
            later.c.customer_id == r.c.customer_id,
            later.c.grade == "good",
            later.c.posted_at > r.c.posted_at,
        )
        .exists(),
        sa.select(sa.literal(1))
        .where(
            surveys.c.customer_id == r.c.customer_id,
            surveys.c.rating >= 4,
            surveys.c.answered_at > r.c.posted_at,
        )
        .exists(),
    )
    bad = r.c.grade == "bad"
    agent = o.c.assisted_by_id
    return (
        sa.select(
            sql.local_day(r.c.posted_at).label("d"),
            r.c.store_id.label("s"),
            agent.label("a"),
            sa.func.count().label("reviews_all"),
            count_if(r.c.grade == "good").label("reviews_good"),
            count_if(bad).label("reviews_bad"),
            count_if(sa.and_(bad, recovered)).label("reviews_bad_recovered"),
        )
        .select_from(r.outerjoin(o, o.c.id == r.c.order_id))
        .where(sql.within(r.c.posted_at), *scope.where(store=r.c.store_id, agent=agent))
        .group_by("d", "s", "a")
    )


def _decider(c: Any = cases) -> Any:
    """The agent who approved or rejected the case (its first decision by an agent)."""
    return (
        sa.select(history.c.actor_id)
        .where(
            history.c.case_id == c.c.id,
            history.c.to_state.in_(("approved", "rejected")),
            history.c.actor_type == "agent",
        )
        .order_by(history.c.id)
        .limit(1)
        .correlate(c)
        .scalar_subquery()
    )


def _per_case(sql: Sql, scope: Scope, anchor: Any, condition: Any, *columns: Any) -> Any:
    """One row per case (day, store, deciding agent, columns), grouped by the caller: the deciding
    agent is a correlated subquery, which PostgreSQL will not group by directly."""
    c = cases
    decider = _decider(c)
    return (
        sa.select(sql.local_day(anchor).label("d"), c.c.store_id.label("s"), decider.label("a"), *columns)
        .where(condition, *scope.where(store=c.c.store_id, agent=decider))
        .subquery("per_case")
    )


def _cases_decided(sql: Sql, scope: Scope) -> Any:
    c = cases
    favour = sa.case((c.c.state != "rejected", 1), else_=0).label("favour")
    p = _per_case(sql, scope, c.c.decided_at, sql.within(c.c.decided_at), favour)
    return sa.select(
        p.c.d,
        p.c.s,
        p.c.a,
        sa.func.count().label("case_decided"),
        sa.func.sum(p.c.favour).label("case_favour"),
    ).group_by(p.c.d, p.c.s, p.c.a)


def _cases_finished(sql: Sql, scope: Scope) -> Any:
    c = cases
    rejected = sa.and_(c.c.resolved_at.is_(None), c.c.decided_in_buyer_favour.is_(sa.false()))
    finished_at = sa.case((rejected, c.c.decided_at), else_=c.c.resolved_at)
    condition = sa.or_(sql.within(c.c.resolved_at), sa.and_(rejected, sql.within(c.c.decided_at)))
    secs = sql.seconds(c.c.requested_at, finished_at).label("secs")
    p = _per_case(sql, scope, finished_at, condition, secs)
    return sa.select(
        p.c.d, p.c.s, p.c.a, sa.func.count().label("case_done"), sa.func.sum(p.c.secs).label("case_secs")
    ).group_by(p.c.d, p.c.s, p.c.a)


def _revisits(sql: Sql, scope: Scope) -> Any:
    f, t, m, o = followups, tickets, messages, orders
    replied_after = (
        sa.select(sa.literal(1))
        .where(
            m.c.ticket_id == f.c.ticket_id,
            m.c.direction == "outbound",
            m.c.automated.is_(sa.false()),
            m.c.created_at >= f.c.handled_at,
        )
        .exists()
    )
    done = sa.and_(
        f.c.status == "done",
        sa.or_(f.c.outcome == "sent", replied_after, t.c.solved_at >= f.c.handled_at),
    )
    repurchased = (
        sa.select(sa.literal(1))
        .where(
            o.c.customer_id == f.c.customer_id,
            o.c.placed_at > f.c.handled_at,
            sql.seconds(f.c.handled_at, o.c.placed_at) <= REPURCHASE_DAYS * 86400,
        )
        .exists()
    )
    agent = t.c.assignee_id
    return (
        sa.select(
            sql.local_day(f.c.due_at).label("d"),
            f.c.store_id.label("s"),
            agent.label("a"),
            sa.func.count().label("revisit_due"),
            count_if(done).label("revisit_done"),
            count_if(sa.and_(done, repurchased)).label("revisit_repurchased"),
        )
        .select_from(f.outerjoin(t, t.c.id == f.c.ticket_id))
        .where(
            f.c.kind == "revisit",
            f.c.status != "skipped",
            sql.within(f.c.due_at),
            *scope.where(store=f.c.store_id, agent=agent),
        )
        .group_by("d", "s", "a")
    )


def _usage_query(sql: Sql, scope: Scope, *columns: Any) -> Any:
    u, t = usages, tickets
    return (
        sa.select(
            sql.local_day(u.c.used_at).label("d"),
            t.c.store_id.label("s"),
            u.c.agent_id.label("a"),
            *columns,
        )
        .select_from(u.outerjoin(t, t.c.id == u.c.ticket_id))
        .where(sql.within(u.c.used_at), *scope.where(store=t.c.store_id, agent=u.c.agent_id))
    )


def _usage(sql: Sql, scope: Scope) -> Any:
    has_outcome = usages.c.outcome_at.is_not(None)
    return _usage_query(
        sql, scope, sa.func.count().label("usage_n"), count_if(has_outcome).label("usage_outcome")
    ).group_by("d", "s", "a")


def _usage_by_template(sql: Sql, scope: Scope) -> Any:
    return _usage_query(
        sql, scope, usages.c.template_id.label("b"), sa.func.count().label("template_uses")
    ).group_by("d", "s", "a", "b")


def _outcomes_by_template(sql: Sql, scope: Scope) -> Any:
    return (
        _usage_query(sql, scope, usages.c.template_id.label("b"), sa.func.count().label("template_outcomes"))
        .where(usages.c.outcome_at.is_not(None))
        .group_by("d", "s", "a", "b")
    )


FAMILIES = (
    Family("csat_sent", ("csat_sent", "csat_sent_answered"), _csat_sent),
    Family("csat_answered", ("csat_answered", "csat_sum", "csat_happy"), _csat_answered),
    Family("reviews", ("reviews_all", "reviews_good", "reviews_bad", "reviews_bad_recovered"), _reviews),
    Family("cases_decided", ("case_decided", "case_favour"), _cases_decided),
    Family("cases_finished", ("case_done", "case_secs"), _cases_finished),
    Family("revisits", ("revisit_due", "revisit_done", "revisit_repurchased"), _revisits),
    Family("usage", ("usage_n", "usage_outcome"), _usage),
    Family("template_uses", ("template_uses",), _usage_by_template, histogram=True),
    Family("template_outcomes", ("template_outcomes",), _outcomes_by_template, histogram=True),
)
