"""CSV export of a filtered customer list, masked exactly as the viewer sees it, and audit-logged."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from sqlmodel import Session

from app.audit.service import Actor, record
from app.customers.masking import customer_view, sees_whole_pii
from app.customers.models import Customer
from app.customers.service import CustomerFilters, customers_query

EXPORT_LIMIT = 100_000
BATCH = 2_000
COLUMNS = (
    "id",
    "store_id",
    "external_id",
    "nickname",
    "name",
    "phone",
    "email",
    "province",
    "city",
    "district",
    "street",
    "tags",
    "vip_level",
    "marketing_consent",
    "consent_at",
    "opted_out_at",
    "orders_count",
    "total_spent",
    "refunds_count",
    "refunded_total",
    "last_order_at",
    "created_at",
)


def csv_cell(value: Any) -> str:
    """One value as a spreadsheet-safe CSV cell."""
    if value is None:
        return ""
    if isinstance(value, list):
        return "|".join(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "1" if value else "0"
    text = str(value)
    # Spreadsheet formula injection: a cell must never start as a formula.
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text


def export_customers_csv(
    session: Session, *, filters: CustomerFilters, viewer: Any, actor: Actor, now: datetime
) -> str:
    """The filtered list (oldest first, at most EXPORT_LIMIT rows) as CSV with a BOM so Excel reads UTF-8."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    query = customers_query(session, filters)
    last_id, count = 0, 0
    while count < EXPORT_LIMIT:
        batch = list(
            session.exec(
                query.where(Customer.id > last_id)
                .order_by(Customer.id)
                .limit(min(BATCH, EXPORT_LIMIT - count))
            )
        )
        if not batch:
            break
        for customer in batch:
            view = customer_view(customer, viewer).model_dump()
            writer.writerow([csv_cell(view[column]) for column in COLUMNS])
        last_id, count = batch[-1].id, count + len(batch)
    record(
        session,
        action="customers.exported",
        actor=actor,
        subject_type="customer",
        subject_id=None,
        now=now,
        detail={
            "rows": count,
            "masked": not sees_whole_pii(viewer),
            "filters": {
                "q": filters.q,
                "store": filters.store,
                "vip_min": filters.vip_min,
                "tag": filters.tag,
                "updated_since": filters.updated_since.isoformat() if filters.updated_since else None,
            },
        },
    )
    return buffer.getvalue()
