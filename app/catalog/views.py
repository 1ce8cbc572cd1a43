"""HTML views of the catalog domain: the product list; supervisors edit prices and floors inline."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from app.accounts.deps import CurrentAgent, SupervisorAgent, verify_csrf
from app.audit.service import Actor
from app.catalog import service
from app.catalog.service import ProductFilters
from app.db import SessionDep, utc_now
from app.errors import is_htmx
from app.i18n import gettext
from app.web import redirect, render

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
PAGE_SIZE = 50
ACTIVE_CHOICES = {"": None, "1": True, "0": False}


@router.get("/catalog")
def catalog_page(
    request: Request,
    session: SessionDep,
    agent: CurrentAgent,
    q: str = "",
    store: str = "",
    category: str = "",
    active: str = "1",
    cursor: str | None = None,
) -> Response:
    filters = ProductFilters(
        store=store.strip(), category=category[:64], q=q[:100], active=ACTIVE_CHOICES.get(active, True)
    )
    listing = service.catalog_listing(session, filters=filters, cursor=cursor or None, limit=PAGE_SIZE)
    context = {
        "listing": listing,
        "filters": filters,
        "active": active if active in ACTIVE_CHOICES else "1",
        "can_edit": service.can_edit_prices(agent),
    }
    return render(request, "catalog/list.html", context, partial="catalog/_list.html")


@router.post("/catalog/{product_id}")
def update_product(
    request: Request,
    session: SessionDep,
    agent: SupervisorAgent,
    product_id: int,
    list_price: Annotated[str, Form(max_length=32)],
    floor_price: Annotated[str, Form(max_length=32)],
    care_tips: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    product = service.update_product(
        session,
        service.require_product(session, product_id),
        list_price=list_price,
        floor_price=floor_price,
        care_tips=care_tips,
        actor=Actor.agent(agent),
        now=utc_now(),
    )
    if is_htmx(request):
        return render(
            request, "catalog/_product_row.html", {"product": product, "can_edit": True, "saved": True}
        )
    return redirect(request, "/catalog", flash=gettext("Product {sku} saved.").format(sku=product.sku))
