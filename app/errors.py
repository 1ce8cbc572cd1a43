"""Domain errors carry their HTTP status; one set of handlers renders them as JSON, a page or a partial."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.headers import add_security_headers
from app.i18n import gettext

log = logging.getLogger("huitou.errors")


class DomainError(Exception):
    """A rule said no. `message` is an English msgid with {placeholders}; params fill them."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, fields: dict[str, str] | None = None, **params: Any) -> None:
        self.message = message
        self.params = params
        self.fields = fields or {}
        super().__init__(self.english())

    def english(self) -> str:
        return self.message.format(**self.params) if self.params else self.message

    def localized(self) -> str:
        translated = gettext(self.message)
        return translated.format(**self.params) if self.params else translated


class InvalidInput(DomainError):
    status_code = 422
    code = "invalid"


class NotAuthenticated(DomainError):
    status_code = 401
    code = "not_authenticated"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(DomainError):
    status_code = 413
    code = "payload_too_large"


class RequestTimeout(DomainError):
    status_code = 408
    code = "request_timeout"


class UnsupportedMediaType(DomainError):
    status_code = 415
    code = "unsupported_media_type"


class RateLimited(DomainError):
    status_code = 429
    code = "rate_limited"


class Unavailable(DomainError):
    status_code = 503
    code = "unavailable"


def wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith(("/api/", "/webhooks/", "/healthz")) or path == "/openapi.json"


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _json(status: int, code: str, detail: str, fields: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": code, "detail": detail}
    if fields:
        body["fields"] = fields
    return JSONResponse(body, status_code=status)


def _html(request: Request, status: int, detail: str, fields: dict[str, str] | None = None) -> Response:
    from app.web import render_error  # late import: web imports errors

    return render_error(request, status=status, detail=detail, fields=fields or {})


def render_domain_error(request: Request, exc: DomainError) -> Response:
    if wants_json(request):
        return _json(exc.status_code, exc.code, exc.english(), exc.fields)
    if exc.status_code == 401:
        next_path = quote(request.url.path if request.method == "GET" else "/")
        expired = "&expired=1" if getattr(request.state, "session_expired", False) else ""
        login_url = f"/login?next={next_path}{expired}"
        if not is_htmx(request):
            return RedirectResponse(login_url, status_code=303)
        response = _html(request, 401, exc.localized())
        response.headers["HX-Redirect"] = login_url  # htmx follows it: the whole page goes to login
        return response
    return _html(request, exc.status_code, exc.localized(), exc.fields)


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "form", "header", "cookie")]
    return ".".join(parts) or "request"


def validation_fields(errors: list[dict[str, Any]]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for err in errors:
        name = _field_name(tuple(err.get("loc", ())))
        message = str(err.get("msg", "invalid"))
        message = message.removeprefix("Value error, ")
        fields.setdefault(name, message)
    return fields


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        return render_domain_error(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        fields = validation_fields(list(exc.errors()))
        summary = "; ".join(f"{name}: {msg}" for name, msg in fields.items())
        if wants_json(request):
            return _json(422, "invalid", f"Invalid input — {summary}", fields)
        return _html(request, 422, gettext("Please correct the highlighted fields."), fields)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else "error"
        if exc.status_code == 404:
            detail = "Not found" if wants_json(request) else gettext("This page does not exist.")
        elif exc.status_code == 405:
            detail = "Method not allowed"
        if wants_json(request):
            response: Response = _json(exc.status_code, _code_for(exc.status_code), detail)
        else:
            response = _html(request, exc.status_code, detail)
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    @app.exception_handler(Exception)
    async def _unhandled(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        if wants_json(request):
            response = _json(500, "internal_error", "Something went wrong on our side; it has been logged.")
        else:
            response = _html(request, 500, gettext("Something went wrong on our side; it has been logged."))
        # Starlette sends this page from its outermost middleware, outside the one adding headers.
        add_security_headers(response.headers, request.scope)
        request_id = getattr(request.state, "request_id", None)
        if request_id:
            response.headers["X-Request-ID"] = request_id
        return response


def _code_for(status: int) -> str:
    return {
        400: "bad_request",
        401: "not_authenticated",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        409: "conflict",
        413: "payload_too_large",
        415: "unsupported_media_type",
        422: "invalid",
        429: "rate_limited",
        503: "unavailable",
    }.get(status, "error")
