"""The OpenAPI document, completed with the errors every operation can answer.

FastAPI documents only what a route declares; our error handlers (app.errors) answer any
operation with the same JSON body — `{"error": code, "detail": message, "fields": {...}}` — for
a missing key (401), a small scope (403), bad input (422), an unparseable body (400), a database
outage (503) and so on. This adds those answers, with that body's schema, to every operation, so
clients and the fuzz tests can rely on the document.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

ERROR_REF = {"$ref": "#/components/schemas/Error"}
SWAGGER_UI = "/static/vendor/swagger-ui-5.35.0"
# FastAPI's own docs page loads Swagger UI from a CDN and starts it with an inline script, both of
# which our Content-Security-Policy refuses; this one uses the vendored copy and a script file.
DOCS_PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Huitou API</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="{SWAGGER_UI}.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="/openapi.json"></div>
<script src="{SWAGGER_UI}-bundle.js"></script>
<script src="/static/api-docs.js"></script>
</body>
</html>
"""


class Error(BaseModel):
    error: str = Field(description="A stable code, e.g. not_authenticated, invalid, not_found.")
    detail: str = Field(description="What went wrong, for a person to act on.")
    fields: dict[str, str] | None = Field(default=None, description="Each bad field and why.")


COMMON = {
    400: "The body could not be parsed.",
    401: "No or unknown API key.",
    403: "The key's scope is too small.",
    422: "Invalid input; `fields` names each bad field.",
    429: "Too many requests; wait and try again.",
    503: "The database is unavailable; try again shortly.",
}
WITH_PATH_PARAMETERS = {404: "No such record."}
WRITING = {409: "The record's state does not allow this now."}
WEBHOOK_CODES = (400, 401, 404, 408, 413, 415, 422, 429, 503)


def _error_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ERROR_REF}}}


def _complete(path: str, method: str, operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    if path.startswith("/webhooks/"):
        wanted = {
            code: responses.get(str(code), {}).get("description", COMMON.get(code, ""))
            for code in WEBHOOK_CODES
        }
    elif path.startswith("/api/"):
        wanted = dict(COMMON)
        if "{" in path:
            wanted |= WITH_PATH_PARAMETERS
        if method in ("post", "put", "patch", "delete"):
            wanted |= WRITING
    else:
        wanted = {}
    for code, default in wanted.items():
        existing = responses.get(str(code), {})
        responses[str(code)] = _error_response(existing.get("description") or default)


def install_openapi(app: FastAPI) -> None:
    def document() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            schemas = schema.setdefault("components", {}).setdefault("schemas", {})
            schemas["Error"] = Error.model_json_schema()
            for name in ("HTTPValidationError", "ValidationError"):
                schemas.pop(name, None)
            for path, item in schema.get("paths", {}).items():
                for method, operation in item.items():
                    _complete(path, method, operation)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = document  # type: ignore[method-assign]

    @app.get("/api/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return HTMLResponse(DOCS_PAGE)
