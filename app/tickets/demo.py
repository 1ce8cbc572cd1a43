"""Demo desk work: the default queues of every demo team, and about a hundred tickets tied to the demo
customers, orders, inquiries, cases and reviews — buyer messages in natural Chinese, agent replies
(some from the phrasing library), notes, and a spread of statuses, priorities and due times so the
queues look alive. Built through the tickets services, so every clock and link is what the desk
itself would produce; deterministic for a seed."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import select

from app.accounts.models import Agent, Role, Team
from app.demo import DemoContext
from app.tickets import service
from app.tickets.demo_scripts import NOTES, SCRIPTS, TAGS, Script
from app.tickets.models import Ticket, TicketKind
from app.tickets.queues import ensure_default_queues

# kind → (team, priority weights low/normal/high/urgent, how many at most)
PLAN: dict[TicketKind, tuple[str, tuple[int, int, int, int], int]] = {
    TicketKind.buyer_message: ("", (5, 70, 20, 5), 24),
    TicketKind.inquiry: ("售前", (5, 75, 15, 5), 10),
    TicketKind.bargaining: ("售前", (0, 70, 25, 5), 10),
    TicketKind.payment_reminder: ("售前", (10, 80, 10, 0), 6),
    TicketKind.lost_lead: ("售前", (60, 40, 0, 0), 5),
    TicketKind.reassurance: ("售后", (20, 80, 0, 0), 4),
    TicketKind.shipping: ("物流跟踪", (0, 60, 30, 10), 9),
    TicketKind.confirm_nudge: ("售后", (40, 60, 0, 0), 5),
    TicketKind.review_request: ("售后", (50, 50, 0, 0), 6),
    TicketKind.review_thanks: ("售后", (60, 40, 0, 0), 4),
    TicketKind.bad_review: ("售后", (0, 0, 50, 50), 5),
    TicketKind.aftersales: ("售后", (0, 40, 50, 10), 8),
    TicketKind.revisit: ("回访", (70, 30, 0, 0), 5),
}
PRIORITIES = ("low", "normal", "high", "urgent")
# What the desk does with each ticket: (status, weight).
OUTCOMES = (("waiting", 52), ("working", 15), ("pending", 11), ("snoozed", 7), ("solved", 15))
CATEGORY = {
    TicketKind.buyer_message: "presale_reassurance",
    TicketKind.inquiry: "presale_reassurance",
    TicketKind.bargaining: "bargaining",
    TicketKind.payment_reminder: "payment_reminder",
    TicketKind.lost_lead: "lost_lead",
    TicketKind.reassurance: "payment_reassurance",
    TicketKind.shipping: "shipping_notice",
    TicketKind.confirm_nudge: "confirm_receipt",
    TicketKind.review_request: "review_request",
    TicketKind.review_thanks: "review_thanks",
    TicketKind.bad_review: "bad_review_reply",
    TicketKind.aftersales: "aftersales",
    TicketKind.revisit: "revisit_care",
}


def _weighted(rng: Any, pairs: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def _sources(ctx: DemoContext) -> dict[TicketKind, list[dict[str, Any]]]:
    """What each kind of ticket is about: rows of (customer, order, inquiry, case, review)."""
    session = ctx.session
    orders = ctx.ids.get("orders", [])
    by_stage: dict[str, list[tuple[int, int, int, str]]] = {}
    for order in orders:
        by_stage.setdefault(order[3], []).append(order)

    def of(*stages: str) -> list[dict[str, Any]]:
        return [{"customer_id": o[1], "order_id": o[0]} for s in stages for o in by_stage.get(s, [])]

    inquiries = sa.table("inquiries", sa.column("id"), sa.column("customer_id"), sa.column("status"))
    by_status: dict[str, list[dict[str, Any]]] = {}
    for row in session.execute(
        sa.select(inquiries.c.id, inquiries.c.customer_id, inquiries.c.status).order_by(inquiries.c.id)
    ):
        by_status.setdefault(row.status, []).append({"customer_id": row.customer_id, "inquiry_id": row.id})
    cases = sa.table("aftersales_cases", sa.column("id"), sa.column("customer_id"), sa.column("order_id"))
    reviews = sa.table(
        "reviews", sa.column("id"), sa.column("customer_id"), sa.column("order_id"), sa.column("rating")
    )
    review_rows = list(
        session.execute(
            sa.select(reviews.c.id, reviews.c.customer_id, reviews.c.order_id, reviews.c.rating).order_by(
                reviews.c.id
            )
        )
    )
    return {
        TicketKind.buyer_message: of("shipped", "delivered", "paid", "review_requested"),
        TicketKind.inquiry: by_status.get("open", []),
        TicketKind.bargaining: by_status.get("bargaining", []),
        TicketKind.payment_reminder: of("ordered"),
        TicketKind.lost_lead: by_status.get("lost", []),
        TicketKind.reassurance: of("paid"),
        TicketKind.shipping: of("shipped"),
        TicketKind.confirm_nudge: of("delivered"),
        TicketKind.review_request: of("confirmed", "review_requested"),
        TicketKind.review_thanks: [
            {"customer_id": r.customer_id, "order_id": r.order_id, "review_id": r.id}
            for r in review_rows
            if r.rating >= 4
        ],
        TicketKind.bad_review: [
            {"customer_id": r.customer_id, "order_id": r.order_id, "review_id": r.id}
            for r in review_rows
            if r.rating <= 2
        ],
        TicketKind.aftersales: [
            {"customer_id": r.customer_id, "order_id": r.order_id, "case_id": r.id}
            for r in session.execute(
                sa.select(cases.c.id, cases.c.customer_id, cases.c.order_id).order_by(cases.c.id)
            )
        ]
        + of("refunded"),
        TicketKind.revisit: of("reviewed"),
    }


def _templates(ctx: DemoContext) -> dict[str, int]:
    """A starter phrasing template per category, when the phrasing library is seeded."""
    from app.phrasing.models import PhrasingTemplate

    rows = ctx.session.exec(
        select(PhrasingTemplate.category, PhrasingTemplate.id).order_by(PhrasingTemplate.id)
    )
    found: dict[str, int] = {}
    for category, template_id in rows:
        found.setdefault(category, template_id)
    return found


def _order_numbers(ctx: DemoContext, order_ids: list[int]) -> dict[int, str]:
    orders = sa.table("orders", sa.column("id"), sa.column("number"))
    numbers: dict[int, str] = {}
    for start in range(0, len(order_ids), 500):
        chunk = order_ids[start : start + 500]
        numbers.update(
            dict(
                ctx.session.execute(
                    sa.select(orders.c.id, orders.c.number).where(orders.c.id.in_(chunk))
                ).all()
            )
        )
    return numbers


def seed(ctx: DemoContext) -> None:
    session, now = ctx.session, ctx.now
    rng = ctx.rng
    teams = {t.name: t for t in session.exec(select(Team))}
    for team in teams.values():
        ensure_default_queues(session, team_id=team.id, now=now)
    ensure_default_queues(session, team_id=None, now=now)
    agents = list(session.exec(select(Agent).where(Agent.role == Role.agent, Agent.is_active.is_(True))))
    if not agents:
        return
    _policies(session, teams, now)
    sources = _sources(ctx)
    used_customers: set[int] = set()
    picks: list[tuple[TicketKind, dict[str, Any]]] = []
    for kind, (_, _, most) in PLAN.items():
        candidates = [s for s in sources.get(kind, []) if s["customer_id"] not in used_customers]
        for source in rng.sample(candidates, min(most, len(candidates))):
            if source["customer_id"] in used_customers:
                continue
            used_customers.add(source["customer_id"])
            picks.append((kind, source))
    numbers = _order_numbers(ctx, [s["order_id"] for _, s in picks if s.get("order_id")])
    nicknames = _nicknames(ctx, [s["customer_id"] for _, s in picks])
    templates = _templates(ctx)
    stores = dict(ctx.ids.get("customers", []))
    task = ctx.progress.add_task("desk tickets", total=len(picks))
    for kind, source in picks:
        _one(ctx, kind, source, numbers, nicknames, templates, agents, teams, stores)
        ctx.progress.advance(task)
    # What the dispatch job would have done by now: breaches recorded, tickets near one raised.
    from app.tickets import sla

    while sla.sweep(session, now=now, limit=500) == 500:
        pass


# Store-wide: business hours, paused while waiting for the buyer; urgent work runs day and night
# (marketplace chats never close); the after-sales team has longer targets for returns.
DEMO_POLICIES: tuple[dict[str, Any], ...] = (
    {
        "name": "全店默认（工作时间）",
        "first_response_minutes": 120,
        "next_response_minutes": 60,
        "resolution_minutes": 1440,
        "clock": "business",
        "pause_when_pending": True,
        "pause_when_snoozed": True,
    },
    {
        "name": "紧急 · 全天候",
        "priority": "urgent",
        "first_response_minutes": 30,
        "next_response_minutes": 15,
        "resolution_minutes": 480,
        "clock": "calendar",
        "pause_when_pending": True,
    },
    {
        "name": "售后 · 退换货",
        "team": "售后",
        "kind": "aftersales",
        "first_response_minutes": 240,
        "next_response_minutes": 120,
        "resolution_minutes": 2160,
        "clock": "business",
        "pause_when_pending": True,
        "pause_when_snoozed": True,
    },
)


def _policies(session: Any, teams: dict[str, Team], now: datetime) -> None:
    """A few SLA policies, checked like a supervisor's (a demo team that is missing is skipped)."""
    from app.tickets.sla_models import SlaPolicy
    from app.tickets.sla_policies import clean

    for values in DEMO_POLICIES:
        values = dict(values)
        team_name = values.pop("team", None)
        if team_name is not None:
            if team_name not in teams:
                continue
            values["team_id"] = str(teams[team_name].id)
        session.add(SlaPolicy(**clean(session, values), created_at=now, updated_at=now))
    session.flush()


def _nicknames(ctx: DemoContext, customer_ids: list[int]) -> dict[int, str]:
    customers = sa.table("customers", sa.column("id"), sa.column("nickname"))
    found: dict[int, str] = {}
    for start in range(0, len(customer_ids), 500):
        chunk = customer_ids[start : start + 500]
        found.update(
            dict(
                ctx.session.execute(
                    sa.select(customers.c.id, customers.c.nickname).where(customers.c.id.in_(chunk))
                ).all()
            )
        )
    return found


def _one(
    ctx: DemoContext,
    kind: TicketKind,
    source: dict[str, Any],
    numbers: dict[int, str],
    nicknames: dict[int, str],
    templates: dict[str, int],
    agents: list[Agent],
    teams: dict[str, Team],
    stores: dict[int, int],
) -> None:
    session, rng, now = ctx.session, ctx.rng, ctx.now
    team_name, weights, _ = PLAN[kind]
    script = rng.choice(SCRIPTS[kind])
    priority = rng.choices(PRIORITIES, weights=weights)[0]
    outcome = _weighted(rng, OUTCOMES)
    # Most work is recent: minutes to hours old, a few from the last days.
    age = timedelta(minutes=rng.choice((rng.uniform(3, 90), rng.uniform(60, 600), rng.uniform(600, 4000))))
    clock = _Clock(now - age, now)
    team = teams.get(team_name)
    crew = [a for a in agents if team is None or a.team_id == team.id] or agents
    agent = rng.choice(crew)
    order_id = source.get("order_id")
    fill = {"nick": nicknames.get(source["customer_id"], "买家"), "number": numbers.get(order_id, "")}
    buyer_lines = list(script.buyer)
    if script.note:
        ticket = service.open_task(
            session,
            kind=kind,
            customer_id=source["customer_id"],
            subject=script.subject.format(**fill).rstrip(" ·"),
            body=script.note.format(**fill),
            priority=priority,
            now=clock.tick(),
            order_id=order_id,
            inquiry_id=source.get("inquiry_id"),
            case_id=source.get("case_id"),
            review_id=source.get("review_id"),
            team=team_name or None,
        )
    else:
        first = service.receive_message(
            session,
            store_id=stores.get(source["customer_id"]),
            customer_id=source["customer_id"],
            body=buyer_lines.pop(0),
            now=clock.tick(),
            channel="wangwang",
            order_id=order_id,
        )
        ticket = service.require_ticket(session, first.ticket_id)
        _retarget(session, ticket, first.created_at, kind, script, fill, team, source, priority)
    if buyer_lines and (not script.note or rng.random() < 0.7):
        _buyer(session, ticket, buyer_lines.pop(0), clock, order_id)
    if rng.random() < 0.3:
        service.set_tags(
            session, ticket, tags=rng.sample(TAGS, rng.randint(1, 2)), actor=agent, now=clock.tick()
        )
    if outcome == "waiting":
        return
    if rng.random() < 0.25:
        service.add_note(session, ticket, agent=agent, body=rng.choice(NOTES), now=clock.tick())
    template_id = templates.get(CATEGORY[kind]) if rng.random() < 0.5 else None
    then = {"pending": "pending", "solved": "solved"}.get(outcome)
    service.reply(
        session,
        ticket,
        agent=agent,
        body=rng.choice(script.replies),
        now=clock.tick(),
        template_id=template_id,
        then_status=then,
    )
    if outcome == "working" and buyer_lines:
        _buyer(session, ticket, buyer_lines.pop(0), clock, order_id)
    elif outcome == "snoozed":
        until = now + timedelta(hours=rng.choice((2, 5, 20, 44)))
        service.snooze(session, ticket, agent=agent, until=until, now=clock.tick())


def _buyer(session: Any, ticket: Ticket, text: str, clock: _Clock, order_id: int | None) -> None:
    message = service.receive_message(
        session,
        store_id=ticket.store_id,
        customer_id=ticket.customer_id,
        body=text,
        now=clock.tick(),
        channel="wangwang",
        order_id=order_id,
    )
    if message.ticket_id != ticket.id:  # the demo gives each customer one conversation
        raise RuntimeError("demo conversation split across tickets")


def _retarget(
    session: Any,
    ticket: Ticket,
    now: datetime,
    kind: TicketKind,
    script: Script,
    fill: dict[str, str],
    team: Team | None,
    source: dict[str, Any],
    priority: str,
) -> None:
    """A buyer-initiated ticket the demo files under its topic (an inquiry, bargaining), as an
    agent would when triaging, with the priority the plan gives it."""
    from app.tickets import sla
    from app.tickets.models import TicketPriority

    before = sla.targets_for(session, ticket)
    ticket.kind = kind
    if script.subject:
        ticket.subject = script.subject.format(**fill)
    ticket.team_id = team.id if team is not None else None
    ticket.inquiry_id = ticket.inquiry_id or source.get("inquiry_id")
    ticket.priority = TicketPriority(priority)
    ticket.priority_rank = ticket.priority.rank
    sla.retarget(session, ticket, before=before, now=now)


class _Clock:
    """Increasing times from `start`, never past `end`: one conversation's timeline."""

    def __init__(self, start: datetime, end: datetime) -> None:
        self.at, self.end = start, end

    def tick(self) -> datetime:
        step = (self.end - self.at) / 4
        self.at = min(self.at + max(step, timedelta(seconds=20)), self.end)
        return self.at
