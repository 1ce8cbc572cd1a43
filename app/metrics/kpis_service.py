"""Service KPI families over tickets and their messages: response times, reply rate, resolution,
SLA, reopens, incoming work (the weekday × hour heat map) and tickets per agent-hour.

Rules where the issue is silent:
- Only a *human* reply counts: an outbound message not marked `automated` (follow-up rules and
  other automation are excluded); internal notes never count.
- A question round starts at a buyer message after the previous human reply; its response time
  runs from the first buyer message of the round to the next human reply (whole seconds, wall
  clock — nights and holidays included). A round counts in the period it started in.
- 首次响应时间: the ticket's first round with a buyer message. p90 is the nearest-rank 90th
  percentile (the value at rank ⌈0.9·n⌉ in ascending order), in whole seconds.
- Response times are credited to the agent who replied; a round nobody answered, to the ticket's
  assignee. 回复率 = buyers (once per day) who got a human reply ÷ buyers who wrote.
- Resolution time, SLA attainment and reopen rate: tickets solved (or closed) in the period,
  credited to the assignee. SLA met = every target the ticket had was kept (the first response —
  or the solve, when it needed no reply — by first_response_due_at; the solve by resolution_due_at).
- Tickets per agent-hour: tickets an agent replied to (once per ticket per day) ÷ the clock hours
  in which they sent at least one reply (hours worked, as the desk sees them); counted per store,
  so an hour spent on two stores' tickets counts once for each.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.metrics.base import Family, Scope, count_if, sum_if
from app.metrics.dialect import Sql
from app.tickets.models import Ticket, TicketMessage

tickets = Ticket.__table__
messages = TicketMessage.__table__
SOLVED = ("solved", "closed")


def _human(m: Any = messages) -> Any:
    return sa.and_(m.c.direction == "outbound", m.c.automated.is_(sa.false()))


def rounds_subquery(sql: Sql, scope: Scope) -> Any:
    """Question rounds that started in the period, one row each: ticket, store, customer, asked_at,
    replied_at (None: unanswered), seconds, is_first, and the credited agent `a`."""
    m, t = messages, tickets
    active = sa.select(m.c.ticket_id).where(m.c.direction == "inbound", sql.within(m.c.created_at)).distinct()
    human = sa.case((_human(m), 1), else_=0)
    numbered = (
        sa.select(
            m.c.ticket_id,
            m.c.created_at,
            m.c.direction,
            m.c.author_id,
            human.label("h"),
            (
                sa.func.sum(human).over(partition_by=m.c.ticket_id, order_by=(m.c.created_at, m.c.id)) - human
            ).label("rn"),
        )
        .where(m.c.ticket_id.in_(active), m.c.direction != "note")
        .subquery("numbered")
    )
    n = numbered
    per_round = (
        sa.select(
            n.c.ticket_id,
            n.c.rn,
            sa.func.min(sa.case((n.c.direction == "inbound", n.c.created_at))).label("asked_at"),
            sa.func.min(sa.case((n.c.h == 1, n.c.created_at))).label("replied_at"),
            sa.func.max(sa.case((n.c.h == 1, n.c.author_id))).label("replier"),
        )
        .group_by(n.c.ticket_id, n.c.rn)
        .subquery("per_round")
    )
    r = per_round
    asked = (
        sa.select(
            r.c.ticket_id,
            r.c.asked_at,
            r.c.replied_at,
            r.c.replier,
            (r.c.rn == sa.func.min(r.c.rn).over(partition_by=r.c.ticket_id)).label("is_first"),
        )
        .where(r.c.asked_at.is_not(None))
        .subquery("asked")
    )
    q = asked
    credited = sa.func.coalesce(q.c.replier, t.c.assignee_id)
    return (
        sa.select(
            q.c.ticket_id,
            q.c.asked_at,
            q.c.replied_at,
            q.c.is_first,
            t.c.store_id.label("s"),
            t.c.customer_id.label("c"),
            credited.label("a"),
            sql.local_day(q.c.asked_at).label("d"),
            sql.seconds(q.c.asked_at, q.c.replied_at).label("secs"),
        )
        .select_from(q.join(t, t.c.id == q.c.ticket_id))
        .where(sql.within(q.c.asked_at), *scope.where(store=t.c.store_id, agent=credited))
        .subquery("rounds")
    )


def _responses(sql: Sql, scope: Scope) -> Any:
    r = rounds_subquery(sql, scope)
    replied = r.c.replied_at.is_not(None)
    first_replied = sa.and_(r.c.is_first == sa.true(), replied)
    per_buyer = (
        sa.select(
            r.c.d,
            r.c.s,
            r.c.a,
            r.c.c,
            count_if(replied).label("round_n"),
            sum_if(replied, r.c.secs).label("round_secs"),
            count_if(first_replied).label("first_n"),
            sum_if(first_replied, r.c.secs).label("first_secs"),
            sa.func.max(sa.case((replied, 1), else_=0)).label("got"),
        )
        .group_by(r.c.d, r.c.s, r.c.a, r.c.c)
        .subquery("per_buyer")
    )
    p = per_buyer
    return sa.select(
        p.c.d,
        p.c.s,
        p.c.a,
        sa.func.sum(p.c.round_n).label("round_n"),
        sa.func.sum(p.c.round_secs).label("round_secs"),
        sa.func.sum(p.c.first_n).label("first_n"),
        sa.func.sum(p.c.first_secs).label("first_secs"),
        sa.func.count().label("buyers_wrote"),
        sa.func.sum(p.c.got).label("buyers_replied"),
    ).group_by(p.c.d, p.c.s, p.c.a)


def _first_response_histogram(sql: Sql, scope: Scope) -> Any:
    r = rounds_subquery(sql, scope)
    return (
        sa.select(r.c.d, r.c.s, r.c.a, r.c.secs.label("b"), sa.func.count().label("first_hist"))
        .where(r.c.is_first == sa.true(), r.c.replied_at.is_not(None))
        .group_by(r.c.d, r.c.s, r.c.a, r.c.secs)
    )


def _solved(sql: Sql, scope: Scope) -> Any:
    t = tickets
    first_met = sa.or_(
        t.c.first_response_due_at.is_(None),
        sa.func.coalesce(t.c.first_response_at, t.c.solved_at) <= t.c.first_response_due_at,
    )
    resolution_met = sa.or_(t.c.resolution_due_at.is_(None), t.c.solved_at <= t.c.resolution_due_at)
    has_target = sa.or_(t.c.first_response_due_at.is_not(None), t.c.resolution_due_at.is_not(None))
    return (
        sa.select(
            sql.local_day(t.c.solved_at).label("d"),
            t.c.store_id.label("s"),
            t.c.assignee_id.label("a"),
            sa.func.count().label("solved_n"),
            sa.func.sum(sql.seconds(t.c.created_at, t.c.solved_at)).label("resolve_secs"),
            count_if(t.c.reopened_count > 0).label("reopened_n"),
            count_if(has_target).label("sla_due"),
            count_if(sa.and_(has_target, first_met, resolution_met)).label("sla_met"),
        )
        .where(
            sql.within(t.c.solved_at),
            sql.unselective(t.c.status.in_(SOLVED)),
            *scope.where(store=t.c.store_id, agent=t.c.assignee_id),
        )
        .group_by("d", "s", "a")
    )


def _incoming(sql: Sql, scope: Scope) -> Any:
    t = tickets
    return (
        sa.select(
            sql.local_day(t.c.created_at).label("d"),
            t.c.store_id.label("s"),
            t.c.assignee_id.label("a"),
            sa.func.count().label("tickets_in"),
        )
        .where(sql.within(t.c.created_at), *scope.where(store=t.c.store_id, agent=t.c.assignee_id))
        .group_by("d", "s", "a")
    )


def _inbound_by_hour(sql: Sql, scope: Scope) -> Any:
    m, t = messages, tickets
    return (
        sa.select(
            sql.local_day(m.c.created_at).label("d"),
            t.c.store_id.label("s"),
            t.c.assignee_id.label("a"),
            sql.local_hour(m.c.created_at).label("b"),
            sa.func.count().label("inbound_hour"),
        )
        .select_from(m.join(t, t.c.id == m.c.ticket_id))
        .where(
            m.c.direction == "inbound",
            sql.within(m.c.created_at),
            *scope.where(store=t.c.store_id, agent=t.c.assignee_id),
        )
        .group_by("d", "s", "a", "b")
    )


def _workload(sql: Sql, scope: Scope) -> Any:
    m, t = messages, tickets
    replies = (
        sa.select(
            sql.local_day(m.c.created_at).label("d"),
            t.c.store_id.label("s"),
            m.c.author_id.label("a"),
            sql.local_hour(m.c.created_at).label("h"),
            m.c.ticket_id,
        )
        .select_from(m.join(t, t.c.id == m.c.ticket_id))
        .where(
            _human(m),
            m.c.author_id.is_not(None),
            sql.within(m.c.created_at),
            *scope.where(store=t.c.store_id, agent=m.c.author_id),
        )
        .subquery("replies")
    )
    r = replies
    return sa.select(
        r.c.d,
        r.c.s,
        r.c.a,
        sa.func.count(sa.distinct(r.c.ticket_id)).label("handled_tickets"),
        sa.func.count(sa.distinct(r.c.h)).label("active_hours"),
    ).group_by(r.c.d, r.c.s, r.c.a)


FAMILIES = (
    Family(
        "responses",
        ("round_n", "round_secs", "first_n", "first_secs", "buyers_wrote", "buyers_replied"),
        _responses,
    ),
    Family("first_hist", ("first_hist",), _first_response_histogram, histogram=True),
    Family("solved", ("solved_n", "resolve_secs", "reopened_n", "sla_due", "sla_met"), _solved),
    Family("incoming", ("tickets_in",), _incoming),
    Family("inbound_hour", ("inbound_hour",), _inbound_by_hour, histogram=True),
    Family("workload", ("handled_tickets", "active_hours"), _workload),
)
