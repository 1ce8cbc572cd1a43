"""Shopify's mandatory privacy topics: a buyer's data request, a buyer's erasure, a shop's erasure."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from app.audit.service import STOREFRONT, record
from app.customers import privacy
from app.customers.models import Customer
from app.integrations.mapping_common import clean_email, ext_id
from app.integrations.models import InboxMessage, InboxStatus, Store
from app.integrations.outcome import Outcome

REDACTED_BODY = b'{"redacted": true}'


def find_customer(session: Session, store: Store, raw: dict[str, Any]) -> Customer | None:
    external = ext_id(raw.get("id"))
    if external:
        query = select(Customer).where(Customer.store_id == store.id, Customer.external_id == external)
        found = session.exec(query).first()
        if found is not None:
            return found
    email = clean_email(raw.get("email"))
    if email:
        query = select(Customer).where(
            Customer.store_id == store.id, sa.func.lower(Customer.email) == email.lower()
        )
        return session.exec(query.order_by(Customer.id)).first()
    return None


def redact_inbox(session: Session, store: Store, customer_ref: str | None) -> int:
    """Raw deliveries already acted on keep no personal data once the buyer (or shop) is erased."""
    query = sa.update(InboxMessage).where(
        InboxMessage.store_id == store.id,
        InboxMessage.status.in_([InboxStatus.processed, InboxStatus.ignored]),
        InboxMessage.body != REDACTED_BODY,
        InboxMessage.topic.not_in(["customers/redact", "shop/redact", "customers/data_request"]),
    )
    if customer_ref is not None:
        query = query.where(InboxMessage.customer_ref == customer_ref)
    result = session.execute(query.values(body=REDACTED_BODY, result=None))
    return int(result.rowcount or 0)


def handle(session: Session, store: Store, topic: str, payload: dict[str, Any], *, now: datetime) -> Outcome:
    raw = payload.get("customer") if isinstance(payload.get("customer"), dict) else {}
    if topic == "customers/data_request":
        customer = find_customer(session, store, raw)
        document = {
            "shop_domain": payload.get("shop_domain"),
            "data_request_id": ext_id((payload.get("data_request") or {}).get("id")),
            "customer_external_id": ext_id(raw.get("id")),
            "found": customer is not None,
            "data": privacy.export_customer(session, customer) if customer else None,
        }
        record(
            session,
            action="customer.exported",
            actor=STOREFRONT,
            subject_type="customer",
            subject_id=customer.id if customer else None,
            detail={"store_id": store.id, "topic": topic},
            now=now,
        )
        note = "export ready" if customer else "no such customer: an empty export"
        return Outcome(note=note, result=document)
    if topic == "customers/redact":
        customer = find_customer(session, store, raw)
        if customer is None:
            return Outcome(note="no such customer: nothing stored to erase")
        privacy.erase_customer(session, customer, actor=STOREFRONT, now=now)
        scrubbed = redact_inbox(session, store, customer.external_id or "")
        return Outcome(note=f"customer {customer.id} erased; {scrubbed} raw deliveries scrubbed")
    # shop/redact: the shop uninstalled 48 hours ago; erase every buyer of this store.
    erased = 0
    last_id = 0
    while True:
        batch = list(
            session.exec(
                select(Customer)
                .where(Customer.store_id == store.id, Customer.erased_at.is_(None), Customer.id > last_id)
                .order_by(Customer.id)
                .limit(500)
            )
        )
        if not batch:
            break
        for customer in batch:
            privacy.erase_customer(session, customer, actor=STOREFRONT, now=now)
            erased += 1
        last_id = batch[-1].id
    scrubbed = redact_inbox(session, store, None)
    return Outcome(note=f"{erased} customers erased; {scrubbed} raw deliveries scrubbed")
