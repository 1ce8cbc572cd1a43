"""HTML views of the presale domain: the inquiry list, the inquiry page with its HTMX round form."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from app.accounts import service as accounts
from app.accounts.deps import CurrentAgent, verify_csrf
from app.audit.service import Actor
from app.db import SessionDep, utc_now
from app.errors import DomainError, InvalidInput, NotFound, is_htmx
from app.i18n import gettext
from app.presale import rounds, service
from app.presale.models import BargainRound, InquiryStatus, LostReason
from app.web import redirect, render

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

CONCESSION_FIELDS = (
    ("free_shipping", "free_shipping_note"),
    ("gift", "gift_note"),
    ("coupon", "coupon_note"),
)


@router.get("/inquiries")
def inquiries_page(
    request: Request,
    session: SessionDep,
    agent: CurrentAgent,
    status: str = "",
    mine: str = "",
    cursor: str | None = None,
) -> Response:
    chosen = status if status in InquiryStatus.__members__ else ""
    rows = service.list_inquiry_cards(
        session,
        status=chosen or None,
        agent_id=agent.id if mine else None,
        cursor=cursor,
        limit=50,
    )
    context = {
        "cards": rows.items,
        "next_cursor": rows.next_cursor,
        "status": chosen,
        "mine": bool(mine),
        "statuses": list(InquiryStatus),
        "counts": service.count_by_status(session, agent_id=agent.id if mine else None),
        "agents": {a.id: a for a in accounts.get_all_agents(session)},
    }
    return render(request, "presale/list.html", context)


def _page_context(session: SessionDep, inquiry_id: int, **extra: Any) -> dict[str, Any]:
    inquiry = service.require_inquiry(session, inquiry_id)
    return {
        "card": service.inquiry_card(session, inquiry),
        "lost_reasons": list(LostReason),
        "agents": {a.id: a for a in accounts.get_all_agents(session)},
        "form": {},
        "errors": None,
    } | extra


@router.get("/inquiries/by-round/{round_id}")
def inquiry_of_round(request: Request, session: SessionDep, agent: CurrentAgent, round_id: int) -> Response:
    row = session.get(BargainRound, round_id)
    if row is None:
        raise NotFound("Bargaining round {id} does not exist.", id=round_id)
    return redirect(request, f"/inquiries/{row.inquiry_id}#round-{row.seq}")


@router.get("/inquiries/{inquiry_id}")
def inquiry_page(request: Request, session: SessionDep, agent: CurrentAgent, inquiry_id: int) -> Response:
    return render(
        request,
        "presale/inquiry.html",
        _page_context(session, inquiry_id),
        partial="presale/_bargaining.html",
    )


def _concessions(form: dict[str, str]) -> list[dict[str, str]]:
    items = []
    for kind, note_field in CONCESSION_FIELDS:
        value = (form.get(kind) or "").strip()
        if value:
            items.append({"kind": kind, "value": value, "note": (form.get(note_field) or "").strip()})
    return items


@router.post("/inquiries/{inquiry_id}/rounds")
def post_round(
    request: Request,
    session: SessionDep,
    agent: CurrentAgent,
    inquiry_id: int,
    product_id: Annotated[str, Form()] = "",
    speaker: Annotated[str, Form()] = "",
    offered_price: Annotated[str, Form(max_length=20)] = "",
    free_shipping: Annotated[str, Form(max_length=20)] = "",
    free_shipping_note: Annotated[str, Form(max_length=200)] = "",
    gift: Annotated[str, Form(max_length=20)] = "",
    gift_note: Annotated[str, Form(max_length=200)] = "",
    coupon: Annotated[str, Form(max_length=20)] = "",
    coupon_note: Annotated[str, Form(max_length=200)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
    is_agreed: Annotated[str, Form()] = "",
) -> Response:
    form = {
        "product_id": product_id,
        "speaker": speaker,
        "offered_price": offered_price,
        "free_shipping": free_shipping,
        "free_shipping_note": free_shipping_note,
        "gift": gift,
        "gift_note": gift_note,
        "coupon": coupon,
        "coupon_note": coupon_note,
        "note": note,
        "is_agreed": is_agreed,
    }
    inquiry = service.require_inquiry(session, inquiry_id)
    try:
        if not offered_price.strip():
            raise InvalidInput("Enter the offered price.", fields={"offered_price": "required"})
        outcome = rounds.record_round(
            session,
            inquiry,
            product_id=product_id,
            speaker=speaker,
            offered_price=offered_price,
            concessions=_concessions(form),
            note=note,
            is_agreed=bool(is_agreed),
            agent=agent,
            now=utc_now(),
        )
    except DomainError as exc:
        if not is_htmx(request):
            raise
        # Nothing was written: record_round validates everything first.
        errors = {"detail": exc.localized(), "fields": exc.fields}
        context = _page_context(session, inquiry_id, form=form, errors=errors)
        return render(
            request,
            "presale/inquiry.html",
            context,
            partial="presale/_bargaining.html",
            status_code=exc.status_code,
        )
    notice = (
        gettext("Below the floor price: sent to a supervisor for approval.")
        if outcome.approval is not None
        else gettext("Round recorded.")
    )
    if not is_htmx(request):
        return redirect(request, f"/inquiries/{inquiry_id}", flash=notice)
    context = _page_context(session, inquiry_id, notice=notice)
    return render(request, "presale/inquiry.html", context, partial="presale/_bargaining.html")


@router.post("/inquiries/{inquiry_id}/lose")
def post_lose(
    request: Request,
    session: SessionDep,
    agent: CurrentAgent,
    inquiry_id: int,
    reason: Annotated[str, Form()] = "",
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    inquiry = service.require_inquiry(session, inquiry_id)
    service.mark_lost(session, inquiry, reason=reason, note=note, actor=Actor.agent(agent), now=utc_now())
    return redirect(request, f"/inquiries/{inquiry_id}", flash=gettext("Inquiry marked as lost."))


@router.post("/inquiries/{inquiry_id}/win")
def post_win(
    request: Request,
    session: SessionDep,
    agent: CurrentAgent,
    inquiry_id: int,
    order_id: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    inquiry = service.require_inquiry(session, inquiry_id)
    service.win_with_order(session, inquiry, order_id=order_id, actor=Actor.agent(agent), now=utc_now())
    return redirect(request, f"/inquiries/{inquiry_id}", flash=gettext("Inquiry marked as won."))
