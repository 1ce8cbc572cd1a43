"""Bargaining rounds (议价记录) and the floor price: an agent's agreement below the floor waits for
a supervisor's approval; a supervisor's own is allowed and audit-logged as a floor override."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from app.audit.models import Approval, ApprovalKind, ApprovalStatus
from app.audit.service import Actor, record, request_approval
from app.catalog.models import Product
from app.errors import Conflict, InvalidInput
from app.money import parse_money
from app.presale import bargaining, lifecycle
from app.presale.cards import SUBJECT
from app.presale.models import BargainRound, Inquiry, InquiryProduct, InquiryStatus, Speaker
from app.presale.service import move

OVERRIDE_ROLES = frozenset({"supervisor", "admin"})


@dataclass
class RoundOutcome:
    round: BargainRound
    approval: Approval | None = None


def _role(agent: Any) -> str:
    role = getattr(agent, "role", None)
    return str(getattr(role, "value", role)) if role is not None else ""


def record_round(
    session: Session,
    inquiry: Inquiry,
    *,
    product_id: Any,
    speaker: Speaker | str,
    offered_price: Any,
    concessions: Any = None,
    note: str = "",
    is_agreed: bool = False,
    agent: Any = None,
    actor: Actor | None = None,
    now: datetime,
) -> RoundOutcome:
    """Record the next round. `agent` is the logged-in agent; API calls pass `actor` (the key) instead."""
    if lifecycle.is_closed(inquiry.status):
        raise Conflict(
            "Inquiry {id} is closed ({status}); no more bargaining rounds can be recorded.",
            id=inquiry.id,
            status=InquiryStatus(inquiry.status).value,
        )
    # Validate everything before writing anything.
    try:
        who = Speaker(speaker)
    except ValueError as exc:
        raise InvalidInput(
            "The speaker is buyer or agent, not {speaker}.",
            fields={"speaker": "buyer | agent"},
            speaker=speaker,
        ) from exc
    try:
        pid = int(product_id)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            "Choose the product this offer is for.", fields={"product_id": "required"}
        ) from exc
    linked = session.exec(
        select(InquiryProduct).where(
            InquiryProduct.inquiry_id == inquiry.id, InquiryProduct.product_id == pid
        )
    ).first()
    product = session.get(Product, pid) if linked else None
    if product is None:
        raise InvalidInput(
            "Product {id} is not part of this inquiry.", fields={"product_id": "not in the inquiry"}, id=pid
        )
    price = parse_money(offered_price, field="offered_price")
    if price == 0:
        raise InvalidInput("offered_price must be above zero.", fields={"offered_price": "must be > 0"})
    items = bargaining.parse_concessions(concessions)
    value = bargaining.concessions_total(items)
    note = (note or "").strip()
    if len(note) > 500:
        raise InvalidInput("The note is at most 500 characters.", fields={"note": "at most 500"})

    effective = bargaining.effective_price(price, value)
    below_floor = bool(is_agreed) and effective < product.floor_price
    may_override = agent is not None and _role(agent) in OVERRIDE_ROLES
    by = actor or (Actor.agent(agent) if agent is not None else Actor("system"))

    seq = (
        session.exec(select(sa.func.max(BargainRound.seq)).where(BargainRound.inquiry_id == inquiry.id)).one()
        or 0
    ) + 1
    row = BargainRound(
        inquiry_id=inquiry.id,
        product_id=pid,
        seq=seq,
        speaker=who,
        offered_price=price,
        concessions=items,
        concessions_value=value,
        # Below the floor an agent's agreement does not stand until a supervisor approves it.
        is_agreed=bool(is_agreed) and (not below_floor or may_override),
        note=note,
        agent_id=agent.id if agent is not None else None,
        offered_at=now,
        created_at=now,
    )
    session.add(row)
    if inquiry.agent_id is None and agent is not None:
        inquiry.agent_id = agent.id
    inquiry.updated_at = now
    session.add(inquiry)
    session.flush()
    if inquiry.status == InquiryStatus.open:
        move(session, inquiry, to=InquiryStatus.bargaining, actor=by, now=now)

    approval = None
    if below_floor and may_override:
        record(
            session,
            action="presale.floor_override",
            actor=by,
            subject_type=SUBJECT,
            subject_id=row.id,
            amount=effective,
            currency=product.currency,
            detail={"inquiry_id": inquiry.id, "product_id": pid, "floor": str(product.floor_price)},
            now=now,
        )
    elif below_floor:
        approval = request_approval(
            session,
            kind=ApprovalKind.price_below_floor,
            subject_type=SUBJECT,
            subject_id=row.id,
            amount=effective,
            limit_amount=product.floor_price,
            currency=product.currency,
            reason=f"{product.title}: {effective} < {product.floor_price}" + (f" — {note}" if note else ""),
            requested_by_id=agent.id if agent is not None else None,
            actor=by,
            now=now,
        )
    return RoundOutcome(row, approval)


def apply_decision(session: Session, *, approval: Approval, now: datetime) -> None:
    """approval.decided: approved → the agreed price stands; rejected → the round stays, not agreed."""
    if approval.kind != ApprovalKind.price_below_floor or approval.subject_type != SUBJECT:
        return
    row = session.get(BargainRound, approval.subject_id)
    if row is None:
        return
    row.is_agreed = approval.status == ApprovalStatus.approved
    session.add(row)
    inquiry = session.get(Inquiry, row.inquiry_id)
    if inquiry is not None:
        inquiry.updated_at = now
        session.add(inquiry)
    session.flush()
