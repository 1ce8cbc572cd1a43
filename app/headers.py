"""Security headers for every response, and when cookies must be `Secure`.

RequestContextMiddleware (app/main.py) adds the headers to everything the app answers; the 500
page is sent by Starlette's outermost middleware, around ours, so its handler adds them itself.
"""

from __future__ import annotations

from urllib.parse import urlparse

from starlette.datastructures import MutableHeaders
from starlette.types import Scope

from app.config import get_settings

SECURITY_HEADERS = {
    # Only our own (vendored) scripts and styles; no inline script, no framing.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
HSTS = "max-age=31536000"
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def served_over_https(scope: Scope | None = None) -> bool:
    """The public URL is https, or this request came in over https (e.g. behind a TLS proxy)."""
    if get_settings().base_url.startswith("https://"):
        return True
    return scope is not None and scope.get("scheme") == "https"


def secure_cookies(scope: Scope | None = None) -> bool:
    """Cookies are `Secure` over https and always in production, except on a loopback address
    (a local `docker compose up` at http://127.0.0.1:8000): production over plain http elsewhere
    would send the session in clear text, so there the browser is told not to."""
    settings = get_settings()
    if served_over_https(scope):
        return True
    host = urlparse(settings.base_url).hostname or ""
    return settings.environment == "production" and host not in LOOPBACK_HOSTS


def add_security_headers(headers: MutableHeaders, scope: Scope | None = None) -> None:
    """Adds the headers a response has not set itself (a route may narrow its own CSP)."""
    for name, value in SECURITY_HEADERS.items():
        headers.setdefault(name, value)
    if served_over_https(scope):
        headers.setdefault("Strict-Transport-Security", HSTS)
