"""Suggestions for a ticket: the templates an agent may use, those for the ticket's kind first,
then for where its order (or inquiry) stands, the agent's most used first; searchable by text or
shortcut ("/yp")."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from app.accounts.models import Agent
from app.orders.lifecycle import Stage
from app.orders.models import Order
from app.phrasing import access
from app.phrasing.categories import CATEGORIES
from app.phrasing.models import PhrasingScope, PhrasingTemplate, PhrasingUsage
from app.phrasing.queries import text_match, variants_for
from app.presale.models import Inquiry, InquiryStatus
from app.tickets.models import Ticket, TicketKind

# What each kind of ticket is about, as phrasing categories (first = most likely).
KIND_CATEGORIES: dict[TicketKind, tuple[str, ...]] = {
    TicketKind.inquiry: ("presale_reassurance",),
    TicketKind.bargaining: ("bargaining", "presale_reassurance"),
    TicketKind.payment_reminder: ("payment_reminder",),
    TicketKind.reassurance: ("payment_reassurance",),
    TicketKind.shipping: ("shipping_notice", "delivery_care"),
    TicketKind.confirm_nudge: ("confirm_receipt",),
    TicketKind.review_request: ("review_request",),
    TicketKind.review_thanks: ("review_thanks",),
    TicketKind.bad_review: ("bad_review_reply",),
    TicketKind.lost_lead: ("lost_lead",),
    TicketKind.aftersales: ("aftersales",),
    TicketKind.revisit: ("revisit_holiday", "revisit_care", "revisit_new_arrivals"),
    TicketKind.buyer_message: (),
    TicketKind.other: (),
}
# What fits an order in each stage.
STAGE_CATEGORIES: dict[Stage, tuple[str, ...]] = {
    Stage.ordered: ("payment_reminder",),
    Stage.paid: ("payment_reassurance", "shipping_notice"),
    Stage.shipped: ("shipping_notice",),
    Stage.delivered: ("delivery_care", "confirm_receipt"),
    Stage.confirmed: ("review_request",),
    Stage.review_requested: ("review_request",),
    Stage.reviewed: ("review_thanks", "bad_review_reply"),
    Stage.cancelled: (),
    Stage.refunded: ("aftersales",),
}
INQUIRY_CATEGORIES: dict[InquiryStatus, tuple[str, ...]] = {
    InquiryStatus.open: ("presale_reassurance",),
    InquiryStatus.bargaining: ("bargaining",),
    InquiryStatus.won: ("payment_reassurance",),
    InquiryStatus.lost: ("lost_lead",),
}
MAX_SUGGESTION_ROWS = 500


@dataclass
class Suggestion:
    template_id: int
    title: str
    category: str
    category_zh: str
    category_label: str  # English msgid
    shortcut: str
    scope: str
    preview: str
    locales: list[str] = field(default_factory=list)
    relevance: int = 2  # 0: the ticket's kind, 1: its order's (or inquiry's) stage, 2: a search hit

    @property
    def fits(self) -> bool:
        return self.relevance < 2


def ticket_categories(session: Session, ticket: Ticket) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(categories for the ticket's kind, categories for where its order or inquiry stands)."""
    by_kind = KIND_CATEGORIES.get(TicketKind(ticket.kind), ())
    by_stage: tuple[str, ...] = ()
    if ticket.order_id is not None:
        stage = session.exec(select(Order.stage).where(Order.id == ticket.order_id)).first()
        if stage is not None:
            by_stage += STAGE_CATEGORIES.get(Stage(stage), ())
    if ticket.inquiry_id is not None:
        status = session.exec(select(Inquiry.status).where(Inquiry.id == ticket.inquiry_id)).first()
        if status is not None:
            by_stage += INQUIRY_CATEGORIES.get(InquiryStatus(status), ())
    return by_kind, by_stage


def _uses_by(session: Session, agent: Agent, template_ids: list[int]) -> dict[int, int]:
    if not template_ids:
        return {}
    query = (
        select(PhrasingUsage.template_id, sa.func.count())
        .where(PhrasingUsage.agent_id == agent.id, PhrasingUsage.template_id.in_(template_ids))
        .group_by(PhrasingUsage.template_id)
    )
    return {tid: int(n) for tid, n in session.exec(query)}


def suggest(
    session: Session, *, agent: Agent, ticket: Ticket, q: str = "", limit: int = 20
) -> list[Suggestion]:
    """Active templates the agent may use: those for the ticket's kind first, then for its stage;
    the agent's most used first within each; `q` narrows by title, text or shortcut ("/yp")."""
    limit = max(1, min(int(limit), 100))
    q = (q or "").strip()[:100]
    query = select(PhrasingTemplate).where(
        access.visible_condition(agent), PhrasingTemplate.is_active == sa.true()
    )
    if q.startswith("/"):
        query = query.where(PhrasingTemplate.shortcut.startswith(q.lower(), autoescape=True))
    elif q:
        query = query.where(text_match(q))
    templates = list(session.exec(query.order_by(PhrasingTemplate.id).limit(MAX_SUGGESTION_ROWS)))
    by_kind, by_stage = ticket_categories(session, ticket)
    uses = _uses_by(session, agent, [t.id for t in templates])

    def rank(t: PhrasingTemplate) -> tuple[Any, ...]:
        relevance = 0 if t.category in by_kind else 1 if t.category in by_stage else 2
        exact = 0 if q and t.shortcut == q.lower() else 1
        return (exact, relevance, -uses.get(t.id, 0), t.title)

    chosen = sorted(templates, key=rank)[:limit]
    texts = variants_for(session, [t.id for t in chosen])
    result = []
    for t in chosen:
        variants = texts.get(t.id, {})
        body = variants.get("zh_CN") or next(iter(variants.values()), "")
        result.append(
            Suggestion(
                template_id=t.id,
                title=t.title,
                category=t.category,
                category_zh=CATEGORIES[t.category].zh if t.category in CATEGORIES else t.category,
                category_label=CATEGORIES[t.category].label if t.category in CATEGORIES else t.category,
                shortcut=t.shortcut,
                scope=PhrasingScope(t.scope).value,
                preview=" ".join(body.split())[:80],
                locales=list(variants),
                relevance=rank(t)[1],
            )
        )
    return result
