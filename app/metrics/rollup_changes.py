"""Which local days a change can affect: the rollup's invalidation rules.

Each KPI counts on one day (its anchor: an inquiry's opening, an order's payment, a question's
first buyer message …), and some read rows that change later (the payment that converts an
inquiry, the reply that answers a question, the good review that recovers a bad one). For rows
changed since a set of watermarks — by `updated_at`, or by id for rows only ever inserted or
stamped (messages, surveys, follow-ups, phrasing uses) — these rules list the instants whose local
days must be recomputed. They err on the side of more days, never fewer.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from app.aftersales.models import AftersalesCase
from app.db import UTCDateTime
from app.followups.models import Followup
from app.integrations.models import Store
from app.metrics.dialect import Sql
from app.metrics.period import Period, zone
from app.orders.models import Order
from app.phrasing.models import PhrasingUsage
from app.presale.models import Inquiry
from app.reviews.models import CsatSurvey, Review
from app.tickets.models import Ticket, TicketMessage

EVERYTHING: Any = object()  # marker: every day may have changed (a store's settings, no watermarks)
MAX_INQUIRY_WINDOW_DAYS = 60  # the largest Store.inquiry_win_days allowed (integrations.service)
REPURCHASE_DAYS = 30

inquiries, orders, tickets = Inquiry.__table__, Order.__table__, Ticket.__table__
messages, surveys, reviews = TicketMessage.__table__, CsatSurvey.__table__, Review.__table__
cases, followups, usages, stores = (
    AftersalesCase.__table__,
    Followup.__table__,
    PhrasingUsage.__table__,
    Store.__table__,
)
ID_SOURCES = {
    "messages": messages,
    "surveys": surveys,
    "followups": followups,
    "usages": usages,
    "reviews": reviews,
}


def marks(session: Any, *, now: datetime) -> dict[str, Any]:
    """The watermarks now: the clock for `updated_at`-style columns, the highest id per table."""
    found: dict[str, Any] = {"t": now.astimezone(UTC).isoformat()}
    for name, table in ID_SOURCES.items():
        found[name] = int(
            session.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar_one()
        )
    return found


def earliest_day(session: Any, tz: str) -> date | None:
    """The first local day with anything to count (each an index lookup)."""
    m = messages
    candidates = [
        sa.select(sa.func.min(orders.c.paid_at)),
        sa.select(sa.func.min(tickets.c.created_at)),
        sa.select(sa.func.min(m.c.created_at)).where(m.c.direction == "inbound"),
        sa.select(sa.func.min(m.c.created_at)).where(m.c.direction == "outbound"),
        sa.select(sa.func.min(inquiries.c.opened_at)),
        sa.select(sa.func.min(reviews.c.posted_at)),
        sa.select(sa.func.min(surveys.c.sent_at)),
        sa.select(sa.func.min(followups.c.due_at)).where(followups.c.kind == "revisit"),
        sa.select(sa.func.min(usages.c.used_at)),
        sa.select(sa.func.min(cases.c.decided_at)),
    ]
    times = [t for t in (session.execute(q).scalar_one() for q in candidates) if t is not None]
    if not times:
        return None
    first = min(_aware(t) for t in times)
    return first.astimezone(zone(tz)).date()


def _aware(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _human(m: Any) -> Any:
    return sa.and_(m.c.direction == "outbound", m.c.automated.is_(sa.false()))


def _rules(sql: Sql, since: dict[str, Any]) -> list[Any]:
    """Selects of one column, `ts`: an instant whose local day may have changed.

    Each starts from the few changed rows (an index range on updated_at or id) and reaches the rows
    they affect through an indexed column (`IN (…)`, then an EXISTS for the exact pairing), so the
    planner never scans a big table to find a handful of changes.
    """
    t = sa.literal(datetime.fromisoformat(since["t"]), UTCDateTime())
    i, o, tk, m, f, u, s, r = inquiries, orders, tickets, messages, followups, usages, surveys, reviews
    rules: list[Any] = []

    def ts(column: Any) -> Any:
        return column.label("ts")

    def ids(column: Any, *where: Any) -> Any:
        return sa.select(column).where(*where)

    # Inquiries: their days, and the sale they were credited with.
    changed_inq = i.c.updated_at >= t
    rules += [
        sa.select(ts(i.c.opened_at)).where(changed_inq),
        sa.select(ts(i.c.closed_at)).where(changed_inq),
        sa.select(ts(o.c.paid_at)).where(o.c.id.in_(ids(i.c.won_order_id, changed_inq))),
    ]
    # Orders: their payment day; the inquiries they convert (paid within the window after the
    # inquiry); the funnel; their reviews; the revisits they count as a repurchase for.
    changed_o = o.c.updated_at >= t
    o2 = orders.alias("o2")
    rules.append(sa.select(ts(o.c.paid_at)).where(changed_o))
    converts = (
        sa.select(sa.literal(1))
        .where(
            o2.c.customer_id == i.c.customer_id,
            o2.c.updated_at >= t,
            o2.c.paid_at >= i.c.opened_at,
            sql.seconds(i.c.opened_at, o2.c.paid_at) <= MAX_INQUIRY_WINDOW_DAYS * 86400,
        )
        .exists()
    )
    rules += [
        sa.select(ts(i.c.opened_at)).where(i.c.customer_id.in_(ids(o.c.customer_id, changed_o)), converts),
        sa.select(ts(i.c.opened_at)).where(i.c.won_order_id.in_(ids(o.c.id, changed_o))),
        sa.select(ts(r.c.posted_at)).where(r.c.order_id.in_(ids(o.c.id, changed_o))),
    ]
    repurchase = (
        sa.select(sa.literal(1))
        .where(
            o2.c.customer_id == f.c.customer_id,
            o2.c.updated_at >= t,
            o2.c.placed_at > f.c.handled_at,
            sql.seconds(f.c.handled_at, o2.c.placed_at) <= REPURCHASE_DAYS * 86400,
        )
        .exists()
    )
    rules.append(
        sa.select(ts(f.c.due_at)).where(
            f.c.customer_id.in_(ids(o.c.customer_id, changed_o)), f.c.kind == "revisit", repurchase
        )
    )
    # Tickets: created / solved days; their questions (credited to the assignee when unanswered);
    # the revisits and phrasing uses they carry.
    changed_t = tk.c.updated_at >= t
    changed_tickets = ids(tk.c.id, changed_t)
    rules += [
        sa.select(ts(tk.c.created_at)).where(changed_t),
        sa.select(ts(tk.c.solved_at)).where(changed_t),
        sa.select(ts(m.c.created_at)).where(m.c.ticket_id.in_(changed_tickets), m.c.direction == "inbound"),
        sa.select(ts(f.c.due_at)).where(f.c.ticket_id.in_(changed_tickets)),
        sa.select(ts(u.c.used_at)).where(u.c.ticket_id.in_(changed_tickets)),
    ]
    # New messages: their own day; buyer messages at or after them in the ticket (a late-arriving
    # message renumbers the rounds after it); the question round a human reply answers (the buyer
    # messages since the previous human reply); the ticket's revisits.
    new = messages.alias("new")
    q = messages.alias("q")
    is_new = m.c.id > since["messages"]
    new_tickets = ids(m.c.ticket_id, is_new)
    no_reply_between = ~(
        sa.select(sa.literal(1))
        .where(
            q.c.ticket_id == m.c.ticket_id,
            _human(q),
            q.c.created_at > m.c.created_at,
            q.c.created_at < new.c.created_at,
        )
        .correlate(m, new)  # two levels up: SQLAlchemy only correlates the enclosing query itself
        .exists()
    )
    affected = (
        sa.select(sa.literal(1))
        .where(
            new.c.ticket_id == m.c.ticket_id,
            new.c.id > since["messages"],
            sa.or_(
                m.c.created_at >= new.c.created_at,
                sa.and_(_human(new), m.c.created_at <= new.c.created_at, no_reply_between),
            ),
        )
        .exists()
    )
    rules += [
        sa.select(ts(m.c.created_at)).where(is_new),
        sa.select(ts(m.c.created_at)).where(
            m.c.ticket_id.in_(new_tickets), m.c.direction == "inbound", affected
        ),
        sa.select(ts(f.c.due_at)).where(f.c.ticket_id.in_(new_tickets)),
    ]
    # CSAT surveys: sent and answered days; a 4–5 answer recovers the buyer's earlier bad reviews.
    answered = s.c.answered_at >= t
    s2 = surveys.alias("s2")
    after_bad = (
        sa.select(sa.literal(1))
        .where(s2.c.customer_id == r.c.customer_id, s2.c.answered_at >= t, s2.c.answered_at > r.c.posted_at)
        .exists()
    )
    rules += [
        sa.select(ts(s.c.sent_at)).where(s.c.id > since["surveys"]),
        sa.select(ts(s.c.sent_at)).where(answered),
        sa.select(ts(s.c.answered_at)).where(answered),
        sa.select(ts(r.c.posted_at)).where(
            r.c.customer_id.in_(ids(s.c.customer_id, answered)), r.c.grade == "bad", after_bad
        ),
    ]
    # Reviews: their day; a later good review recovers the buyer's earlier bad ones.
    later = reviews.alias("later")
    for changed in (
        lambda x: x.c.id > since["reviews"],
        lambda x: x.c.updated_at >= t,
    ):  # apart: an index each
        recovers = (
            sa.select(sa.literal(1))
            .where(
                later.c.customer_id == r.c.customer_id,
                later.c.store_id == r.c.store_id,
                changed(later),
                later.c.posted_at > r.c.posted_at,
            )
            .exists()
        )
        rules += [
            sa.select(ts(r.c.posted_at)).where(changed(r)),
            sa.select(ts(r.c.posted_at)).where(
                r.c.customer_id.in_(ids(later.c.customer_id, changed(later))), r.c.grade == "bad", recovers
            ),
        ]
    # After-sales cases: decided and finished days (their history changes with them).
    changed_c = cases.c.updated_at >= t
    rules += [
        sa.select(ts(cases.c.decided_at)).where(changed_c),
        sa.select(ts(cases.c.resolved_at)).where(changed_c),
    ]
    # Revisits and phrasing uses: inserted, then stamped when handled / when their purpose followed.
    rules += [
        sa.select(ts(f.c.due_at)).where(f.c.id > since["followups"], f.c.kind == "revisit"),
        sa.select(ts(f.c.due_at)).where(f.c.handled_at >= t, f.c.kind == "revisit"),
        sa.select(ts(u.c.used_at)).where(u.c.id > since["usages"]),
        sa.select(ts(u.c.used_at)).where(u.c.outcome_at >= t),
    ]
    return rules


def changed_days(session: Any, *, since: dict[str, Any], tz: str) -> set[date] | Any:
    """Local days (in `tz`) that changes after the watermarks `since` can affect; EVERYTHING when
    the watermarks are missing or a store's settings changed."""
    if not since or any(key not in since for key in ("t", *ID_SOURCES)):
        return EVERYTHING
    t = datetime.fromisoformat(since["t"])
    if session.execute(
        sa.select(sa.literal(1)).where(stores.c.updated_at >= sa.literal(t, UTCDateTime())).limit(1)
    ).first():
        return EVERYTHING  # an inquiry window or time zone may have changed
    # The rules use only the dialect's arithmetic, not the period.
    sql = Sql(session.get_bind().dialect.name, Period(date(2000, 1, 1), date(2000, 1, 1), tz))
    union = sa.union_all(*_rules(sql, since)).subquery("changes")
    hour = (
        sa.func.strftime("%Y-%m-%d %H", union.c.ts)
        if sql.is_sqlite
        else sa.func.to_char(sa.func.timezone("UTC", union.c.ts), "YYYY-MM-DD HH24")
    )
    days: set[date] = set()
    local = zone(tz)
    for (value,) in session.execute(sa.select(hour).where(union.c.ts.is_not(None)).distinct()):
        start = datetime.strptime(value, "%Y-%m-%d %H").replace(tzinfo=UTC)
        days.add(start.astimezone(local).date())
        days.add((start + timedelta(minutes=59, seconds=59)).astimezone(local).date())
    return days
