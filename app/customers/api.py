"""JSON API of the customers domain (/api/v1). Phone, email and street are masked unless the key is admin."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from app.accounts.deps import AdminKey, ReadKey, WriteKey
from app.audit.service import Actor
from app.customers import privacy, service
from app.customers.masking import customer_view, sees_whole_pii
from app.customers.schemas import CustomerCreate, CustomerRead, CustomerUpdate
from app.customers.service import CustomerFilters
from app.db import SessionDep, utc_now
from app.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page

router = APIRouter(prefix="/api/v1", tags=["customers"])
ERRORS = {
    401: {"description": "No or unknown API key"},
    403: {"description": "The key's scope is too small"},
    422: {"description": "Invalid input; `fields` names each bad field"},
}


@router.get("/customers", response_model=Page[CustomerRead], responses=ERRORS, summary="List customers")
def list_customers(
    session: SessionDep,
    key: ReadKey,
    store: Annotated[str, Query(description="A store slug", max_length=64)] = "",
    q: Annotated[
        str,
        Query(
            description="Nickname, name or external id contains, or a phone number: a whole one "
            "unless the key is admin (part of a masked number would confirm its hidden digits)",
            max_length=100,
        ),
    ] = "",
    updated_since: Annotated[datetime | None, Query(description="ISO 8601; naive means UTC")] = None,
    vip_min: Annotated[int | None, Query(ge=0, le=9)] = None,
    tag: Annotated[str, Query(max_length=32)] = "",
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[CustomerRead]:
    filters = CustomerFilters(
        q=q,
        store=store,
        vip_min=vip_min,
        tag=tag,
        updated_since=updated_since,
        whole_phone_only=not sees_whole_pii(key),
    )
    rows = service.list_customers(session, filters=filters, cursor=cursor, limit=limit)
    return Page[CustomerRead](items=[customer_view(c, key) for c in rows.items], next_cursor=rows.next_cursor)


@router.get(
    "/customers/{customer_id}",
    response_model=CustomerRead,
    responses=ERRORS | {404: {"description": "No such customer"}},
    summary="Read a customer",
)
def read_customer(customer_id: int, session: SessionDep, key: ReadKey) -> CustomerRead:
    return customer_view(service.require_customer(session, customer_id), key)


@router.post(
    "/customers",
    response_model=CustomerRead,
    status_code=201,
    responses=ERRORS | {409: {"description": "The store already has a customer with this external id"}},
    summary="Create a customer",
)
def create_customer(body: CustomerCreate, session: SessionDep, key: WriteKey) -> CustomerRead:
    values = body.model_dump()
    customer = service.create_customer(session, store=values.pop("store"), now=utc_now(), **values)
    return customer_view(customer, key)


@router.patch(
    "/customers/{customer_id}",
    response_model=CustomerRead,
    responses=ERRORS | {404: {"description": "No such customer"}},
    summary="Change a customer's profile (only the fields sent)",
)
def update_customer(
    customer_id: int, body: CustomerUpdate, session: SessionDep, key: WriteKey
) -> CustomerRead:
    customer = service.update_customer(
        session,
        service.require_customer(session, customer_id),
        now=utc_now(),
        **body.model_dump(exclude_unset=True),
    )
    return customer_view(customer, key)


@router.post(
    "/customers/{customer_id}/consent",
    response_model=CustomerRead,
    responses=ERRORS | {404: {"description": "No such customer"}},
    summary="Record the buyer's marketing consent",
)
def grant_consent(customer_id: int, session: SessionDep, key: WriteKey) -> CustomerRead:
    customer = service.grant_consent(session, service.require_customer(session, customer_id), now=utc_now())
    return customer_view(customer, key)


@router.post(
    "/customers/{customer_id}/opt-out",
    response_model=CustomerRead,
    responses=ERRORS | {404: {"description": "No such customer"}},
    summary="Record the buyer's marketing opt-out",
)
def opt_out(customer_id: int, session: SessionDep, key: WriteKey) -> CustomerRead:
    customer = service.opt_out(session, service.require_customer(session, customer_id), now=utc_now())
    return customer_view(customer, key)


@router.get(
    "/customers/{customer_id}/export",
    responses=ERRORS
    | {
        200: {
            "description": "Everything the desk stores about the buyer (PIPL / GDPR access request)",
            "content": {"application/json": {}, "text/csv": {}},
        },
        404: {"description": "No such customer"},
    },
    summary="Export a buyer's personal data (admin key; audit-logged)",
)
def export_customer(
    customer_id: int,
    session: SessionDep,
    key: AdminKey,
    format: Annotated[str, Query(description="json or csv", pattern="^(json|csv)$")] = "json",  # noqa: A002
) -> Response:
    customer = service.require_customer(session, customer_id)
    body, media_type = privacy.export_for_request(
        session, customer, fmt=format, actor=Actor.api_key(key), now=utc_now()
    )
    return Response(body, media_type=media_type, headers={"Cache-Control": "no-store"})


@router.post(
    "/customers/{customer_id}/erase",
    response_model=CustomerRead,
    responses=ERRORS | {404: {"description": "No such customer"}},
    summary="Erase a buyer's personal data, keeping aggregates (admin key; audit-logged)",
)
def erase_customer(customer_id: int, session: SessionDep, key: AdminKey) -> CustomerRead:
    customer = privacy.erase_customer(
        session, service.require_customer(session, customer_id), actor=Actor.api_key(key), now=utc_now()
    )
    return customer_view(customer, key)
