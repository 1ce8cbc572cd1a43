"""Read models of inquiries: products, rounds, the suggested counter, discount so far, pending approvals.

Used by the inquiry page, the JSON API and the customer page (`_inquiry_card.html` renders a card).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlmodel import Session, select

from app.audit.models import Approval, ApprovalStatus
from app.catalog.models import Product
from app.customers.models import Customer
from app.presale import bargaining, lifecycle
from app.presale.models import BargainRound, Inquiry, InquiryProduct

SUBJECT = "bargain_round"


@dataclass
class ProductLine:
    product: Product
    suggestion: Decimal
    discount: Decimal
    agreed_price: Decimal | None


@dataclass
class InquiryCard:
    inquiry: Inquiry
    products: list[ProductLine]
    rounds: list[BargainRound]
    pending_approvals: list[Approval] = field(default_factory=list)
    customer: Customer | None = None

    @property
    def is_closed(self) -> bool:
        return lifecycle.is_closed(self.inquiry.status)

    @property
    def discount(self) -> Decimal:
        return sum((line.discount for line in self.products), Decimal("0.00"))

    @property
    def suggestion(self) -> Decimal | None:
        return self.products[0].suggestion if self.products else None

    @property
    def pending_approval(self) -> Approval | None:
        return self.pending_approvals[0] if self.pending_approvals else None

    def product_title(self, product_id: int) -> str:
        for line in self.products:
            if line.product.id == product_id:
                return line.product.title
        return f"#{product_id}"

    def pending_for(self, round_id: int) -> Approval | None:
        return next((a for a in self.pending_approvals if a.subject_id == round_id), None)


def products_of(session: Session, inquiry_id: int) -> list[Product]:
    query = (
        select(Product)
        .join(InquiryProduct, InquiryProduct.product_id == Product.id)
        .where(InquiryProduct.inquiry_id == inquiry_id)
        .order_by(InquiryProduct.id)
    )
    return list(session.exec(query))


def rounds_of(session: Session, inquiry_id: int) -> list[BargainRound]:
    query = select(BargainRound).where(BargainRound.inquiry_id == inquiry_id).order_by(BargainRound.seq)
    return list(session.exec(query))


def build_cards(session: Session, inquiries: list[Inquiry]) -> list[InquiryCard]:
    """Cards for several inquiries in five queries, whatever their number."""
    ids = [i.id for i in inquiries]
    if not ids:
        return []
    products: dict[int, list[Product]] = defaultdict(list)
    query = (
        select(InquiryProduct.inquiry_id, Product)
        .join(Product, InquiryProduct.product_id == Product.id)
        .where(InquiryProduct.inquiry_id.in_(ids))
        .order_by(InquiryProduct.id)
    )
    for inquiry_id, product in session.exec(query):
        products[inquiry_id].append(product)
    rounds: dict[int, list[BargainRound]] = defaultdict(list)
    query_rounds = (
        select(BargainRound)
        .where(BargainRound.inquiry_id.in_(ids))
        .order_by(BargainRound.inquiry_id, BargainRound.seq)
    )
    for row in session.exec(query_rounds):
        rounds[row.inquiry_id].append(row)
    round_ids = [r.id for rs in rounds.values() for r in rs]
    pending: dict[int, list[Approval]] = defaultdict(list)
    if round_ids:
        owner = {r.id: r.inquiry_id for rs in rounds.values() for r in rs}
        query_approvals = select(Approval).where(
            Approval.subject_type == SUBJECT,
            Approval.subject_id.in_(round_ids),
            Approval.status == ApprovalStatus.pending,
        )
        for approval in session.exec(query_approvals.order_by(Approval.id)):
            pending[owner[approval.subject_id]].append(approval)
    customer_ids = {i.customer_id for i in inquiries}
    customers = {c.id: c for c in session.exec(select(Customer).where(Customer.id.in_(customer_ids)))}
    cards = []
    for inquiry in inquiries:
        its_rounds = rounds.get(inquiry.id, [])
        lines = [
            ProductLine(
                product=p,
                suggestion=bargaining.suggest_counter(p, its_rounds),
                discount=bargaining.discount_so_far(p, its_rounds),
                agreed_price=bargaining.agreed_price(p, its_rounds),
            )
            for p in products.get(inquiry.id, [])
        ]
        cards.append(
            InquiryCard(
                inquiry, lines, its_rounds, pending.get(inquiry.id, []), customers.get(inquiry.customer_id)
            )
        )
    return cards


def inquiry_card(session: Session, inquiry: Inquiry) -> InquiryCard:
    return build_cards(session, [inquiry])[0]


def inquiries_for_customer(session: Session, customer_id: int) -> list[Inquiry]:
    """The customer's latest 100 inquiries, active first, newest first."""
    query = select(Inquiry).where(Inquiry.customer_id == customer_id).order_by(Inquiry.opened_at.desc())
    inquiries = list(session.exec(query.limit(100)))
    active = [i for i in inquiries if i.status in lifecycle.ACTIVE]
    return active + [i for i in inquiries if i.status not in lifecycle.ACTIVE]


def inquiry_cards_for_customer(session: Session, customer_id: int) -> list[InquiryCard]:
    """The customer's inquiries as cards, active first, newest first."""
    return build_cards(session, inquiries_for_customer(session, customer_id))
