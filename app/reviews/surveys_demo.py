"""Demo CSAT surveys: one for each solved demo ticket an agent handled, most of them answered
(mostly warm, a few unhappy), so the satisfaction figures and the 质检 filters have data."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import select

from app.customers.models import Customer
from app.demo import DemoContext
from app.integrations.models import Store
from app.reviews import surveys
from app.reviews.models import CsatSurvey
from app.tickets.models import Ticket, TicketStatus

RATINGS = ((5, 58), (4, 22), (3, 9), (2, 6), (1, 5))
COMMENTS = {
    5: ("回复很快，问题一次就解决了，谢谢！", "小姐姐特别耐心，给五星", "", ""),
    4: ("挺好的，就是等了一会儿", "解决了，态度不错", ""),
    3: ("还行吧，来回问了好几次", ""),
    2: ("回复太慢了，等了半天", "答非所问"),
    1: ("问题到现在也没解决", "态度很敷衍"),
}
ANSWER_SHARE = 0.6


def seed(ctx: DemoContext) -> None:
    session, rng, now = ctx.session, ctx.rng, ctx.now
    has_survey = sa.exists().where(CsatSurvey.ticket_id == Ticket.id)
    query = (
        select(Ticket)
        .where(Ticket.status.in_((TicketStatus.solved, TicketStatus.closed)), Ticket.assignee_id.is_not(None))
        .where(Ticket.customer_id.is_not(None), ~has_survey)
        .order_by(Ticket.id)
    )
    for ticket in session.exec(query).all():
        customer = session.get(Customer, ticket.customer_id)
        store = session.get(Store, customer.store_id)
        sent = min((ticket.solved_at or now) + timedelta(minutes=10), now)
        survey, _ = surveys.invite(session, ticket=ticket, store=store, customer=customer, days=7, now=sent)
        surveys.note_invitation(session, ticket, survey, sent=True, now=sent)
        if rng.random() >= ANSWER_SHARE:
            continue
        rating = rng.choices([r for r, _ in RATINGS], weights=[w for _, w in RATINGS])[0]
        answered = min(sent + timedelta(minutes=rng.uniform(3, 600)), now)
        surveys.answer(session, survey, rating=rating, comment=rng.choice(COMMENTS[rating]), now=answered)
