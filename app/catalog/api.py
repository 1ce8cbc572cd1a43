"""JSON API of the catalog domain (/api/v1)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.accounts.deps import ReadKey, WriteKey
from app.audit.service import Actor
from app.catalog import service
from app.catalog.schemas import ProductCreate, ProductRead, ProductUpdate
from app.catalog.service import ProductFilters
from app.db import SessionDep, utc_now
from app.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page

router = APIRouter(prefix="/api/v1", tags=["catalog"])
ERRORS = {
    401: {"description": "No or unknown API key"},
    403: {"description": "The key's scope is too small"},
    422: {"description": "Invalid input; `fields` names each bad field"},
}


@router.get("/products", response_model=Page[ProductRead], responses=ERRORS, summary="List products")
def list_products(
    session: SessionDep,
    key: ReadKey,
    store: Annotated[str, Query(description="A store slug", max_length=64)] = "",
    category: Annotated[str, Query(max_length=64)] = "",
    q: Annotated[str, Query(description="Title or SKU contains", max_length=100)] = "",
    active: bool | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[ProductRead]:
    filters = ProductFilters(store=store, category=category, q=q, active=active)
    rows = service.list_products(session, filters=filters, cursor=cursor, limit=limit)
    return Page[ProductRead](
        items=[ProductRead.model_validate(p) for p in rows.items], next_cursor=rows.next_cursor
    )


@router.get(
    "/products/{product_id}",
    response_model=ProductRead,
    responses=ERRORS | {404: {"description": "No such product"}},
    summary="Read a product",
)
def read_product(product_id: int, session: SessionDep, key: ReadKey) -> ProductRead:
    return ProductRead.model_validate(service.require_product(session, product_id))


@router.post(
    "/products",
    response_model=ProductRead,
    status_code=201,
    responses=ERRORS | {409: {"description": "The store already has a product with this SKU"}},
    summary="Create a product",
)
def create_product(body: ProductCreate, session: SessionDep, key: WriteKey) -> ProductRead:
    values = body.model_dump()
    product = service.create_product(session, store=values.pop("store"), now=utc_now(), **values)
    return ProductRead.model_validate(product)


@router.patch(
    "/products/{product_id}",
    response_model=ProductRead,
    responses=ERRORS | {404: {"description": "No such product"}},
    summary="Change a product (only the fields sent); a new floor price is audit-logged",
)
def update_product(product_id: int, body: ProductUpdate, session: SessionDep, key: WriteKey) -> ProductRead:
    product = service.update_product(
        session,
        service.require_product(session, product_id),
        actor=Actor.api_key(key),
        now=utc_now(),
        **body.model_dump(exclude_unset=True),
    )
    return ProductRead.model_validate(product)
