"""Password hashing (Argon2), API key secrets and the signed session cookie."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from pwdlib import PasswordHash
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import get_settings
from app.headers import secure_cookies
from app.i18n import current_locale, negotiate

_password_hash = PasswordHash.recommended()
# Verified when the username is unknown, so both paths cost the same time.
_DUMMY_HASH = _password_hash.hash("huitou-timing-equaliser")

SESSION_COOKIE = "huitou_session"
API_KEY_PREFIX = "hk_"


def hash_password(password: str) -> str:
    return _password_hash.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    if password_hash is None:
        _password_hash.verify(password, _DUMMY_HASH)
        return False
    try:
        return _password_hash.verify(password, password_hash)
    except Exception:  # noqa: BLE001 - a corrupt hash is a failed login, not a crash
        return False


def new_api_key_secret() -> tuple[str, str]:
    """(full key shown once, lookup prefix)."""
    prefix = secrets.token_hex(4)
    return f"{API_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}", prefix


def api_key_prefix(key: str) -> str | None:
    if not key.startswith(API_KEY_PREFIX):
        return None
    prefix, _, rest = key[len(API_KEY_PREFIX) :].partition("_")
    return prefix if len(prefix) == 8 and rest else None


def hash_api_key(key: str) -> str:
    # API keys carry 256 bits of entropy: a fast hash is safe and keeps every request cheap.
    return hashlib.sha256(key.encode()).hexdigest()


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


class SessionData(dict[str, Any]):
    """The cookie's content; marks itself modified so the middleware knows to re-sign it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.modified = False

    def __setitem__(self, key: str, value: Any) -> None:
        self.modified = True
        super().__setitem__(key, value)

    def rotate(self, **values: Any) -> None:
        """A fresh session id and CSRF token (login, logout): an old cookie is worth nothing."""
        self.clear()
        self.update(sid=secrets.token_urlsafe(16), csrf=secrets.token_urlsafe(32), **values)
        self.modified = True

    @property
    def csrf_token(self) -> str:
        if "csrf" not in self:
            self["csrf"] = secrets.token_urlsafe(32)
        return str(self["csrf"])


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(get_settings().secret_key, salt="huitou.session")


def dump_session(data: dict[str, Any]) -> str:
    return _serializer().dumps(data)


def load_session(raw: str | None, max_age: int) -> tuple[SessionData, bool]:
    """(session, expired). A tampered cookie is an empty session; an expired one says so."""
    if not raw:
        return SessionData(), False
    try:
        data = _serializer().loads(raw, max_age=max_age)
    except SignatureExpired:
        return SessionData(), True
    except (BadSignature, json.JSONDecodeError, UnicodeDecodeError):
        return SessionData(), False
    return (SessionData(data) if isinstance(data, dict) else SessionData()), False


class SessionMiddleware:
    """Loads the signed session cookie into request.state, sets the locale, re-signs when changed.

    Nothing lives in process memory: any server process can serve any request.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        settings = get_settings()
        connection = HTTPConnection(scope)
        session, expired = load_session(
            connection.cookies.get(SESSION_COOKIE), settings.session_max_age_seconds
        )
        state = scope.setdefault("state", {})
        state["session"] = session
        state["session_expired"] = expired
        locale = session.get("locale") or negotiate(
            (connection.headers.get("accept-language") or "").split(",")[0].split(";")[0].strip() or None,
            settings.default_locale,
        )
        token = current_locale.set(locale)
        secure = secure_cookies(scope)
        # The browser keeps the cookie longer than the server honours it, so an expired session
        # reaches us and the agent is told why they must log in again.
        cookie_max_age = settings.session_max_age_seconds * 2

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and session.modified:
                headers = MutableHeaders(scope=message)
                cookie = (
                    f"{SESSION_COOKIE}={dump_session(dict(session))}; Path=/; "
                    f"Max-Age={cookie_max_age}; HttpOnly; SameSite=Lax"
                )
                if secure:
                    cookie += "; Secure"
                headers.append("Set-Cookie", cookie)
            await send(message)

        try:
            await self.app(scope, receive, send_with_cookie)
        finally:
            current_locale.reset(token)
