"""The demo seed gives the desk live-looking work: queues per team and tickets in every state."""

import random

import sqlalchemy as sa
from faker import Faker
from rich.progress import Progress
from sqlmodel import select

from app.accounts.models import Team
from app.demo import SEED_STEPS, DemoContext, DemoSizes, _step
from app.tickets.models import MessageDirection, Queue, Ticket, TicketMessage
from tests.factories import T0


def test_the_demo_seeds_queues_and_tickets_in_every_state(db):
    faker = Faker("zh_CN")
    faker.seed_instance(7)
    ctx = DemoContext(
        session=db,
        sizes=DemoSizes(customers=80, orders=240),
        rng=random.Random(7),
        faker=faker,
        now=T0,
        progress=Progress(disable=True),
    )
    for step in SEED_STEPS:
        _step(step)(ctx)
        db.flush()
    teams = list(db.exec(select(Team)))
    for team in teams:
        assert db.exec(select(sa.func.count()).select_from(Queue).where(Queue.team_id == team.id)).one() == 12
    statuses = dict(db.exec(select(Ticket.status, sa.func.count()).group_by(Ticket.status)).all())
    assert sum(statuses.values()) >= 30
    assert {"open", "pending", "snoozed", "solved"} <= set(statuses)
    directions = set(db.exec(select(TicketMessage.direction).distinct()))
    assert directions == {MessageDirection.inbound, MessageDirection.outbound, MessageDirection.note}
    empty = db.exec(
        select(sa.func.count())
        .select_from(Ticket)
        .where(~sa.exists().where(TicketMessage.ticket_id == Ticket.id))
    ).one()
    assert empty == 0, "every ticket has its conversation"
    kinds = set(db.exec(select(Ticket.kind).distinct()))
    assert len(kinds) >= 8
