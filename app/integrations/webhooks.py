"""Inbound webhook endpoints: /webhooks/{platform}/{store_slug}.

Each one reads the raw body (at most 1 MB) and hands it to the process's intake thread
(app.integrations.intake), which verifies the platform's signature over those exact bytes and
stores the delivery in the inbox under its deduplication key; the answer comes once it is
committed. Processing runs after the response (and in `huitou dispatch` for anything left over).

The routes below define and document the endpoints. In a server, `WebhookLane` answers them
first, below FastAPI's routing and dependency solving, with the same code (`_receive`), the same
dependencies (overrides included) and the same error handlers: under a flood of deliveries the
framework's layers cost more than the work (docs/performance.md, stops 23 and 26).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import re
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, FastAPI, Path, Request
from fastapi.responses import JSONResponse, Response
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from app import ratelimit
from app.config import get_settings
from app.db import utc_now
from app.errors import NotAuthenticated, PayloadTooLarge, RateLimited, RequestTimeout
from app.integrations import event_schema, inbox
from app.integrations.intake import intake
from app.integrations.models import Platform

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


async def background_processor() -> Callable[[int], None] | None:
    """What processes a stored delivery after the response (tests replace it). Dependencies of
    this hot route are async: a sync one costs a hop to the thread pool and back per request."""
    from app.integrations.jobs import process_message_soon

    return process_message_soon


Ingest = Callable[..., Awaitable[inbox.Receipt]]


async def ingester() -> Ingest:
    """What verifies and stores a delivery, committed before it answers (tests replace it): the
    process's intake thread, which stores the deliveries arriving together in one transaction."""
    return intake


def in_thread(ingest: Callable[..., inbox.Receipt]) -> Ingest:
    """An ingester from a blocking function of the same keywords (tests: one on their session)."""

    async def run(*, timing: dict[str, float] | None = None, **values: Any) -> inbox.Receipt:
        return await anyio.to_thread.run_sync(functools.partial(ingest, **values))

    return run


async def _hand_over(processor: Callable[[int], None], message_id: int) -> None:
    # After the response. A processor only hands the id over (a queue): called here, on the event
    # loop, not in the thread pool that a sync background task would cost a hop to and back.
    processor(message_id)


Processor = Annotated[Callable[[int], None] | None, Depends(background_processor)]
Ingester = Annotated[Ingest, Depends(ingester)]
Slug = Annotated[str, Path(max_length=64, description="The store's slug.")]

RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Stored (or a duplicate of a stored delivery): it will be processed."},
    202: {"description": "Unknown topic: recorded and ignored."},
    400: {"description": "Good signature, malformed JSON: recorded as failed."},
    401: {"description": "The signature does not match any active secret."},
    404: {"description": "No such store for this platform."},
    408: {"description": "The body did not arrive in time."},
    413: {"description": "The body is larger than 1 MB."},
    415: {"description": "The body is not sent as application/json."},
    429: {"description": "Too many deliveries with a bad signature from this address."},
}


async def _raw_body(request: Request) -> bytes:
    length = request.headers.get("content-length")
    if (
        length
        and length.isascii()
        and length.isdigit()
        and (len(length) > 12 or int(length) > inbox.MAX_BODY_BYTES)
    ):
        raise PayloadTooLarge("A webhook body may be at most 1 MB.")
    chunks, size = [], 0
    # A slow client (a few bytes now and then) must not hold a connection and a request open.
    # asyncio's own timeout: on this machine 22 µs a use, anyio's cancel scope 70 (docs/performance.md,
    # stop 26).
    try:
        async with asyncio.timeout(get_settings().webhook_body_timeout_seconds):
            async for chunk in request.stream():
                size += len(chunk)
                if size > inbox.MAX_BODY_BYTES:
                    raise PayloadTooLarge("A webhook body may be at most 1 MB.")
                chunks.append(chunk)
    except TimeoutError:
        raise RequestTimeout("The webhook body did not arrive in time; send it again.") from None
    return b"".join(chunks)


async def _receive(
    platform: Platform,
    store_slug: str,
    request: Request,
    ingest: Ingest,
    processor: Callable[[int], None] | None,
) -> JSONResponse:
    client = request.client.host if request.client else "unknown"
    failures = f"{get_settings().webhook_failures_per_minute}/minute"
    if ratelimit.exceeded("webhook-auth-failures", client, failures):
        raise RateLimited("Too many webhooks with a bad signature from this address; wait a minute.")
    body = await _raw_body(request)
    headers = {k.lower(): v for k, v in request.headers.items()}
    timing = request.scope.get("state", {}).get("timing", {})  # for the Server-Timing header
    try:
        receipt = await ingest(
            platform=platform, store_slug=store_slug, headers=headers, body=body, now=utc_now(), timing=timing
        )
    except NotAuthenticated:
        ratelimit.hit("webhook-auth-failures", client, failures)
        raise
    background = None
    if receipt.process and receipt.message_id is not None and processor is not None:
        background = BackgroundTask(_hand_over, processor, receipt.message_id)
    return JSONResponse(receipt.body, status_code=receipt.status_code, background=background)


@router.post(
    "/shopify/{store_slug}",
    summary="Shopify webhook (X-Shopify-Hmac-Sha256)",
    responses=RESPONSES,
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}
    },
)
async def shopify_webhook(
    store_slug: Slug, request: Request, ingest: Ingester, processor: Processor
) -> JSONResponse:
    """Topics: orders/create, orders/paid, orders/updated, orders/fulfilled, orders/partially_fulfilled,
    orders/cancelled, fulfillments/create, fulfillments/update, refunds/create, and the privacy topics
    customers/data_request, customers/redact, shop/redact. Deduplicated on X-Shopify-Webhook-Id."""
    return await _receive(Platform.shopify, store_slug, request, ingest, processor)


@router.post(
    "/woocommerce/{store_slug}",
    summary="WooCommerce webhook (X-WC-Webhook-Signature)",
    responses=RESPONSES,
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}
    },
)
async def woocommerce_webhook(
    store_slug: Slug, request: Request, ingest: Ingester, processor: Processor
) -> JSONResponse:
    """Topics (X-WC-Webhook-Topic): order.created, order.updated, order.deleted. The unsigned
    form-encoded ping `webhook_id=…` sent when a webhook is saved gets 200 and is not stored."""
    return await _receive(Platform.woocommerce, store_slug, request, ingest, processor)


@router.post(
    "/standard/{store_slug}",
    summary="Huitou storefront event (Standard Webhooks)",
    responses=RESPONSES,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": event_schema.inline_schema()}},
        }
    },
)
async def standard_webhook(
    store_slug: Slug, request: Request, ingest: Ingester, processor: Processor
) -> JSONResponse:
    """Signed with Standard Webhooks (`webhook-id`, `webhook-timestamp` within 5 minutes,
    `webhook-signature`; secret `whsec_…`), deduplicated on `webhook-id`. The body is one of
    Huitou's storefront events (order.*, refund.created, review.posted, message.received,
    inquiry.created); the JSON Schema is also in docs/event-schema.json."""
    return await _receive(Platform.standard, store_slug, request, ingest, processor)


# The routes' own paths (a slug of at most 64 characters, as `Slug` allows): anything else — a
# longer slug, another method — goes on to the routes, which answer it as they always have.
LANE_PATH = re.compile(r"/webhooks/(shopify|woocommerce|standard)/([^/]{1,64})")


class WebhookLane:
    """ASGI middleware answering the webhook routes before FastAPI routes the request.

    A delivery skips the session-cookie middleware, Starlette's exception middleware, routing,
    and FastAPI's request handler and dependency solving: measured under a flood, those layers
    took more of a server's time than checking and storing the delivery. What it keeps: the
    request context outside it (request id, Server-Timing, security headers, the access log, the
    process's activity), the routes' own code, their dependencies as the app provides them
    (`dependency_overrides` included: tests replace the ingester), and the app's exception
    handlers, so every answer, errors included, is the one the route gives.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            match = LANE_PATH.fullmatch(_route_path(scope))
            if match:
                await self._serve(Platform(match[1]), match[2], scope, receive, send)
                return
        await self.app(scope, receive, send)

    @staticmethod
    async def _serve(platform: Platform, slug: str, scope: Scope, receive: Receive, send: Send) -> None:
        app: FastAPI = scope["app"]
        request = Request(scope, receive)
        try:
            ingest = await _provided(app, ingester)
            processor = await _provided(app, background_processor)
            response: Response = await _receive(platform, slug, request, ingest, processor)
        except Exception as exc:
            handler = _handler_for(app, exc)
            if handler is None:  # as from a route: the server-error middleware answers 500
                raise
            if inspect.iscoroutinefunction(handler):
                response = await handler(request, exc)
            else:
                response = await run_in_threadpool(handler, request, exc)
        await response(scope, receive, send)


def _route_path(scope: Scope) -> str:
    """The path as the router matches it: without the root path a proxy serves the app under."""
    path, root = scope["path"], scope.get("root_path", "")
    if root and path.startswith(root + "/"):
        return path[len(root) :]
    return path


async def _provided(app: FastAPI, dependency: Callable[[], Any]) -> Any:
    """A dependency without parameters, as FastAPI would solve it (an override first)."""
    value = app.dependency_overrides.get(dependency, dependency)()
    return await value if inspect.isawaitable(value) else value


def _handler_for(app: FastAPI, exc: Exception) -> Callable[..., Any] | None:
    """The app's handler for this exception's class or its nearest base, as Starlette's exception
    middleware looks it up; `Exception` itself is the server-error middleware's (a 500)."""
    for cls in type(exc).__mro__:
        if cls is Exception:
            return None
        handler = app.exception_handlers.get(cls)
        if handler is not None:
            return handler
    return None
