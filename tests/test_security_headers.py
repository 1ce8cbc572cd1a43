"""Security headers on every kind of response, and the session cookie's flags.

One route of each kind — HTML page, htmx partial, JSON API, CSV export, static file, the API docs,
the public survey page, a webhook, the login page, redirects, and the error answers 401, 403, 404,
405, 422 and 500 — must carry: a CSP whose scripts come only from our own origin (no inline or
eval), no framing (frame-ancestors 'none' and X-Frame-Options DENY), a Referrer-Policy that keeps
URLs (which can hold ids) on our site, and nosniff.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.accounts.models import Role, Scope
from app.config import get_settings
from app.integrations import inbox
from app.integrations.webhooks import background_processor, in_thread, ingester
from app.reviews.surveys import survey_token
from tests.factories import CSRF_RE, bearer, csrf_from, login, make_agent, make_api_key, make_signed_store
from tests.metrics.quality_helpers import make_solved_ticket, make_survey

SAFE_REFERRER_POLICIES = {"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"}


def csp_directives(value: str) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for part in value.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


def header_problems(response) -> list[str]:
    h = response.headers
    problems = []
    csp = h.get("content-security-policy")
    if not csp:
        problems.append("no Content-Security-Policy")
    else:
        d = csp_directives(csp)
        scripts = d.get("script-src", d.get("default-src"))
        if scripts != ["'self'"]:
            problems.append(f"script-src is {scripts}, not only 'self'")
        if d.get("default-src") != ["'self'"]:
            problems.append(f"default-src is {d.get('default-src')}")
        if any("unsafe" in source for sources in d.values() for source in sources if "script" in source):
            problems.append("unsafe script source")
        if "'unsafe-inline'" in d.get("script-src", []) or "'unsafe-eval'" in d.get("script-src", []):
            problems.append("script-src allows inline or eval")
        if d.get("frame-ancestors") != ["'none'"]:
            problems.append(f"frame-ancestors is {d.get('frame-ancestors')}")
        if d.get("object-src") != ["'none'"]:
            problems.append("object-src is not 'none'")
    if h.get("x-frame-options", "").upper() != "DENY":
        problems.append(f"X-Frame-Options is {h.get('x-frame-options')!r}")
    if h.get("referrer-policy") not in SAFE_REFERRER_POLICIES:
        problems.append(f"Referrer-Policy is {h.get('referrer-policy')!r}")
    if h.get("x-content-type-options") != "nosniff":
        problems.append(f"X-Content-Type-Options is {h.get('x-content-type-options')!r}")
    return problems


@pytest.fixture
def boom(app: FastAPI) -> FastAPI:
    """Routes that fail unexpectedly (the 500 path), one for people and one for the API."""

    def explode() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/boom", explode, methods=["GET"])
    app.add_api_route("/api/v1/boom", explode, methods=["GET"])
    return app


@pytest.fixture(autouse=True)
def _webhooks_in_the_test_transaction(app: FastAPI, db: Session) -> None:
    """Inbound webhooks store deliveries on their own connection; here on the test's (as
    tests/test_access_matrix.py does), so SQLite's write lock is not contended."""
    app.dependency_overrides[ingester] = lambda: in_thread(lambda **values: inbox.receive(db, **values))
    app.dependency_overrides[background_processor] = lambda: None


@pytest.fixture
def raw_client(boom: FastAPI) -> Iterator[TestClient]:
    with TestClient(boom, base_url="http://testserver", raise_server_exceptions=False) as c:
        yield c


def test_every_kind_of_response_carries_the_security_headers(raw_client: TestClient, db: Session) -> None:
    client = raw_client
    agent = make_agent(db)
    key = make_api_key(db, Scope.read)
    store, _secret = make_signed_store(db, platform="standard")
    survey = make_survey(db, make_solved_ticket(db))
    db.commit()
    seen: dict[str, int] = {}

    def check(kind: str, response, status: int | set[int]) -> None:
        wanted = {status} if isinstance(status, int) else status
        assert response.status_code in wanted, f"{kind}: {response.status_code}"
        seen[kind] = response.status_code
        problems = header_problems(response)
        assert not problems, f"{kind} ({response.request.method} {response.request.url.path}): {problems}"

    # Anonymous: the login page, a redirect to it, the public survey, webhooks, static files, docs.
    check("login page", client.get("/login"), 200)
    check("redirect to login", client.get("/settings", follow_redirects=False), 303)
    check("htmx 401", client.get("/settings", headers={"HX-Request": "true"}), 401)
    check("survey page", client.get(f"/s/{survey_token(survey.id)}"), {200, 410})
    check("survey bad link", client.get("/s/not-a-token"), {400, 404, 410})
    check("webhook unsigned", client.post(f"/webhooks/standard/{store.slug}", json={}), 401)
    check("webhook unknown store", client.post("/webhooks/standard/nowhere", json={}), {401, 404})
    check("static css", client.get("/static/app.css"), 200)
    check("static vendored js", client.get("/static/vendor/htmx-2.0.11.min.js"), 200)
    check("static missing", client.get("/static/nothing.js"), 404)
    check("openapi", client.get("/openapi.json"), 200)
    check("api docs", client.get("/api/docs"), 200)
    check("healthz", client.get("/healthz"), 200)
    check("404 page", client.get("/no/such/page"), 404)
    check("405", client.delete("/login"), 405)
    # The API: a key's answers and its errors.
    check("api json", client.get("/api/v1/tickets", headers=bearer(key)), 200)
    check("api 401", client.get("/api/v1/tickets"), 401)
    check("api 403", client.get("/api/v1/audit-log", headers=bearer(key)), 403)
    check("api 404", client.get("/api/v1/tickets/999999", headers=bearer(key)), 404)
    check("api 422", client.get("/api/v1/tickets?limit=nope", headers=bearer(key)), 422)
    check("api 500", client.get("/api/v1/boom", headers=bearer(key)), 500)
    # Logged in: pages, partials, exports, form errors.
    token = csrf_from(client, "/login")
    response = client.post(
        "/login",
        data={"username": agent.username, "password": "correct horse battery", "csrf_token": token},
        follow_redirects=False,
    )
    check("login redirect", response, 303)
    check("html page", client.get("/settings"), 200)
    check("htmx partial", client.get("/customers", headers={"HX-Request": "true"}), 200)
    check("csv export", client.get("/customers/export.csv"), 200)
    assert client.get("/customers/export.csv").headers["content-type"].startswith("text/csv")
    check("403 page", client.get("/settings/accounts"), 403)
    check("htmx 403", client.get("/settings/accounts", headers={"HX-Request": "true"}), 403)
    check("404 record", client.get("/tickets/999999"), 404)
    check("422 page", client.get("/customers?vip_min=x"), 422)
    check("422 form", client.post("/locale", data={"csrf_token": csrf_from(client, "/settings")}), 422)
    check("csrf 403", client.post("/me/away", data={}), 403)
    check("500 page", client.get("/boom"), 500)
    check("htmx 500", client.get("/boom", headers={"HX-Request": "true"}), 500)
    assert len(seen) >= 30


def test_the_500_page_is_the_friendly_one_with_a_request_id(raw_client: TestClient, db: Session) -> None:
    login(raw_client, make_agent(db))
    response = raw_client.get("/boom", headers={"X-Request-ID": "trace-500"})
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "trace-500"
    assert "RuntimeError" not in response.text and "a bug" not in response.text
    body = raw_client.get("/api/v1/boom").json()
    assert body["error"] == "internal_error"


def _login_cookies(client: TestClient, db: Session) -> tuple[str, str]:
    """(the anonymous session's Set-Cookie, the logged-in one's). The cookie is sent back by hand:
    a browser talks https to the TLS proxy even where the app sees http, so it returns a Secure
    cookie that the test client, going by its own URL, would hold back."""
    agent = make_agent(db, role=Role.agent)
    page = client.get("/login")
    anonymous = page.headers["set-cookie"]
    token = CSRF_RE.search(page.text).group(1)
    client.cookies.clear()
    response = client.post(
        "/login",
        data={"username": agent.username, "password": "correct horse battery", "csrf_token": token},
        headers={"Cookie": anonymous.split(";")[0]},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.status_code
    return anonymous, response.headers["set-cookie"]


@pytest.mark.parametrize(
    ("environment", "base_url", "scheme", "secure"),
    [
        ("development", "http://127.0.0.1:8000", "http", False),
        ("development", "http://127.0.0.1:8000", "https", True),  # TLS at a proxy, forwarded
        ("production", "https://desk.example.cn", "http", True),
        ("production", "http://desk.example.cn", "http", True),  # plain http: the browser refuses
        ("production", "http://127.0.0.1:8000", "http", False),  # a local docker compose up
    ],
)
def test_the_session_cookie_is_httponly_samesite_and_secure_in_production_or_over_https(
    app: FastAPI, db: Session, monkeypatch: pytest.MonkeyPatch, environment, base_url, scheme, secure
) -> None:
    settings = get_settings()
    monkeypatch.setattr(settings, "environment", environment)
    monkeypatch.setattr(settings, "base_url", base_url)
    with TestClient(app, base_url=f"{scheme}://testserver") as client:
        for cookie in _login_cookies(client, db):
            flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
            assert {"httponly", "samesite", "path", "max-age"} <= flags
            assert "samesite=lax" in cookie.lower() or "samesite=strict" in cookie.lower()
            assert ("secure" in flags) is secure, cookie
        hsts = client.get("/login").headers.get("strict-transport-security")
        https = base_url.startswith("https") or scheme == "https"
        assert (hsts is not None) is https
        if https:
            assert "max-age=31536000" in hsts


def test_the_api_docs_page_loads_only_vendored_scripts(client: TestClient) -> None:
    """FastAPI's default docs page pulls Swagger UI from a CDN and starts it inline; ours does not
    (tests/browser/test_api_docs.py renders it in Chromium under the CSP)."""
    page = client.get("/api/docs")
    assert page.status_code == 200
    scripts = re.findall(r"<script[^>]*>", page.text)
    sources = re.findall(r'<script src="([^"]+)"></script>', page.text)
    assert len(scripts) == len(sources) == 2, "no inline script"
    links = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert links and all(link.startswith("/") and not link.startswith("//") for link in links), links
    for link in links:
        assert client.get(link).status_code == 200, link
