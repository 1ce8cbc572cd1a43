"""Solved tickets with an agent's reply, CSAT surveys and QA inspections, as plain rows, for the
survey, target and quality tests (the desk's own services are tested in tests/tickets)."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from sqlmodel import Session

from app.accounts.models import Agent
from app.phrasing.models import PhrasingTemplate, PhrasingUsage
from app.reviews.models import CsatSurvey
from app.tickets.models import MessageDirection, Ticket, TicketKind, TicketMessage, TicketStatus
from tests.factories import T0, make_agent, make_customer, make_store

_seq = itertools.count(1)


def make_solved_ticket(
    db: Session,
    *,
    agent: Agent | None = None,
    customer=None,
    store=None,
    kind: TicketKind = TicketKind.buyer_message,
    solved_at: datetime = T0,
    reply: bool = True,
    template_id: int | None = None,
    status: TicketStatus = TicketStatus.solved,
) -> Ticket:
    """A ticket the agent answered (one human outbound reply) and solved at `solved_at`."""
    if customer is None:
        customer = make_customer(db, store=store or make_store(db))
    agent = agent if agent is not None else make_agent(db)
    ticket = Ticket(
        kind=kind,
        status=status,
        store_id=customer.store_id,
        customer_id=customer.id,
        assignee_id=agent.id if agent else None,
        subject=f"买家咨询 {next(_seq)}",
        tags=[],
        solved_at=solved_at if status in (TicketStatus.solved, TicketStatus.closed) else None,
        created_at=solved_at - timedelta(hours=1),
        updated_at=solved_at,
    )
    db.add(ticket)
    db.flush()
    db.add(
        TicketMessage(
            ticket_id=ticket.id,
            direction=MessageDirection.inbound,
            body="请问什么时候发货？",
            created_at=solved_at - timedelta(hours=1),
        )
    )
    if reply and agent is not None:
        db.add(
            TicketMessage(
                ticket_id=ticket.id,
                direction=MessageDirection.outbound,
                author_id=agent.id,
                body="亲，今天下午就给您发出哦～",
                channel="manual",
                delivery_status="sent",
                template_id=template_id,
                created_at=solved_at - timedelta(minutes=30),
            )
        )
    db.flush()
    return ticket


def make_template(db: Session, *, category: str = "shipping_notice") -> PhrasingTemplate:
    template = PhrasingTemplate(
        title=f"发货话术 {next(_seq)}", category=category, created_at=T0, updated_at=T0
    )
    db.add(template)
    db.flush()
    return template


def record_use(db: Session, template: PhrasingTemplate, ticket: Ticket, *, locale: str, at: datetime) -> None:
    db.add(
        PhrasingUsage(
            template_id=template.id,
            category=template.category,
            locale=locale,
            agent_id=ticket.assignee_id,
            ticket_id=ticket.id,
            customer_id=ticket.customer_id,
            action="sent",
            used_at=at,
        )
    )
    db.flush()


def make_survey(
    db: Session,
    ticket: Ticket,
    *,
    sent_at: datetime = T0,
    days: int = 7,
    rating: int | None = None,
    locale: str = "zh_CN",
) -> CsatSurvey:
    survey = CsatSurvey(
        ticket_id=ticket.id,
        store_id=ticket.store_id,
        customer_id=ticket.customer_id,
        agent_id=ticket.assignee_id,
        locale=locale,
        sent_at=sent_at,
        expires_at=sent_at + timedelta(days=days),
        rating=rating,
        answered_at=sent_at + timedelta(hours=1) if rating is not None else None,
    )
    db.add(survey)
    db.flush()
    return survey
