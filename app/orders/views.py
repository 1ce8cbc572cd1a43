"""HTML views of the orders domain: the order list and the order page with its lifecycle."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from app.accounts.deps import CurrentAgent, verify_csrf
from app.aftersales import service as aftersales
from app.audit.service import Actor
from app.customers import service as customers
from app.db import SessionDep, utc_now
from app.errors import InvalidInput
from app.integrations import service as stores
from app.orders import service, shipping
from app.orders.lifecycle import STAGE_LABELS, Stage
from app.web import redirect, render

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


def _stage_filter(stage: str | None) -> Stage | None:
    if not stage:
        return None
    try:
        return Stage(stage)
    except ValueError as exc:
        raise InvalidInput(
            "{stage} is not an order stage.", fields={"stage": "unknown stage"}, stage=stage
        ) from exc


@router.get("/orders")
def order_list(
    request: Request,
    session: SessionDep,
    agent: CurrentAgent,
    stage: str | None = None,
    store: str | None = None,
    q: str | None = None,
    cursor: str | None = None,
) -> Response:
    store_id = stores.require_store(session, store).id if store else None
    rows = service.list_orders(
        session, cursor=cursor, limit=50, store_id=store_id, stage=_stage_filter(stage), q=q
    )
    return render(
        request,
        "orders/list.html",
        {
            "rows": rows,
            "stages": list(Stage),
            "stage_labels": STAGE_LABELS,
            "stores": stores.get_all_stores(session),
            "filters": {"stage": stage or "", "store": store or "", "q": q or ""},
        },
        partial="orders/_rows.html",
    )


def _order_page_context(session: SessionDep, order_id: int, agent) -> dict:
    order = service.require_order(session, order_id)
    card = service.order_card(session, order)
    customer = customers.require_customer(session, order.customer_id)
    return {
        "card": card,
        "order": order,
        "customer": customers.customer_view(customer, agent),
        "cases": aftersales.cases_for_order(session, order.id, now=utc_now()),
        "stage_labels": STAGE_LABELS,
    }


@router.get("/orders/{order_id}")
def order_page(request: Request, session: SessionDep, agent: CurrentAgent, order_id: int) -> Response:
    return render(request, "orders/page.html", _order_page_context(session, order_id, agent))


def _lifecycle_response(request: Request, session: SessionDep, order_id: int, agent) -> Response:
    context = _order_page_context(session, order_id, agent)
    if request.headers.get("HX-Request") == "true":
        return render(request, "orders/_lifecycle.html", context)
    return redirect(request, f"/orders/{order_id}")


@router.post("/orders/{order_id}/advance")
def advance_order(
    request: Request,
    session: SessionDep,
    agent: CurrentAgent,
    order_id: int,
    stage: Annotated[str, Form()],
    reason: Annotated[str, Form(max_length=255)] = "",
) -> Response:
    order = service.require_order(session, order_id)
    service.advance(session, order, to=stage, actor=Actor.agent(agent), reason=reason, now=utc_now())
    return _lifecycle_response(request, session, order_id, agent)


@router.post("/orders/{order_id}/shipments")
def add_shipment(
    request: Request,
    session: SessionDep,
    agent: CurrentAgent,
    order_id: int,
    carrier: Annotated[str, Form(max_length=64)],
    tracking_number: Annotated[str, Form(max_length=128)],
    tracking_url: Annotated[str, Form(max_length=512)] = "",
) -> Response:
    order = service.require_order(session, order_id)
    shipping.add_shipment(
        session,
        order,
        carrier=carrier,
        tracking_number=tracking_number,
        tracking_url=tracking_url,
        actor=Actor.agent(agent),
        now=utc_now(),
    )
    return _lifecycle_response(request, session, order_id, agent)


@router.post("/orders/{order_id}/shipments/{shipment_id}/delivered")
def mark_delivered(
    request: Request, session: SessionDep, agent: CurrentAgent, order_id: int, shipment_id: int
) -> Response:
    order = service.require_order(session, order_id)
    shipment = shipping.require_shipment(session, order, shipment_id)
    shipping.mark_delivered(session, order, shipment, actor=Actor.agent(agent), now=utc_now())
    return _lifecycle_response(request, session, order_id, agent)
