"""Desk work at scale for `huitou seed-demo --tickets N --open-tickets N --messages N`.

The desk's own demo step (tickets.demo) makes about a hundred tickets through the services, every
clock and link as the desk would set it — far too slow for millions. When the sizes ask for more,
this step tops the desk up to exactly the requested totals with rows written in bulk
(app.bulk.insert_rows), in time order as a live desk writes them:

- tickets of every kind, filed to the kind's team (tickets.demo.PLAN), with its priority mix, for
  the stores' customers and — for order-related kinds — one of the customer's orders placed in the
  weeks before; SLA due times from the desk's calendar defaults (tickets.sla);
- statuses: exactly `open_tickets` open (recent: the backlog; some waiting in the queue, most with
  an agent), a few pending or snoozed, the rest solved (some reopened once before);
- exactly `messages` messages: buyer questions through the day (busiest mid-morning, afternoon and
  evening), human replies after realistic delays (the next morning for a question at night),
  automatic replies and internal notes — so response times, reply rates and the heat map mean
  something;
- CSAT surveys for about a third of the solved tickets (most answered, mostly warm) and phrasing
  uses with outcomes for about a fifth of the replied tickets (the reply carries the template).

Agents: the demo's own, plus one more per 40,000 tickets (at most 60), in the three demo teams,
who log in with the demo agent password. Deterministic for a seed.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from app.bulk import fix_sequences, insert_rows
from app.demo import DEMO_PASSWORDS, DEMO_TEAMS, DemoContext, DemoSizeError
from app.tickets import sla
from app.tickets.demo import CATEGORY, PLAN, PRIORITIES
from app.tickets.demo_scripts import NOTES, SCRIPTS, TAGS
from app.tickets.models import TicketKind, TicketPriority

HISTORY_DAYS = 180  # like the demo orders
BATCH = 5_000  # tickets per insert round (their messages, surveys and uses follow each round)
TICKETS_PER_AGENT = 40_000
MOST_AGENTS = 60
# How often each kind comes in (the demo's PLAN gives its team and priority mix).
KIND_WEIGHTS: dict[TicketKind, int] = {
    TicketKind.buyer_message: 30,
    TicketKind.inquiry: 14,
    TicketKind.bargaining: 6,
    TicketKind.shipping: 12,
    TicketKind.aftersales: 8,
    TicketKind.payment_reminder: 5,
    TicketKind.reassurance: 3,
    TicketKind.confirm_nudge: 5,
    TicketKind.review_request: 6,
    TicketKind.review_thanks: 3,
    TicketKind.bad_review: 2,
    TicketKind.lost_lead: 2,
    TicketKind.revisit: 4,
}
ORDER_KINDS = {
    TicketKind.payment_reminder,
    TicketKind.reassurance,
    TicketKind.shipping,
    TicketKind.confirm_nudge,
    TicketKind.review_request,
    TicketKind.review_thanks,
    TicketKind.bad_review,
    TicketKind.aftersales,
    TicketKind.revisit,
}
# Buyers write around the clock, most mid-morning, in the afternoon and in the evening (local hours).
HOUR_WEIGHTS = (3, 2, 1, 1, 1, 1, 2, 4, 7, 10, 12, 11, 8, 9, 11, 11, 10, 9, 8, 10, 12, 13, 11, 7)
WORK_START, WORK_END = 9, 24  # local hours the desk answers in
NOT_OPEN = (("solved", 92), ("closed", 3), ("pending", 3), ("snoozed", 2))
SURVEY_SHARE, ANSWER_SHARE = 0.3, 0.6
RATINGS = ((5, 58), (4, 22), (3, 9), (2, 6), (1, 5))
COMMENTS = {
    5: ("回复很快，谢谢！", ""),
    4: ("挺好的", ""),
    3: ("还行吧",),
    2: ("回复太慢了",),
    1: ("问题没解决",),
}
USE_SHARE, OUTCOME_SHARE = 0.2, 0.3
OUTCOMES = {"review_request": "reviewed", "payment_reminder": "paid", "bargaining": "won"}
AUTO_REPLY = "亲，您好～客服马上就来，请稍等片刻哦。"


@dataclass(frozen=True)
class Plan:
    """What the bulk step adds: tickets (of them open) and messages."""

    tickets: int
    open: int
    messages: int


def plan(session: Any, tickets: int, open_tickets: int, messages: int) -> Plan:
    """Top-ups that bring the desk to exactly the requested totals, or DemoSizeError."""
    have = session.execute(
        sa.text(
            "SELECT (SELECT COUNT(*) FROM tickets), (SELECT COUNT(*) FROM tickets WHERE status = 'open'),"
            " (SELECT COUNT(*) FROM ticket_messages)"
        )
    ).one()
    add = Plan(tickets - have[0], open_tickets - have[1], messages - have[2])
    if add.tickets < 0 or add.open < 0 or add.messages < 0:
        raise DemoSizeError(
            f"the demo itself makes {have[0]} tickets ({have[1]} open) with {have[2]} messages: "
            "ask for at least that many"
        )
    if add.open > add.tickets:
        raise DemoSizeError("--open-tickets cannot exceed --tickets")
    if add.messages < add.tickets:
        raise DemoSizeError("every ticket has at least one message: --messages must be at least --tickets")
    return add


def seed(ctx: DemoContext) -> None:
    sizes = ctx.sizes
    if sizes.tickets is None:
        return
    session = ctx.session
    add = plan(session, sizes.tickets, sizes.open_tickets or 0, sizes.messages or 0)
    if not add.tickets:
        return
    Desk(ctx, add).run()


class Desk:
    def __init__(self, ctx: DemoContext, add: Plan) -> None:
        self.ctx, self.add = ctx, add
        self.session, self.rng, self.now = ctx.session, ctx.rng, ctx.now
        self.tz = ZoneInfo("Asia/Shanghai")
        self.now_s = self.now.timestamp()
        self.pick_rating = _chooser(self.rng, RATINGS)

    # --- what the tickets hang on ------------------------------------------------------------

    def _agents(self) -> dict[int | None, list[int]]:
        """Agent ids per team id (None: everyone), adding agents for a big desk."""
        from app.accounts import service as accounts
        from app.accounts.models import Agent, Role

        extra = min(MOST_AGENTS, self.add.tickets // TICKETS_PER_AGENT)
        teams = [name for name, _ in DEMO_TEAMS]
        for i in range(1, extra + 1):
            username = f"kefu{i:02d}"
            if accounts.get_agent_by_username(self.session, username) is None:
                accounts.create_agent(
                    self.session,
                    username=username,
                    password=DEMO_PASSWORDS["agent"],
                    role=Role.agent,
                    display_name=f"客服{i:02d}",
                    team=teams[i % len(teams)],
                    now=self.now,
                )
        a = Agent.__table__
        found = self.session.execute(
            sa.select(a.c.id, a.c.team_id)
            .where(a.c.role == Role.agent.value, a.c.is_active.is_(sa.true()))
            .order_by(a.c.id)
        ).all()
        by_team: dict[int | None, list[int]] = {None: [r.id for r in found]}
        for row in found:
            by_team.setdefault(row.team_id, []).append(row.id)
        return by_team

    def _orders(self) -> tuple[list[float], list[tuple[int, int, int]]]:
        """Orders by placing time: (epoch seconds), (order id, customer id, store id)."""
        from app.orders.models import Order

        o = Order.__table__
        rows = self.session.execute(
            sa.select(o.c.id, o.c.customer_id, o.c.store_id, o.c.placed_at).order_by(o.c.placed_at, o.c.id)
        )
        times: list[float] = []
        orders: list[tuple[int, int, int]] = []
        for order_id, customer_id, store_id, at in rows:
            times.append(at.timestamp())
            orders.append((order_id, customer_id, store_id))
        return times, orders

    def _customers(self) -> list[tuple[int, int | None]]:
        if self.ctx.ids.get("customers"):
            return self.ctx.ids["customers"]
        c = sa.table("customers", sa.column("id"), sa.column("store_id"))
        return [(r.id, r.store_id) for r in self.session.execute(sa.select(c.c.id, c.c.store_id))]

    def _templates(self) -> tuple[dict[str, list[int]], list[tuple[int, str]]]:
        p = sa.table("phrasing_templates", sa.column("id"), sa.column("category"))
        rows = list(self.session.execute(sa.select(p.c.id, p.c.category).order_by(p.c.id)))
        by_category: dict[str, list[int]] = {}
        for row in rows:
            by_category.setdefault(row.category, []).append(row.id)
        return by_category, [(r.id, r.category) for r in rows]

    # --- when things happen ------------------------------------------------------------------

    def _created_times(self) -> list[tuple[float, bool]]:
        """(epoch seconds, open?) per new ticket, in time order: open ones are the recent backlog."""
        rng, add = self.rng, self.add
        local_now = self.now.astimezone(self.tz)
        midnight = local_now.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
        hour = _chooser(rng, list(zip(range(24), HOUR_WEIGHTS, strict=True)))

        def at(days_ago: float) -> float:
            day = midnight - math.floor(days_ago) * 86_400
            return day + hour() * 3600 + rng.random() * 3600

        times: list[tuple[float, bool]] = []
        for i in range(add.tickets):
            is_open = i < add.open
            # Older work is thinner, like the demo orders; the open backlog is days old at most.
            ago = (
                rng.expovariate(1 / 1.5)
                if is_open
                else rng.uniform(0, HISTORY_DAYS) ** 1.15 / HISTORY_DAYS**0.15
            )
            t = at(ago)
            if t > self.now_s - 60:
                t = self.now_s - 60 - rng.random() * 3600 * (1 if is_open else 4)
            times.append((t, is_open))
        times.sort()
        return times

    def _lengths(self, count: int, total: int) -> list[int]:
        """Messages per ticket: at least one each, `total` in all, a long tail of longer threads."""
        rng = self.rng
        extra = total - count
        mean = extra / count if count else 0
        lengths = [1 + (min(int(rng.expovariate(1 / mean)), 30) if mean > 0 else 0) for _ in range(count)]
        diff = total - sum(lengths)
        while diff > 0:
            lengths[rng.randrange(count)] += 1
            diff -= 1
        while diff < 0:
            i = rng.randrange(count)
            if lengths[i] > 1:
                lengths[i] -= 1
                diff += 1
        return lengths

    def _answer_at(self, t: float, median: float) -> float:
        """When a person answers a message sent at t: after a lognormal delay, in working hours."""
        t += max(5.0, self.rng.lognormvariate(0, 1.0) * median)
        hour = datetime.fromtimestamp(t, self.tz).hour
        if hour < WORK_START:
            t += (WORK_START - hour) * 3600 + self.rng.uniform(0, 1800)
        return t

    def _thread(self, length: int, status: str, assigned: bool, created: float) -> list[tuple[str, float]]:
        """The kinds of message ("buyer", "reply", "auto", "note") and their times, in order."""
        rng = self.rng
        kinds = ["buyer"]
        for _ in range(length - 1):
            last = kinds[-1]
            roll = rng.random()
            if not assigned:
                kinds.append("auto" if roll < 0.2 and "auto" not in kinds else "buyer")
            elif last == "buyer":
                kinds.append(
                    "reply"
                    if roll < 0.8
                    else "note"
                    if roll < 0.88
                    else "auto"
                    if "auto" not in kinds
                    else "buyer"
                )
            elif last == "reply":
                kinds.append("buyer" if roll < 0.75 else "note" if roll < 0.85 else "reply")
            elif last == "auto":
                kinds.append("reply" if roll < 0.6 else "buyer")
            else:
                kinds.append("reply" if roll < 0.7 else "buyer")
        if length > 1:
            if status == "open":
                kinds[-1] = "buyer"  # the buyer waits for an answer
            elif status in ("solved", "closed", "pending") and assigned:
                kinds[-1] = "reply"  # answered, then solved (or waiting for the buyer)
        times, t = [], created
        for i, kind in enumerate(kinds):
            if i:
                if kind == "reply":
                    t = self._answer_at(t, 90 if "reply" not in kinds[:i] else 60)
                elif kind == "auto":
                    t += rng.uniform(2, 6)
                elif kind == "note":
                    t += rng.uniform(10, 300)
                else:
                    t += rng.uniform(120, 6 * 3600) if kinds[i - 1] != "buyer" else rng.uniform(5, 90)
            times.append(t)
        # Nothing after now: squeeze a thread that would run past it into the time left.
        room = self.now_s - 30 - created
        span = times[-1] - created
        if span > room > 0:
            times = [created + (x - created) * room / span for x in times]
        return list(zip(kinds, times, strict=True))

    # --- the rows ----------------------------------------------------------------------------

    def run(self) -> None:
        from app.phrasing.models import PhrasingUsage
        from app.reviews.models import CsatSurvey
        from app.tickets.models import Ticket, TicketMessage

        session, rng, add = self.session, self.rng, self.add
        agents = self._agents()
        teams = dict(session.execute(sa.text("SELECT name, id FROM teams")).all())
        order_times, orders = self._orders()
        customers = self._customers()
        if not customers:
            raise DemoSizeError("tickets need customers: give --customers")
        by_category, all_templates = self._templates()
        created_times = self._created_times()
        lengths = self._lengths(add.tickets, add.messages)
        first_id = int(session.execute(sa.text("SELECT COALESCE(MAX(id), 0) FROM tickets")).scalar_one()) + 1
        pick_kind = _chooser(rng, list(KIND_WEIGHTS.items()))
        pick_priority = {
            kind: _chooser(
                rng, [(TicketPriority(p), w) for p, w in zip(PRIORITIES, PLAN[kind][1], strict=True)]
            )
            for kind in KIND_WEIGHTS
        }
        pick_status = _chooser(rng, NOT_OPEN)
        lines = {k: [line for s in SCRIPTS[k] for line in s.buyer] for k in SCRIPTS}
        replies = {k: [line for s in SCRIPTS[k] for line in s.replies] for k in SCRIPTS}
        subjects = {k: [s.subject for s in SCRIPTS[k] if s.subject] for k in SCRIPTS}
        stamp = datetime.fromtimestamp
        task = self.ctx.progress.add_task("desk tickets (bulk)", total=add.tickets)
        tickets: list[dict[str, Any]] = []
        messages: list[dict[str, Any]] = []
        surveys: list[dict[str, Any]] = []
        uses: list[dict[str, Any]] = []

        def flush() -> None:
            insert_rows(session, Ticket.__table__, tickets)
            insert_rows(session, TicketMessage.__table__, messages)
            insert_rows(session, CsatSurvey.__table__, surveys)
            insert_rows(session, PhrasingUsage.__table__, uses)
            self.ctx.progress.advance(task, len(tickets))
            for rows in (tickets, messages, surveys, uses):
                rows.clear()

        for n, ((created, is_open), length) in enumerate(zip(created_times, lengths, strict=True)):
            ticket_id = first_id + n
            kind = pick_kind()
            team_name = PLAN[kind][0]
            priority = pick_priority[kind]()
            team_id = teams.get(team_name)
            age_days = (self.now_s - created) / 86_400
            if is_open:
                status = "open"
            else:
                status = pick_status()
                if status in ("pending", "snoozed") and age_days > 7:
                    status = "solved"
            assigned = rng.random() < (0.55 if is_open else 0.98)
            crew = agents.get(team_id) or agents[None]
            agent_id = crew[rng.randrange(len(crew))] if assigned and crew else None
            assigned = agent_id is not None
            order_id = None
            if kind in ORDER_KINDS or (kind == TicketKind.buyer_message and rng.random() < 0.6):
                order = _order_before(rng, order_times, orders, created)
                if order is not None:
                    order_id, customer_id, store_id = order
            if order_id is None:
                customer_id, store_id = customers[rng.randrange(len(customers))]
            thread = self._thread(length, status, assigned, created)
            first_reply = next((t for k, t in thread if k == "reply"), None)
            last_in = max((t for k, t in thread if k == "buyer"), default=created)
            last_out = max((t for k, t in thread if k in ("reply", "auto")), default=None)
            last = thread[-1][1]
            template = None
            if first_reply is not None and rng.random() < USE_SHARE and all_templates:
                pool = by_category.get(CATEGORY[kind])
                template = (
                    pool[rng.randrange(len(pool))]
                    if pool
                    else all_templates[rng.randrange(len(all_templates))][0]
                )
            for kind_of, t in thread:
                at = stamp(t, UTC)
                if kind_of == "buyer":
                    body = rng.choice(lines[kind]) if lines[kind] else "在吗？"
                    row = {
                        "direction": "inbound",
                        "author_id": None,
                        "automated": False,
                        "channel": "wangwang",
                        "delivery_status": "",
                    }
                elif kind_of == "reply":
                    body = rng.choice(replies[kind]) if replies[kind] else "亲，在的～"
                    row = {
                        "direction": "outbound",
                        "author_id": agent_id,
                        "automated": False,
                        "channel": "manual",
                        "delivery_status": "sent",
                    }
                elif kind_of == "auto":
                    body = AUTO_REPLY
                    row = {
                        "direction": "outbound",
                        "author_id": None,
                        "automated": True,
                        "channel": "manual",
                        "delivery_status": "sent",
                    }
                else:
                    body = rng.choice(NOTES)
                    row = {
                        "direction": "note",
                        "author_id": agent_id,
                        "automated": False,
                        "channel": "",
                        "delivery_status": "",
                    }
                row |= {
                    "ticket_id": ticket_id,
                    "body": body,
                    "template_id": template if kind_of == "reply" and t == first_reply else None,
                    "store_id": store_id,
                    "created_at": at,
                }
                messages.append(row)
            solved_at = None
            if status in ("solved", "closed"):
                solved = last + rng.uniform(30, 4 * 3600)
                solved_at = min(solved, self.now_s - 1)
            response = sla.response_target(priority).total_seconds()
            first_due = created + response
            resolution_due = created + sla.resolution_target(priority).total_seconds()
            waiting = (
                status in ("open", "pending", "snoozed")
                and thread[-1][0] == "buyer"
                and first_reply is not None
            )
            next_due = last_in + response if waiting else None
            due = _due(first_reply, first_due, next_due, resolution_due)
            risk, next_at = False, None
            if status in ("open", "pending", "snoozed"):
                risk, next_at = _risk(first_reply, first_due, next_due, resolution_due, response, self.now_s)
            tickets.append(
                {
                    "id": ticket_id,
                    "kind": kind,
                    "status": status,
                    "priority": priority,
                    "priority_rank": priority.rank,
                    "queue_rank": sla.queue_rank(priority, risk),
                    "sla_risk": risk,
                    "store_id": store_id,
                    "team_id": team_id,
                    "assignee_id": agent_id,
                    "customer_id": customer_id,
                    "order_id": order_id,
                    "subject": _subject(rng, subjects[kind], thread, lines[kind], customer_id, order_id),
                    "tags": rng.sample(TAGS, rng.randint(1, 2)) if rng.random() < 0.2 else [],
                    "snoozed_until": stamp(self.now_s + rng.choice((2, 5, 20, 44)) * 3600, UTC)
                    if status == "snoozed"
                    else None,
                    "due_at": stamp(due, UTC) if due is not None else None,
                    "first_response_due_at": stamp(first_due, UTC),
                    "next_response_due_at": stamp(next_due, UTC) if next_due is not None else None,
                    "resolution_due_at": stamp(resolution_due, UTC),
                    "sla_next_at": stamp(next_at, UTC) if next_at is not None else None,
                    "first_response_at": stamp(first_reply, UTC) if first_reply is not None else None,
                    "last_inbound_at": stamp(last_in, UTC),
                    "last_outbound_at": stamp(last_out, UTC) if last_out is not None else None,
                    "assigned_at": stamp(min(created + rng.uniform(1, 120), last), UTC) if assigned else None,
                    "solved_at": stamp(solved_at, UTC) if solved_at is not None else None,
                    "reopened_count": 1 if solved_at is not None and rng.random() < 0.04 else 0,
                    "created_at": stamp(created, UTC),
                    "updated_at": stamp(max(last, solved_at or last), UTC),
                }
            )
            if solved_at is not None and assigned and rng.random() < SURVEY_SHARE:
                survey = self._survey(ticket_id, store_id, customer_id, agent_id, template, solved_at)
                if survey is not None:
                    surveys.append(survey)
            if template is not None and first_reply is not None:
                uses.append(
                    self._use(template, kind, agent_id, ticket_id, customer_id, order_id, first_reply)
                )
            if len(tickets) >= BATCH:
                flush()
        if tickets:
            flush()
        fix_sequences(session, ["tickets"])

    def _survey(
        self, ticket_id: int, store_id: Any, customer_id: Any, agent_id: Any, template: Any, solved_at: float
    ) -> dict[str, Any] | None:
        rng = self.rng
        sent = solved_at + 600
        if sent > self.now_s:
            return None
        answered = sent + rng.uniform(180, 20 * 3600)
        answers = rng.random() < ANSWER_SHARE and answered <= self.now_s
        rating = self.pick_rating() if answers else None
        return {
            "ticket_id": ticket_id,
            "store_id": store_id,
            "customer_id": customer_id,
            "agent_id": agent_id,
            "template_id": template,
            "locale": "zh_CN",
            "sent_at": datetime.fromtimestamp(sent, UTC),
            "expires_at": datetime.fromtimestamp(sent + 7 * 86_400, UTC),
            "rating": rating,
            "comment": rng.choice(COMMENTS[rating]) if rating else "",
            "answered_at": datetime.fromtimestamp(answered, UTC) if answers else None,
        }

    def _use(
        self,
        template: int,
        kind: TicketKind,
        agent_id: Any,
        ticket_id: int,
        customer_id: Any,
        order_id: Any,
        at: float,
    ) -> dict[str, Any]:
        category = CATEGORY[kind]
        done = at + self.rng.uniform(600, 2 * 86_400)
        outcome = self.rng.random() < OUTCOME_SHARE and done <= self.now_s
        return {
            "template_id": template,
            "category": category,
            "locale": "zh_CN",
            "agent_id": agent_id,
            "ticket_id": ticket_id,
            "customer_id": customer_id,
            "order_id": order_id,
            "inquiry_id": None,
            "action": "sent",
            "used_at": datetime.fromtimestamp(at, UTC),
            "outcome": OUTCOMES.get(category, "replied") if outcome else None,
            "outcome_at": datetime.fromtimestamp(done, UTC) if outcome else None,
        }


def _chooser(rng: Any, pairs: Any) -> Callable[[], Any]:
    """A fast weighted choice among (value, weight) pairs (rng.choices costs more per call)."""
    values = [p[0] for p in pairs]
    cumulative = list(itertools.accumulate(p[1] for p in pairs))
    total = cumulative[-1]
    pick, draw = bisect.bisect, rng.random

    def choose() -> Any:
        return values[pick(cumulative, draw() * total)]

    return choose


def _order_before(
    rng: Any, times: list[float], orders: list[tuple[int, int, int]], at: float
) -> tuple[int, int, int] | None:
    """An order placed in the 30 days before `at` (what a ticket about an order is about)."""
    hi = bisect.bisect_right(times, at)
    lo = bisect.bisect_left(times, at - 30 * 86_400)
    if hi <= lo:
        return None
    return orders[rng.randrange(lo, hi)]


def _subject(
    rng: Any, subjects: list[str], thread: Any, lines: list[str], customer_id: Any, order_id: Any
) -> str:
    if subjects:
        return (
            rng.choice(subjects).format(nick=f"买家{customer_id}", number=order_id or "").rstrip(" ·")[:255]
        )
    return (rng.choice(lines) if lines else "买家咨询")[:40]


def _due(first_reply: Any, first_due: float, next_due: Any, resolution_due: float) -> float:
    """The earliest deadline still open (tickets.sla.refresh_due)."""
    open_ones = (
        [resolution_due] + ([first_due] if first_reply is None else []) + ([next_due] if next_due else [])
    )
    return min(open_ones)


def _risk(
    first_reply: Any, first_due: float, next_due: Any, resolution_due: float, response: float, now: float
) -> tuple[bool, float | None]:
    """At risk, and when the SLA job next has something to do, as tickets.sla schedules an active
    ticket on the calendar defaults: a missed deadline is due for recording now."""
    deadlines = [(resolution_due, response * sla.RESOLUTION_FACTOR)]
    if first_reply is None:
        deadlines.append((first_due, response))
    if next_due is not None:
        deadlines.append((next_due, response))
    risk, events = False, []
    for due, target in deadlines:
        if due <= now:
            risk = True
            events.append(now)
            continue
        events.append(due)
        warn = due - target * sla.DEFAULT_RISK_PERCENT / 100
        if warn <= now:
            risk = True
        else:
            events.append(warn)
    return risk, min(events) if events else None
