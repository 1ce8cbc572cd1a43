"""What each drill-down lists: the query behind a KPI's number (same anchor day, same credited
agent) and the columns shown. Used by app.metrics.drill."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from app.accounts.models import Agent
from app.customers.models import Customer
from app.i18n import N_
from app.metrics import kpis_feedback as fb
from app.metrics import kpis_sales as sales
from app.metrics import kpis_service as service
from app.metrics.base import Scope, cents
from app.metrics.dialect import Sql
from app.phrasing.models import PhrasingTemplate

customers = Customer.__table__
agents = Agent.__table__
templates = PhrasingTemplate.__table__


@dataclass(frozen=True)
class Column:
    key: str
    label: str  # English msgid
    kind: str = "text"  # text | time | money | number


@dataclass(frozen=True)
class DrillSpec:
    key: str
    title: str  # English msgid
    link: str  # "/tickets/{id}" …; "" for no detail page
    columns: tuple[Column, ...]
    build: Callable[[Sql, Scope], Any]  # a select with `id` and the columns' keys
    id_column: Callable[[], Any]


def _customer(column: Any) -> Any:
    return sa.select(customers.c.nickname).where(customers.c.id == column).scalar_subquery()


def _agent(column: Any) -> Any:
    return sa.select(agents.c.display_name).where(agents.c.id == column).scalar_subquery()


T = service.tickets
TICKET_COLUMNS = (
    Column("id", N_("Ticket")),
    Column("subject", N_("Subject")),
    Column("customer", N_("Buyer")),
    Column("agent", N_("Agent")),
    Column("status", N_("Status")),
    Column("created_at", N_("Created"), "time"),
    Column("first_response_at", N_("First response"), "time"),
    Column("solved_at", N_("Solved"), "time"),
)


def _tickets(condition: Callable[[Sql], Any], agent: Any = None) -> Callable[[Sql, Scope], Any]:
    def build(sql: Sql, scope: Scope) -> Any:
        credited = T.c.assignee_id if agent is None else agent
        return sa.select(
            T.c.id,
            T.c.subject,
            _customer(T.c.customer_id).label("customer"),
            _agent(T.c.assignee_id).label("agent"),
            T.c.status,
            T.c.created_at,
            T.c.first_response_at,
            T.c.solved_at,
        ).where(condition(sql), *scope.where(store=T.c.store_id, agent=credited))

    return build


def _asked_in(sql: Sql) -> Any:
    m = service.messages
    return T.c.id.in_(sa.select(m.c.ticket_id).where(m.c.direction == "inbound", sql.within(m.c.created_at)))


def _replied_in(sql: Sql) -> Any:
    m = service.messages
    return T.c.id.in_(
        sa.select(m.c.ticket_id).where(
            m.c.direction == "outbound", m.c.automated.is_(sa.false()), sql.within(m.c.created_at)
        )
    )


def _responses(sql: Sql, scope: Scope) -> Any:
    """Tickets with a buyer message in the period, credited like the response KPIs: to the agent
    who replied, and to the assignee for what nobody answered."""
    query = _tickets(_asked_in)(sql, Scope(store_id=scope.store_id))
    people = Scope(team_id=scope.team_id, agent_id=scope.agent_id)
    if people == Scope():
        return query
    m = service.messages
    replied = sa.select(m.c.ticket_id).where(
        m.c.direction == "outbound",
        m.c.automated.is_(sa.false()),
        m.c.created_at >= sql.start(),
        *people.where(store=None, agent=m.c.author_id),
    )
    return query.where(sa.or_(T.c.id.in_(replied), sa.and_(*people.where(store=None, agent=T.c.assignee_id))))


ORD = sales.orders
ORDER_COLUMNS = (
    Column("number", N_("Order")),
    Column("customer", N_("Buyer")),
    Column("agent", N_("Agent")),
    Column("stage", N_("Stage")),
    Column("paid_at", N_("Paid"), "time"),
    Column("total", N_("Total"), "money"),
    Column("refunded", N_("Refunded"), "money"),
)


def _orders(extra: Callable[[], list[Any]]) -> Callable[[Sql, Scope], Any]:
    def build(sql: Sql, scope: Scope) -> Any:
        return sa.select(
            ORD.c.id,
            ORD.c.number,
            _customer(ORD.c.customer_id).label("customer"),
            _agent(ORD.c.assisted_by_id).label("agent"),
            ORD.c.stage,
            ORD.c.paid_at,
            cents(ORD.c.total).label("total"),
            cents(ORD.c.refunded_amount).label("refunded"),
        ).where(
            sql.within(ORD.c.paid_at),
            *extra(),
            *scope.where(store=ORD.c.store_id, agent=ORD.c.assisted_by_id),
        )

    return build


INQ = sales.inquiries
INQUIRY_COLUMNS = (
    Column("id", N_("Inquiry")),
    Column("customer", N_("Buyer")),
    Column("agent", N_("Agent")),
    Column("status", N_("Status")),
    Column("opened_at", N_("Opened"), "time"),
    Column("closed_at", N_("Closed"), "time"),
)


def _inquiries(anchor: str, extra: Callable[[], list[Any]]) -> Callable[[Sql, Scope], Any]:
    def build(sql: Sql, scope: Scope) -> Any:
        return sa.select(
            INQ.c.id,
            _customer(INQ.c.customer_id).label("customer"),
            _agent(INQ.c.agent_id).label("agent"),
            INQ.c.status,
            INQ.c.opened_at,
            INQ.c.closed_at,
        ).where(sql.within(INQ.c[anchor]), *extra(), *scope.where(store=INQ.c.store_id, agent=INQ.c.agent_id))

    return build


def _bargained() -> list[Any]:
    r = sales.rounds
    return [
        INQ.c.status.in_(("won", "lost")),
        sa.select(sa.literal(1)).where(r.c.inquiry_id == INQ.c.id).exists(),
    ]


def _surveys(sql: Sql, scope: Scope) -> Any:
    c = fb.surveys
    return sa.select(
        c.c.id,
        c.c.ticket_id,
        _customer(c.c.customer_id).label("customer"),
        _agent(c.c.agent_id).label("agent"),
        c.c.sent_at,
        c.c.rating,
        c.c.answered_at,
        c.c.comment,
    ).where(
        sa.or_(sql.within(c.c.sent_at), sql.within(c.c.answered_at)),
        *scope.where(store=c.c.store_id, agent=c.c.agent_id),
    )


def _reviews(only_bad: bool) -> Callable[[Sql, Scope], Any]:
    def build(sql: Sql, scope: Scope) -> Any:
        r, o = fb.reviews, fb.orders
        query = (
            sa.select(
                r.c.id,
                _customer(r.c.customer_id).label("customer"),
                _agent(o.c.assisted_by_id).label("agent"),
                r.c.grade,
                r.c.rating,
                r.c.posted_at,
                r.c.text,
            )
            .select_from(r.outerjoin(o, o.c.id == r.c.order_id))
            .where(sql.within(r.c.posted_at), *scope.where(store=r.c.store_id, agent=o.c.assisted_by_id))
        )
        return query.where(r.c.grade == "bad") if only_bad else query

    return build


def _cases(sql: Sql, scope: Scope) -> Any:
    c = fb.cases
    decider = fb._decider(c)
    return sa.select(
        c.c.id,
        _customer(c.c.customer_id).label("customer"),
        _agent(decider).label("agent"),
        c.c.kind,
        c.c.state,
        c.c.requested_at,
        c.c.decided_at,
        c.c.resolved_at,
    ).where(
        sa.or_(sql.within(c.c.decided_at), sql.within(c.c.resolved_at)),
        *scope.where(store=c.c.store_id, agent=decider),
    )


def _revisits(sql: Sql, scope: Scope) -> Any:
    f, t = fb.followups, fb.tickets
    return (
        sa.select(
            f.c.id,
            f.c.ticket_id,
            _customer(f.c.customer_id).label("customer"),
            _agent(t.c.assignee_id).label("agent"),
            f.c.action,
            f.c.status,
            f.c.due_at,
            f.c.handled_at,
        )
        .select_from(f.outerjoin(t, t.c.id == f.c.ticket_id))
        .where(
            f.c.kind == "revisit",
            f.c.status != "skipped",
            sql.within(f.c.due_at),
            *scope.where(store=f.c.store_id, agent=t.c.assignee_id),
        )
    )


def _usages(sql: Sql, scope: Scope) -> Any:
    u, t = fb.usages, fb.tickets
    return (
        sa.select(
            u.c.id,
            u.c.ticket_id,
            sa.select(templates.c.title)
            .where(templates.c.id == u.c.template_id)
            .scalar_subquery()
            .label("title"),
            u.c.category,
            _agent(u.c.agent_id).label("agent"),
            u.c.used_at,
            u.c.outcome,
        )
        .select_from(u.outerjoin(t, t.c.id == u.c.ticket_id))
        .where(sql.within(u.c.used_at), *scope.where(store=t.c.store_id, agent=u.c.agent_id))
    )


SPECS: dict[str, DrillSpec] = {
    s.key: s
    for s in (
        DrillSpec(
            "responses",
            N_("Tickets with a buyer message in the period"),
            "/tickets/{id}",
            TICKET_COLUMNS,
            _responses,
            lambda: T.c.id,
        ),
        DrillSpec(
            "solved",
            N_("Tickets solved in the period"),
            "/tickets/{id}",
            TICKET_COLUMNS,
            _tickets(
                lambda sql: sa.and_(
                    sql.within(T.c.solved_at), sql.unselective(T.c.status.in_(service.SOLVED))
                )
            ),
            lambda: T.c.id,
        ),
        DrillSpec(
            "incoming",
            N_("Tickets created in the period"),
            "/tickets/{id}",
            TICKET_COLUMNS,
            _tickets(lambda sql: sql.within(T.c.created_at)),
            lambda: T.c.id,
        ),
        DrillSpec(
            "workload",
            N_("Tickets with a human reply in the period"),
            "/tickets/{id}",
            TICKET_COLUMNS,
            _tickets(_replied_in),
            lambda: T.c.id,
        ),
        DrillSpec(
            "sales",
            N_("Agent-assisted orders paid in the period"),
            "/orders/{id}",
            ORDER_COLUMNS,
            _orders(lambda: [ORD.c.assisted_by_id.is_not(None)]),
            lambda: ORD.c.id,
        ),
        DrillSpec(
            "refunds",
            N_("Orders paid in the period that have a refund"),
            "/orders/{id}",
            ORDER_COLUMNS,
            _orders(lambda: [cents(ORD.c.refunded_amount) > 0]),
            lambda: ORD.c.id,
        ),
        DrillSpec(
            "inquiries",
            N_("Inquiries opened in the period"),
            "/inquiries/{id}",
            INQUIRY_COLUMNS,
            _inquiries("opened_at", list),
            lambda: INQ.c.id,
        ),
        DrillSpec(
            "bargaining",
            N_("Bargained inquiries closed in the period"),
            "/inquiries/{id}",
            INQUIRY_COLUMNS,
            _inquiries("closed_at", _bargained),
            lambda: INQ.c.id,
        ),
        DrillSpec(
            "csat",
            N_("CSAT surveys sent or answered in the period"),
            "/tickets/{ticket_id}",
            (
                Column("ticket_id", N_("Ticket")),
                Column("customer", N_("Buyer")),
                Column("agent", N_("Agent")),
                Column("sent_at", N_("Sent"), "time"),
                Column("rating", N_("Rating"), "number"),
                Column("answered_at", N_("Answered"), "time"),
                Column("comment", N_("Comment")),
            ),
            _surveys,
            lambda: fb.surveys.c.id,
        ),
        *(
            DrillSpec(
                key,
                title,
                "",
                (
                    Column("id", N_("Review")),
                    Column("customer", N_("Buyer")),
                    Column("agent", N_("Agent")),
                    Column("grade", N_("Grade")),
                    Column("rating", N_("Rating"), "number"),
                    Column("posted_at", N_("Posted"), "time"),
                    Column("text", N_("Text")),
                ),
                _reviews(only_bad),
                lambda: fb.reviews.c.id,
            )
            for key, title, only_bad in (
                ("reviews", N_("Reviews posted in the period"), False),
                ("bad_reviews", N_("Bad reviews posted in the period"), True),
            )
        ),
        DrillSpec(
            "cases",
            N_("After-sales cases decided or resolved in the period"),
            "/cases/{id}",
            (
                Column("id", N_("Case")),
                Column("customer", N_("Buyer")),
                Column("agent", N_("Agent")),
                Column("kind", N_("Kind")),
                Column("state", N_("State")),
                Column("requested_at", N_("Requested"), "time"),
                Column("decided_at", N_("Decided"), "time"),
                Column("resolved_at", N_("Resolved"), "time"),
            ),
            _cases,
            lambda: fb.cases.c.id,
        ),
        DrillSpec(
            "revisits",
            N_("Revisits due in the period"),
            "/tickets/{ticket_id}",
            (
                Column("id", N_("Revisit")),
                Column("customer", N_("Buyer")),
                Column("agent", N_("Agent")),
                Column("action", N_("Action")),
                Column("status", N_("Status")),
                Column("due_at", N_("Due"), "time"),
                Column("handled_at", N_("Handled"), "time"),
            ),
            _revisits,
            lambda: fb.followups.c.id,
        ),
        DrillSpec(
            "phrasing",
            N_("Phrasing uses in the period"),
            "/tickets/{ticket_id}",
            (
                Column("title", N_("Template")),
                Column("category", N_("Category")),
                Column("agent", N_("Agent")),
                Column("used_at", N_("Used"), "time"),
                Column("outcome", N_("Outcome")),
            ),
            _usages,
            lambda: fb.usages.c.id,
        ),
    )
}
