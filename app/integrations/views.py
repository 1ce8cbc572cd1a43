"""HTML views of the integrations domain: stores, the webhook inbox, outbound subscriptions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response

from app.accounts.deps import AdminAgent, verify_csrf
from app.db import SessionDep, utc_now
from app.i18n import N_, gettext
from app.integrations import inbox, outbound, service
from app.integrations.models import DeliveryStatus, InboxStatus, Platform
from app.web import redirect, render

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

# Inbox and delivery statuses, shown as gettext(status) in the templates.
STATUS_MSGIDS = (
    N_("received"),
    N_("processed"),
    N_("failed"),
    N_("ignored"),
    N_("pending"),
    N_("delivered"),
    N_("dead"),
)


# --- stores ----------------------------------------------------------------------------------


def _stores_context(session: Any) -> dict[str, Any]:
    stores = service.get_all_stores(session)
    return {
        "stores": stores,
        "hints": service.secret_hints(session, [s.id for s in stores]),
        "platforms": list(Platform),
    }


@router.get("/settings/stores")
def stores_page(request: Request, session: SessionDep, admin: AdminAgent) -> Response:
    return render(request, "integrations/stores.html", _stores_context(session))


@router.post("/settings/stores")
def create_store(
    request: Request,
    session: SessionDep,
    admin: AdminAgent,
    slug: Annotated[str, Form(max_length=64)],
    platform: Annotated[str, Form(max_length=16)],
    name: Annotated[str, Form(max_length=128)] = "",
    timezone: Annotated[str, Form(max_length=64)] = "Asia/Shanghai",
    currency: Annotated[str, Form(max_length=3)] = "CNY",
    secret: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    store, plain = service.create_store_with_secret(
        session,
        slug=slug.strip(),
        platform=platform,
        name=name or None,
        timezone=timezone,
        currency=currency,
        secret=secret or None,
        now=utc_now(),
    )
    context = _stores_context(session) | {"new_secret": plain, "secret_store": store}
    return render(request, "integrations/stores.html", context, status_code=201)


def _store_context(session: Any, slug: str) -> dict[str, Any]:
    store = service.require_store(session, slug)
    return {
        "store": store,
        "secrets": service.active_secrets(session, store),
        "settings": service.SETTING_RANGES,
    }


@router.get("/settings/stores/{slug}")
def store_page(request: Request, session: SessionDep, admin: AdminAgent, slug: str) -> Response:
    return render(request, "integrations/store.html", _store_context(session, slug))


@router.post("/settings/stores/{slug}")
async def update_store(request: Request, session: SessionDep, admin: AdminAgent, slug: str) -> Response:
    form = await request.form()
    changes = {k: str(form[k]) for k in service.EDITABLE_SETTINGS if k in form}
    store = service.require_store(session, slug)
    service.update_store(session, store, now=utc_now(), **changes)
    return redirect(request, f"/settings/stores/{slug}", flash=gettext("Saved."))


@router.post("/settings/stores/{slug}/rotate")
def rotate_secret(
    request: Request,
    session: SessionDep,
    admin: AdminAgent,
    slug: str,
    secret: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    store = service.require_store(session, slug)
    plain = service.rotate_store_secret(session, store, secret=secret or None, now=utc_now())
    context = _store_context(session, slug) | {"new_secret": plain}
    return render(request, "integrations/store.html", context, status_code=201)


@router.post("/settings/stores/{slug}/retire-old")
def retire_old_secrets(request: Request, session: SessionDep, admin: AdminAgent, slug: str) -> Response:
    service.retire_old_secrets(session, service.require_store(session, slug), now=utc_now())
    return redirect(request, f"/settings/stores/{slug}", flash=gettext("Old secrets retired."))


# --- the inbox and outbound subscriptions ----------------------------------------------------


@router.get("/settings/webhooks")
def webhooks_page(
    request: Request,
    session: SessionDep,
    admin: AdminAgent,
    status: Annotated[str, Query(max_length=16)] = "",
    topic: Annotated[str, Query(max_length=64)] = "",
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    chosen = InboxStatus(status) if status in set(InboxStatus) else None
    rows = inbox.list_inbox(session, cursor=cursor, limit=50, status=chosen, topic=topic or None)
    context = {
        "messages": rows.items,
        "next_cursor": rows.next_cursor,
        "status": status,
        "topic": topic,
        "statuses": list(InboxStatus),
        "topics": inbox.topics_seen(session),
        "stores": {s.id: s for s in service.get_all_stores(session)},
        "subscriptions": outbound.get_all_subscriptions(session),
        "event_types": outbound.EVENT_TYPES,
    }
    return render(request, "integrations/webhooks.html", context, partial="integrations/_inbox.html")


@router.get("/settings/webhooks/inbox/{message_id}")
def inbox_message_page(request: Request, session: SessionDep, admin: AdminAgent, message_id: int) -> Response:
    view = inbox.delivery_view(inbox.require_message(session, message_id))
    return render(request, "integrations/inbox_message.html", view)


@router.post("/settings/webhooks/inbox/{message_id}/replay")
def replay_inbox_message(
    request: Request, session: SessionDep, admin: AdminAgent, message_id: int
) -> Response:
    message = inbox.replay(session, inbox.require_message(session, message_id), now=utc_now())
    flash = (
        gettext("Processed.")
        if message.status != InboxStatus.failed
        else gettext("Failed again; see the error.")
    )
    return redirect(request, f"/settings/webhooks/inbox/{message_id}", flash=flash)


@router.post("/settings/webhooks/subscriptions")
async def create_subscription(
    request: Request,
    session: SessionDep,
    admin: AdminAgent,
) -> Response:
    form = await request.form()
    subscription, plain = outbound.create_subscription(
        session,
        url=str(form.get("url") or ""),
        event_types=[str(v) for v in form.getlist("event_types")],
        description=str(form.get("description") or ""),
        now=utc_now(),
    )
    context = {"subscription": subscription, "new_secret": plain} | _subscription_log(
        session, subscription.id
    )
    return render(request, "integrations/subscription.html", context, status_code=201)


def _subscription_log(session: Any, subscription_id: int, status: str = "") -> dict[str, Any]:
    chosen = DeliveryStatus(status) if status in set(DeliveryStatus) else None
    rows = outbound.list_deliveries(
        session, cursor=None, limit=100, subscription_id=subscription_id, status=chosen
    )
    return {
        "deliveries": rows.items,
        "attempts": outbound.attempts_for(session, [d.id for d in rows.items]),
        "status": status,
        "statuses": list(DeliveryStatus),
    }


@router.get("/settings/webhooks/subscriptions/{subscription_id}")
def subscription_page(
    request: Request,
    session: SessionDep,
    admin: AdminAgent,
    subscription_id: int,
    status: Annotated[str, Query(max_length=16)] = "",
) -> Response:
    subscription = outbound.require_subscription(session, subscription_id)
    context = {"subscription": subscription} | _subscription_log(session, subscription_id, status)
    return render(request, "integrations/subscription.html", context, partial="integrations/_deliveries.html")


@router.post("/settings/webhooks/subscriptions/{subscription_id}/active")
def set_subscription_active(
    request: Request,
    session: SessionDep,
    admin: AdminAgent,
    subscription_id: int,
    active: Annotated[str, Form(max_length=1)] = "",
) -> Response:
    subscription = outbound.require_subscription(session, subscription_id)
    outbound.set_subscription_active(session, subscription, active=active == "1", now=utc_now())
    return redirect(request, f"/settings/webhooks/subscriptions/{subscription_id}", flash=gettext("Saved."))


@router.post("/settings/webhooks/deliveries/{delivery_id}/replay")
def replay_delivery(request: Request, session: SessionDep, admin: AdminAgent, delivery_id: int) -> Response:
    delivery = outbound.replay_delivery(
        session, outbound.require_delivery(session, delivery_id), now=utc_now()
    )
    return redirect(
        request,
        f"/settings/webhooks/subscriptions/{delivery.subscription_id}",
        flash=gettext("The delivery will be sent again."),
    )
