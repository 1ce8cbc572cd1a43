"""JSON API of the integrations domain (/api/v1): stores, outbound subscriptions, deliveries, inbox."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.accounts.deps import AdminKey, ReadKey
from app.db import SessionDep, utc_now
from app.integrations import inbox, outbound, service
from app.integrations.models import DeliveryStatus, InboxStatus
from app.integrations.schemas import (
    AttemptRead,
    DeliveryRead,
    InboxRead,
    RotateSecret,
    SecretIssued,
    StoreCreate,
    StoreRead,
    StoreSettings,
    StoreUpdate,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionRead,
)
from app.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page

router = APIRouter(prefix="/api/v1", tags=["integrations"])
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


@router.get("/stores", response_model=Page[StoreRead], summary="List stores")
def list_stores(
    session: SessionDep, key: ReadKey, cursor: str | None = None, limit: Limit = DEFAULT_LIMIT
) -> Page[StoreRead]:
    rows = service.list_stores(session, cursor=cursor, limit=limit)
    return Page[StoreRead](
        items=[StoreRead.model_validate(s) for s in rows.items], next_cursor=rows.next_cursor
    )


@router.post("/stores", response_model=SecretIssued, status_code=201, summary="Create a store (admin)")
def create_store(body: StoreCreate, session: SessionDep, key: AdminKey) -> SecretIssued:
    store, secret = service.create_store_with_secret(session, now=utc_now(), **body.model_dump())
    return SecretIssued(
        store=StoreSettings.model_validate(service.store_settings(session, store)), secret=secret
    )


@router.get("/stores/{slug}", response_model=StoreSettings, summary="A store's settings (admin)")
def get_store(slug: str, session: SessionDep, key: AdminKey) -> StoreSettings:
    return StoreSettings.model_validate(service.store_settings(session, service.require_store(session, slug)))


@router.patch("/stores/{slug}", response_model=StoreSettings, summary="Change a store's settings (admin)")
def update_store(slug: str, body: StoreUpdate, session: SessionDep, key: AdminKey) -> StoreSettings:
    store = service.update_store(
        session, service.require_store(session, slug), now=utc_now(), **body.model_dump(exclude_unset=True)
    )
    return StoreSettings.model_validate(service.store_settings(session, store))


@router.post(
    "/stores/{slug}/rotate-secret", response_model=SecretIssued, summary="Add a new signing secret (admin)"
)
def rotate_secret(
    slug: str, session: SessionDep, key: AdminKey, body: RotateSecret | None = None
) -> SecretIssued:
    """The new secret is returned once. The previous one stays valid until retired
    (`retire_old: true`, or the next rotation), so no delivery is refused while you switch."""
    body = body or RotateSecret()
    store = service.require_store(session, slug)
    secret = service.rotate_store_secret(
        session, store, now=utc_now(), secret=body.secret, retire_old=body.retire_old
    )
    return SecretIssued(
        store=StoreSettings.model_validate(service.store_settings(session, store)), secret=secret
    )


@router.get(
    "/webhook-subscriptions", response_model=Page[SubscriptionRead], summary="Outbound subscriptions (admin)"
)
def list_subscriptions(
    session: SessionDep, key: AdminKey, cursor: str | None = None, limit: Limit = DEFAULT_LIMIT
) -> Page[SubscriptionRead]:
    rows = outbound.list_subscriptions(session, cursor=cursor, limit=limit)
    return Page[SubscriptionRead](
        items=[SubscriptionRead.model_validate(s) for s in rows.items], next_cursor=rows.next_cursor
    )


@router.post(
    "/webhook-subscriptions",
    response_model=SubscriptionCreated,
    status_code=201,
    summary="Subscribe a URL (admin)",
)
def create_subscription(body: SubscriptionCreate, session: SessionDep, key: AdminKey) -> SubscriptionCreated:
    """Event types: ticket.created, ticket.solved, followup.sent, case.changed, review.requested,
    message.outbound. Deliveries are signed with Standard Webhooks using the returned secret."""
    subscription, secret = outbound.create_subscription(
        session, url=body.url, event_types=body.event_types, description=body.description, now=utc_now()
    )
    return SubscriptionCreated.model_validate(
        SubscriptionRead.model_validate(subscription).model_dump() | {"secret": secret}
    )


@router.post(
    "/webhook-subscriptions/{subscription_id}/disable",
    response_model=SubscriptionRead,
    summary="Stop a subscription (admin)",
)
def disable_subscription(subscription_id: int, session: SessionDep, key: AdminKey) -> SubscriptionRead:
    subscription = outbound.require_subscription(session, subscription_id)
    return SubscriptionRead.model_validate(
        outbound.set_subscription_active(session, subscription, active=False, now=utc_now())
    )


def _delivery(delivery, attempts) -> DeliveryRead:
    return DeliveryRead.model_validate(
        {
            **delivery.model_dump(),
            "webhook_id": f"dlv_{delivery.id}",
            "attempt_log": [AttemptRead.model_validate(a) for a in attempts],
        }
    )


@router.get(
    "/webhook-deliveries",
    response_model=Page[DeliveryRead],
    summary="Outbound deliveries and their attempts (admin)",
)
def list_deliveries(
    session: SessionDep,
    key: AdminKey,
    subscription_id: int | None = None,
    status: DeliveryStatus | None = None,
    event_type: str | None = None,
    cursor: str | None = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[DeliveryRead]:
    rows = outbound.list_deliveries(
        session,
        cursor=cursor,
        limit=limit,
        subscription_id=subscription_id,
        status=status,
        event_type=event_type,
    )
    attempts = outbound.attempts_for(session, [d.id for d in rows.items])
    return Page[DeliveryRead](
        items=[_delivery(d, attempts[d.id]) for d in rows.items], next_cursor=rows.next_cursor
    )


@router.post(
    "/webhook-deliveries/{delivery_id}/replay",
    response_model=DeliveryRead,
    summary="Send a dead delivery again (admin)",
)
def replay_delivery(delivery_id: int, session: SessionDep, key: AdminKey) -> DeliveryRead:
    delivery = outbound.replay_delivery(
        session, outbound.require_delivery(session, delivery_id), now=utc_now()
    )
    return _delivery(delivery, [])


@router.get("/webhook-inbox", response_model=Page[InboxRead], summary="Inbound deliveries (admin)")
def list_inbox(
    session: SessionDep,
    key: AdminKey,
    status: InboxStatus | None = None,
    topic: str | None = None,
    cursor: str | None = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[InboxRead]:
    rows = inbox.list_inbox(session, cursor=cursor, limit=limit, status=status, topic=topic)
    return Page[InboxRead](
        items=[InboxRead.model_validate(m) for m in rows.items], next_cursor=rows.next_cursor
    )


@router.post(
    "/webhook-inbox/{message_id}/replay",
    response_model=InboxRead,
    summary="Process an inbound delivery again (admin)",
)
def replay_inbox(message_id: int, session: SessionDep, key: AdminKey) -> InboxRead:
    message = inbox.replay(session, inbox.require_message(session, message_id), now=utc_now())
    return InboxRead.model_validate(message)
