"""create_app(): routers, static files, middleware, exception handlers."""

from __future__ import annotations

import gc
import json
import logging
import re
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import __version__, activity
from app.accounts import api as accounts_api
from app.accounts import views as accounts_views
from app.accounts.security import SessionMiddleware
from app.aftersales import api as aftersales_api
from app.aftersales import views as aftersales_views
from app.audit import api as audit_api
from app.audit import views as audit_views
from app.catalog import api as catalog_api
from app.catalog import views as catalog_views
from app.config import Settings, get_settings
from app.customers import api as customers_api
from app.customers import views as customers_views
from app.db import get_engine
from app.errors import InvalidInput, Unavailable, install_error_handlers, render_domain_error
from app.followups import api as followups_api
from app.followups import views as followups_views
from app.headers import add_security_headers
from app.home import views as home_views
from app.integrations import api as integrations_api
from app.integrations import views as integrations_views
from app.integrations import webhooks as integrations_webhooks
from app.metrics import api as metrics_api
from app.metrics import quality_views as metrics_quality_views
from app.metrics import targets_views as metrics_targets_views
from app.metrics import views as metrics_views
from app.openapi import install_openapi
from app.orders import api as orders_api
from app.orders import views as orders_views
from app.phrasing import api as phrasing_api
from app.phrasing import views as phrasing_views
from app.presale import api as presale_api
from app.presale import views as presale_views
from app.reviews import api as reviews_api
from app.reviews import surveys_views as reviews_surveys_views
from app.reviews import views as reviews_views
from app.tickets import api as tickets_api
from app.tickets import sla_api as tickets_sla_api
from app.tickets import views as tickets_views
from app.tickets import views_actions as tickets_views_actions
from app.tickets import views_settings as tickets_views_settings
from app.tickets import views_sla as tickets_views_sla

STATIC_DIR = Path(__file__).resolve().parent / "static"
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")

access_log = logging.getLogger("huitou.access")


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line, with the extra fields a record carries."""

    RESERVED = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        # When, to the millisecond (UTC): lines of the server and the worker can be put side by side.
        at = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        payload = {"time": at, "level": record.levelname, "logger": record.name}
        payload["message"] = record.getMessage()
        payload.update({k: v for k, v in record.__dict__.items() if k not in self.RESERVED})
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False, default=str)


def configure_process(settings: Settings) -> None:
    """What a server or worker process sets once: JSON logs, and the GIL switch interval."""
    configure_logging(settings.log_level)
    sys.setswitchinterval(settings.gil_switch_interval_ms / 1000)


def freeze_heap() -> None:
    """Move what start-up built (modules, routes, the ORM's mappers: ~260,000 objects) out of the
    garbage collector's sight, once, before the process starts serving or working.

    Python's full collection walks every tracked object: scripts/bench/requests.py saw one take
    176 ms in a server process, every request waiting behind it, while the start-up objects it
    walked never become garbage. Frozen, a full collection walks only what came later (~40,000).
    Garbage from before is collected first, so nothing unreachable is frozen. Once per process:
    a second app in the same process (tests) finds the heap frozen already."""
    if gc.get_freeze_count():
        return
    gc.collect()
    gc.freeze()


def configure_logging(level: str) -> None:
    root = logging.getLogger()
    if any(isinstance(h.formatter, JsonLogFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLogFormatter())
    root.addHandler(handler)
    root.setLevel(level)


def server_timing_header(timing: dict[str, float]) -> str:
    """`Server-Timing: queue;dur=0.8, lock;dur=3.1, commit;dur=0.4, total;dur=12.5` (milliseconds):
    queued for a database session (a webhook: for the intake thread), waiting for SQLite's write
    lock, committing, storing a webhook, and the whole request."""
    return ", ".join(f"{name};dur={seconds * 1000:.1f}" for name, seconds in timing.items())


class RequestContextMiddleware:
    """A request id on every request and response, one structured log line each, security headers.

    Only the path is logged, never the query string or body: they can hold buyer data.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.server_timing = get_settings().server_timing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        timing: dict[str, float] = {}
        state["timing"] = timing  # app.db.get_session adds its waits
        started = time.perf_counter()
        status = {"code": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
                add_security_headers(headers, scope)
                if self.server_timing:
                    timing["total"] = time.perf_counter() - started
                    headers["Server-Timing"] = server_timing_header(timing)
            await send(message)

        activity.requests.begin()
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            activity.requests.end()
            state = scope.get("state", {})
            agent = state.get("agent")
            access_log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status["code"],
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "agent_id": getattr(agent, "id", None),
                },
            )


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    freeze_heap()  # the app is built and about to serve (uvicorn runs this in each server process)
    yield


def create_app() -> FastAPI:
    settings = get_settings()
    configure_process(settings)
    app = FastAPI(
        lifespan=lifespan,
        title="Huitou API",
        version=__version__,
        description=(
            "Huitou (回头) — customer-service desk for e-commerce after-sales and buyer follow-up. "
            "Authenticate with `Authorization: Bearer <API key>`; errors are "
            '`{"error": code, "detail": message}`.'
        ),
        docs_url=None,  # /api/docs is served by app.openapi, from vendored Swagger UI
        redoc_url=None,
    )
    install_error_handlers(app)
    install_openapi(app)

    @app.exception_handler(sa.exc.OperationalError)
    @app.exception_handler(sa.exc.InterfaceError)
    async def _database_unavailable(request: Request, exc: Exception) -> Response:
        logging.getLogger("huitou.db").error("database unavailable: %s", type(exc).__name__)
        return render_domain_error(request, Unavailable("The database is unavailable; try again shortly."))

    @app.exception_handler(OverflowError)
    @app.exception_handler(sa.exc.DataError)
    async def _out_of_range(request: Request, exc: Exception) -> Response:
        # An id or number beyond what the database stores (e.g. /customers/99999999999999999999).
        return render_domain_error(request, InvalidInput("A number in this request is out of range."))

    app.add_middleware(SessionMiddleware)
    # Inside the request context (ids, timing, logs, headers), outside everything else: webhook
    # deliveries are answered before the session cookie is read or the request routed.
    app.add_middleware(integrations_webhooks.WebhookLane)
    app.add_middleware(RequestContextMiddleware)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/healthz", tags=["health"], summary="Database reachability")
    def healthz() -> JSONResponse:
        try:
            with get_engine().connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - any failure means not healthy
            return JSONResponse({"status": "unavailable", "reason": f"database: {type(exc).__name__}"}, 503)
        return JSONResponse({"status": "ok", "version": __version__})

    # Routes are matched in order, one pattern after another: the desk's hot paths (webhooks, the
    # queue polls, the ticket workspace, presence, the workbench) come first. No route shadows
    # another (tests/test_routes.py), so the order changes nothing else.
    routers = [
        integrations_webhooks.router,
        tickets_views.router,
        tickets_views_actions.router,
        home_views.router,
        metrics_views.router,
        metrics_targets_views.router,
        phrasing_views.router,
        accounts_views.router,
        accounts_api.router,
        customers_views.router,
        customers_api.router,
        catalog_views.router,
        catalog_api.router,
        presale_views.router,
        presale_api.router,
        orders_views.router,
        orders_api.router,
        aftersales_views.router,
        aftersales_api.router,
        reviews_views.router,
        reviews_api.router,
        reviews_surveys_views.router,
        metrics_api.router,
        metrics_quality_views.router,
        audit_views.router,
        audit_api.router,
        integrations_views.router,
        integrations_api.router,
        followups_views.router,
        followups_api.router,
        tickets_api.router,
        phrasing_api.router,
        tickets_views_settings.router,
        tickets_views_sla.router,
        tickets_sla_api.router,
    ]
    for router in routers:
        app.include_router(router)
    # The navigation shows a page once its domain registered it (app.web.nav_items).
    app.state.page_paths = {
        route.path for router in routers for route in router.routes if hasattr(route, "path")
    }
    return app
