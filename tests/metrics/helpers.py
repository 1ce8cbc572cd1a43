"""Plain rows with exact local times, for the KPI fixture with known answers (the services that
write these rows are tested in their own domains)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlmodel import Session

from app.aftersales.models import AftersalesCase, CaseHistoryEntry
from app.followups.models import Followup
from app.metrics.period import Period
from app.orders.models import Order, OrderItem
from app.phrasing.models import PhrasingTemplate, PhrasingUsage
from app.presale.models import BargainRound, Inquiry
from app.reviews.models import CsatSurvey, Review
from app.tickets.models import Ticket, TicketMessage
from tests.factories import make_agent, make_customer, make_product, make_store, make_team

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30), "Asia/Shanghai")
_seq = itertools.count(1)


def local(day: int, hour: int = 10, minute: int = 0, second: int = 0, *, month: int = 11) -> datetime:
    """An instant given in Shanghai local time (November 2026 unless told), as aware UTC."""
    return datetime(2026, month, day, hour, minute, second, tzinfo=SHANGHAI).astimezone(UTC)


def add(db: Session, row):
    db.add(row)
    db.flush()
    return row


def ticket(db: Session, customer, *, at: datetime, assignee=None, **overrides) -> Ticket:
    values = {
        "kind": "buyer_message",
        "status": "open",
        "store_id": customer.store_id,
        "customer_id": customer.id,
        "assignee_id": assignee.id if assignee else None,
        "subject": f"咨询 {next(_seq)}",
        "tags": [],
        "created_at": at,
        "updated_at": at,
    } | overrides
    return add(db, Ticket(**values))


def message(db: Session, t: Ticket, direction: str, at: datetime, *, author=None, automated=False):
    return add(
        db,
        TicketMessage(
            ticket_id=t.id,
            direction=direction,
            author_id=author.id if author else None,
            automated=automated,
            body="…",
            created_at=at,
        ),
    )


def order(db: Session, customer, *, placed_at: datetime, total: str = "100.00", **overrides) -> Order:
    n = next(_seq)
    values = {
        "store_id": customer.store_id,
        "customer_id": customer.id,
        "number": f"M{n:06d}",
        "stage": "paid" if overrides.get("paid_at") else "ordered",
        "subtotal": Decimal(total),
        "total": Decimal(total),
        "placed_at": placed_at,
        "created_at": placed_at,
        "updated_at": placed_at,
    } | overrides
    return add(db, Order(**values))


def item(db: Session, o: Order, *, unit_price: str, quantity: int = 1, agreed_price: str | None = None):
    price = Decimal(agreed_price or unit_price)
    return add(
        db,
        OrderItem(
            order_id=o.id,
            title="明前龙井",
            quantity=quantity,
            unit_price=Decimal(unit_price),
            agreed_price=Decimal(agreed_price) if agreed_price else None,
            line_total=price * quantity,
        ),
    )


def inquiry(db: Session, customer, *, opened_at: datetime, agent=None, **overrides) -> Inquiry:
    values = {
        "store_id": customer.store_id,
        "customer_id": customer.id,
        "agent_id": agent.id if agent else None,
        "opened_at": opened_at,
        "created_at": opened_at,
        "updated_at": opened_at,
    } | overrides
    return add(db, Inquiry(**values))


def bargain_round(db: Session, inq: Inquiry, product, *, at: datetime) -> BargainRound:
    return add(
        db,
        BargainRound(
            inquiry_id=inq.id,
            product_id=product.id,
            seq=next(_seq),
            speaker="buyer",
            offered_price=Decimal("150.00"),
            offered_at=at,
            created_at=at,
        ),
    )


def survey(db: Session, t: Ticket, *, sent_at: datetime, agent=None, rating=None, answered_at=None):
    return add(
        db,
        CsatSurvey(
            ticket_id=t.id,
            store_id=t.store_id,
            customer_id=t.customer_id,
            agent_id=agent.id if agent else None,
            sent_at=sent_at,
            expires_at=sent_at + timedelta(days=7),
            rating=rating,
            answered_at=answered_at,
        ),
    )


def review(db: Session, customer, *, posted_at: datetime, grade: str, order_id=None) -> Review:
    rating = {"good": 5, "neutral": 3, "bad": 1}[grade]
    return add(
        db,
        Review(
            store_id=customer.store_id,
            customer_id=customer.id,
            order_id=order_id,
            rating=rating,
            grade=grade,
            posted_at=posted_at,
            created_at=posted_at,
            updated_at=posted_at,
        ),
    )


def case(db: Session, o: Order, *, requested_at: datetime, decided_at=None, decider=None, **overrides):
    values = {
        "order_id": o.id,
        "customer_id": o.customer_id,
        "store_id": o.store_id,
        "kind": "refund_only",
        "reason": "quality",
        "requested_at": requested_at,
        "decided_at": decided_at,
        "created_at": requested_at,
        "updated_at": requested_at,
    } | overrides
    c = add(db, AftersalesCase(**values))
    if decided_at is not None:
        to_state = "rejected" if values.get("decided_in_buyer_favour") is False else "approved"
        add(
            db,
            CaseHistoryEntry(
                case_id=c.id,
                from_state="requested",
                to_state=to_state,
                actor_type="agent" if decider else "system",
                actor_id=decider.id if decider else None,
                occurred_at=decided_at,
            ),
        )
    return c


def revisit(db: Session, customer, *, due_at: datetime, status: str = "pending", **overrides) -> Followup:
    values = {
        "dedupe_key": f"revisit-{next(_seq)}",
        "kind": "revisit",
        "trigger": "revisit_plan",
        "store_id": customer.store_id,
        "customer_id": customer.id,
        "category": "revisit_care",
        "action": "task",
        "due_at": due_at,
        "status": status,
        "created_at": due_at,
    } | overrides
    return add(db, Followup(**values))


def template(db: Session, *, category: str = "review_request", title: str = "邀评") -> PhrasingTemplate:
    return add(
        db,
        PhrasingTemplate(
            title=f"{title} {next(_seq)}",
            category=category,
            created_at=NOVEMBER.start_utc,
            updated_at=NOVEMBER.start_utc,
        ),
    )


def usage(db: Session, tpl: PhrasingTemplate, *, used_at: datetime, agent=None, t=None, outcome_at=None):
    return add(
        db,
        PhrasingUsage(
            template_id=tpl.id,
            category=tpl.category,
            locale="zh_CN",
            agent_id=agent.id if agent else None,
            ticket_id=t.id if t else None,
            action="sent",
            used_at=used_at,
            outcome="reviewed" if outcome_at else None,
            outcome_at=outcome_at,
        ),
    )


def desk(db):
    """A month of varied work for two agents in two stores."""
    team = make_team(db)
    x, y = make_agent(db, team=team.name), make_agent(db)
    one, two = make_store(db), make_store(db)
    product = make_product(db, store=one)
    buyers = [make_customer(db, store=one if i % 2 else two) for i in range(8)]
    for i, buyer in enumerate(buyers):
        day = 3 + 3 * i
        agent = x if i % 3 else y
        t = ticket(
            db,
            buyer,
            at=local(day, 9),
            assignee=agent,
            status="solved" if i % 4 else "open",
            solved_at=local(day, 15) if i % 4 else None,
            first_response_due_at=local(day, 9, 10),
            resolution_due_at=local(day, 12),
        )
        message(db, t, "inbound", local(day, 9))
        message(db, t, "outbound", local(day, 9, 0, 3), automated=True)
        if i != 5:
            message(db, t, "outbound", local(day, 9, i + 1, 7 * i), author=agent)
        message(db, t, "inbound", local(day, 22, 30))
        asked = inquiry(db, buyer, opened_at=local(day, 8), agent=agent)
        if i % 2:
            o = order(
                db,
                buyer,
                placed_at=local(day + 1, 10),
                paid_at=local(day + 1, 10, 5),
                total=f"{100 + 10 * i}.00",
                assisted_by_id=agent.id,
            )
            item(db, o, unit_price="120.00", agreed_price="100.00")
            asked.status, asked.won_order_id, asked.closed_at = "won", o.id, local(day + 1, 10)
            bargain_round(db, asked, product, at=local(day, 9))
            review(db, buyer, posted_at=local(day + 2), grade="good" if i != 3 else "bad", order_id=o.id)
        if t.solved_at:
            answered = t.solved_at + timedelta(hours=2)
            survey(db, t, sent_at=t.solved_at, agent=agent, rating=5 - i % 3, answered_at=answered)
        sent = {"status": "done", "action": "auto", "outcome": "sent", "handled_at": local(day)}
        revisit(db, buyer, due_at=local(day), **sent)
    tpl = template(db)
    usage(db, tpl, used_at=local(4), agent=x, outcome_at=local(5))
    usage(db, tpl, used_at=local(4), agent=y)
    db.flush()
    return {"x": x, "y": y, "team": team, "one": one, "two": two, "buyers": buyers}
