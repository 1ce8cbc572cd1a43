"""Usage of phrasing templates and what followed it: a review after 邀评, payment after 催付, a won
inquiry after 议价, a reply after 回访. Outcomes are written by event subscribers (app/events.py)
and by the tickets domain when a buyer writes (on_buyer_message); the metrics read usage_summary.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from app.accounts.models import Agent
from app.errors import InvalidInput, NotFound
from app.orders.lifecycle import Stage
from app.phrasing.models import PhrasingTemplate, PhrasingUsage
from app.phrasing.variables import normalize_locale
from app.presale.models import InquiryStatus
from app.tickets.models import Ticket

ACTIONS = ("sent", "copied")
REVIEW_WINDOW = timedelta(days=30)
REPLY_WINDOW = timedelta(days=7)
PAYMENT_WINDOW = timedelta(days=30)
REVISIT_CATEGORIES = ("revisit_holiday", "revisit_care", "revisit_new_arrivals")
# The outcome each category is measured by (categories not listed have no effectiveness figure).
OUTCOME_OF: dict[str, str] = {
    "review_request": "reviewed",
    "payment_reminder": "paid",
    "bargaining": "won",
    **{key: "replied" for key in REVISIT_CATEGORIES},
}


def record_usage(
    session: Session,
    *,
    template_id: int,
    agent: Agent | None,
    ticket: Ticket | None,
    action: str,
    locale: str,
    now: datetime,
) -> PhrasingUsage:
    """One use of a template on a ticket: "sent" through the desk, or "copied" to paste elsewhere."""
    if action not in ACTIONS:
        raise InvalidInput(
            "A template is sent or copied, not {action}.", fields={"action": "sent | copied"}, action=action
        )
    template = session.get(PhrasingTemplate, template_id)
    if template is None:
        raise NotFound("Phrasing template {id} does not exist.", id=template_id)
    usage = PhrasingUsage(
        template_id=template.id,
        category=template.category,
        locale=normalize_locale(locale),
        agent_id=agent.id if agent is not None else None,
        ticket_id=ticket.id if ticket is not None else None,
        customer_id=ticket.customer_id if ticket is not None else None,
        order_id=ticket.order_id if ticket is not None else None,
        inquiry_id=ticket.inquiry_id if ticket is not None else None,
        action=action,
        used_at=now,
    )
    session.add(usage)
    session.flush()
    return usage


def _mark(session: Session, condition: Any, *, outcome: str, now: datetime) -> int:
    result = session.execute(
        sa.update(PhrasingUsage)
        .where(condition, PhrasingUsage.outcome.is_(None), PhrasingUsage.used_at <= now)
        .values(outcome=outcome, outcome_at=now)
        # "fetch": loaded usage rows learn their outcome too (RETURNING, no scan of the session).
        .execution_options(synchronize_session="fetch")
    )
    return int(result.rowcount or 0)


# --- event subscribers -------------------------------------------------------------------------


def on_review_posted(session: Session, *, now: datetime, review: Any, **_: Any) -> None:
    """A review after a 邀评 on that order, or to that customer, in the last 30 days."""
    same = PhrasingUsage.customer_id == review.customer_id
    if review.order_id is not None:
        same = sa.or_(same, PhrasingUsage.order_id == review.order_id)
    _mark(
        session,
        sa.and_(
            PhrasingUsage.category == "review_request", same, PhrasingUsage.used_at >= now - REVIEW_WINDOW
        ),
        outcome="reviewed",
        now=now,
    )


def on_order_stage_changed(session: Session, *, now: datetime, order: Any, to_stage: Any, **_: Any) -> None:
    """Payment after a 催付 on that order."""
    if Stage(to_stage) != Stage.paid:
        return
    _mark(
        session,
        sa.and_(
            PhrasingUsage.order_id == order.id,
            PhrasingUsage.category == "payment_reminder",
            PhrasingUsage.used_at >= now - PAYMENT_WINDOW,
        ),
        outcome="paid",
        now=now,
    )


def on_inquiry_closed(session: Session, *, now: datetime, inquiry: Any, **_: Any) -> None:
    """An inquiry won after 议价 templates were used on it."""
    if InquiryStatus(inquiry.status) != InquiryStatus.won:
        return
    _mark(
        session,
        sa.and_(PhrasingUsage.inquiry_id == inquiry.id, PhrasingUsage.category == "bargaining"),
        outcome="won",
        now=now,
    )


def on_buyer_message(session: Session, *, now: datetime, customer_id: int | None, **_: Any) -> None:
    """A buyer's message within 7 days of a 回访 to them: the revisit got a reply."""
    if customer_id is None:
        return
    _mark(
        session,
        sa.and_(
            PhrasingUsage.customer_id == customer_id,
            PhrasingUsage.category.in_(REVISIT_CATEGORIES),
            PhrasingUsage.used_at >= now - REPLY_WINDOW,
        ),
        outcome="replied",
        now=now,
    )


# --- reading -----------------------------------------------------------------------------------


def usage_counts(
    session: Session, template_ids: list[int], *, since: datetime | None = None
) -> dict[int, int]:
    if not template_ids:
        return {}
    query = select(PhrasingUsage.template_id, sa.func.count()).where(
        PhrasingUsage.template_id.in_(template_ids)
    )
    if since is not None:
        query = query.where(PhrasingUsage.used_at >= since)
    return {tid: int(n) for tid, n in session.exec(query.group_by(PhrasingUsage.template_id))}


@dataclass
class TemplateUsage:
    template_id: int
    title: str
    category: str
    is_active: bool
    uses: int = 0
    sent: int = 0
    copied: int = 0
    by_agent: dict[int, int] = field(default_factory=dict)  # agent id → uses
    outcomes: dict[str, int] = field(default_factory=dict)  # outcome → uses followed by it
    measured_by: str | None = None  # the outcome this category is for

    @property
    def rate(self) -> float | None:
        """The share of uses followed by the category's outcome; None without uses or a measure."""
        if not self.uses or self.measured_by is None:
            return None
        return self.outcomes.get(self.measured_by, 0) / self.uses


def usage_summary(
    session: Session, *, since: datetime, until: datetime, template_ids: list[int] | None = None
) -> list[TemplateUsage]:
    """Per template (all active ones, and inactive ones used in the window): uses in [since, until),
    by whom, and their outcomes. Aggregated in SQL."""
    window = sa.and_(PhrasingUsage.used_at >= since, PhrasingUsage.used_at < until)
    listed = select(PhrasingTemplate).where(
        sa.or_(
            PhrasingTemplate.is_active == sa.true(),
            PhrasingTemplate.id.in_(select(PhrasingUsage.template_id).where(window)),
        )
    )
    if template_ids is not None:
        listed = listed.where(PhrasingTemplate.id.in_(template_ids))
    rows = {
        t.id: TemplateUsage(
            template_id=t.id,
            title=t.title,
            category=t.category,
            is_active=t.is_active,
            measured_by=OUTCOME_OF.get(t.category),
        )
        for t in session.exec(listed.order_by(PhrasingTemplate.category, PhrasingTemplate.id))
    }
    if not rows:
        return []
    ids = list(rows)
    base = sa.and_(window, PhrasingUsage.template_id.in_(ids))
    by_action = select(PhrasingUsage.template_id, PhrasingUsage.action, sa.func.count()).where(base)
    for tid, action, n in session.exec(by_action.group_by(PhrasingUsage.template_id, PhrasingUsage.action)):
        row = rows[tid]
        row.uses += int(n)
        if action == "sent":
            row.sent += int(n)
        elif action == "copied":
            row.copied += int(n)
    by_agent = select(PhrasingUsage.template_id, PhrasingUsage.agent_id, sa.func.count()).where(
        base, PhrasingUsage.agent_id.is_not(None)
    )
    for tid, agent_id, n in session.exec(
        by_agent.group_by(PhrasingUsage.template_id, PhrasingUsage.agent_id)
    ):
        rows[tid].by_agent[int(agent_id)] = int(n)
    outcomes: dict[int, dict[str, int]] = defaultdict(dict)
    by_outcome = select(PhrasingUsage.template_id, PhrasingUsage.outcome, sa.func.count()).where(
        base, PhrasingUsage.outcome.is_not(None)
    )
    for tid, outcome, n in session.exec(
        by_outcome.group_by(PhrasingUsage.template_id, PhrasingUsage.outcome)
    ):
        outcomes[tid][str(outcome)] = int(n)
    for tid, found in outcomes.items():
        rows[tid].outcomes = found
    return list(rows.values())
