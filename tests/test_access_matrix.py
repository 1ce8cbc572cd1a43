"""The access-control matrix: every route of the app × every role, against the written policy.

The EXPECTED table below is the policy, written by hand by path pattern; it is deliberately not
derived from the routes' own dependencies (that would only prove the code agrees with itself).
A route the table does not classify fails the suite, so every new route must be given a policy.

Denied means: anonymous HTML → 303 to /login; wrong role → 403; API without a key → 401; a key
whose scope is too small → 403. Allowed means neither 401 nor 403 (nor a redirect to /login):
path ids do not exist, so 404/422/409/303 are fine. Unsafe HTML requests carry the session's CSRF
token, so the role check is what is tested; a separate test proves each one refuses a request
without it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session
from starlette.routing import Mount, Route

from app.accounts.models import Role, Scope
from app.integrations import inbox
from app.integrations.webhooks import background_processor, in_thread, ingester
from tests.factories import CSRF_RE, bearer, csrf_from, login, make_agent, make_api_key

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}

# Policies.
PUBLIC = "public"  # anyone, no session or key needed
SIGNED = "signed"  # inbound webhooks: only a valid signature gets in; a session or API key does not help
LOGIN = "login"  # any logged-in agent
SUPERVISOR = "supervisor"
ADMIN = "admin"
KEY_READ = "key:read"
KEY_WRITE = "key:write"
KEY_ADMIN = "key:admin"

ANY = r"[A-Z]+"
WRITES = r"POST|PUT|PATCH|DELETE"

# (methods, path pattern, policy): the first full match wins, so exceptions come before the rule.
EXPECTED: list[tuple[str, str, str]] = [
    # Public surface: login, health, static files, API docs, buyer surveys (token in the URL).
    (ANY, r"/logout/everywhere", LOGIN),
    (ANY, r"/login|/logout|/locale|/healthz", PUBLIC),
    (r"GET", r"/static/.*|/openapi\.json|/api/docs|/docs/oauth2-redirect", PUBLIC),
    (ANY, r"/s/\{token\}", PUBLIC),
    (r"POST", r"/webhooks/(shopify|woocommerce|standard)/\{store_slug\}", SIGNED),
    # JSON API: exceptions needing an admin key, then read for GET and write for the rest.
    (ANY, r"/api/v1/api-keys(/.*)?", KEY_ADMIN),
    (ANY, r"/api/v1/customers/\{customer_id\}/(export|erase)", KEY_ADMIN),
    (ANY, r"/api/v1/approvals/\{approval_id\}/(approve|reject)", KEY_ADMIN),
    (ANY, r"/api/v1/audit-log", KEY_ADMIN),
    (r"GET", r"/api/v1/stores", KEY_READ),
    (ANY, r"/api/v1/stores(/.*)?", KEY_ADMIN),
    (ANY, r"/api/v1/webhook-(subscriptions|deliveries|inbox)(/.*)?", KEY_ADMIN),
    (r"GET", r"/api/v1/sla-breaches", KEY_READ),
    (r"GET", r"/api/v1/.+", KEY_READ),
    (WRITES, r"/api/v1/.+", KEY_WRITE),
    # HTML: administrators run accounts, stores and webhooks.
    (ANY, r"/settings/(accounts|agents|teams|api-keys|stores|webhooks)(/.*)?", ADMIN),
    # Supervisors: team-wide reports, targets and quality, approvals, audit, desk and follow-up
    # settings, catalog edits, phrasing import, a buyer's privacy export and erasure.
    (ANY, r"/settings/(audit|followups|revisits|desk|sla)(/.*)?", SUPERVISOR),
    (ANY, r"/reports/sla(/.*)?", SUPERVISOR),  # SLA breaches and their CSV export
    (ANY, r"/reports/me(/.*)?", LOGIN),
    (ANY, r"/reports(/.*)?", SUPERVISOR),
    (ANY, r"/approvals(/.*)?", SUPERVISOR),
    (WRITES, r"/catalog/\{product_id\}", SUPERVISOR),
    (WRITES, r"/phrasing/import", SUPERVISOR),
    (ANY, r"/customers/\{customer_id\}/(export|erase)", SUPERVISOR),
    # Every other page and action of the desk: any logged-in agent (rows are scoped in services).
    (
        ANY,
        r"/|/settings|/(customers|catalog|inquiries|orders|cases|reviews|queues|tickets|me|phrasing)(/.*)?",
        LOGIN,
    ),
]

ROLES = ["anonymous", "agent", "supervisor", "admin", "key-read", "key-write", "key-admin"]
AGENT_ROLES = {"agent": Role.agent, "supervisor": Role.supervisor, "admin": Role.admin}
KEY_SCOPES = {"key-read": Scope.read, "key-write": Scope.write, "key-admin": Scope.admin}
RANK = {"agent": 1, "supervisor": 2, "admin": 3, "key-read": 1, "key-write": 2, "key-admin": 3}
NEEDS = {LOGIN: 1, SUPERVISOR: 2, ADMIN: 3, KEY_READ: 1, KEY_WRITE: 2, KEY_ADMIN: 3}
# Requests that end or replace the session (their success is itself a redirect to /login):
# test_session_routes checks them one by one.
SESSION_ENDERS = {("POST", "/logout"), ("POST", "/logout/everywhere"), ("POST", "/login")}


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # the route's pattern, e.g. /tickets/{ticket_id}

    def url(self) -> str:
        if self.path == "/static/{path}":
            return "/static/app.css"

        def fill(match: re.Match[str]) -> str:
            # Ids that exist nowhere: the request reaches the handler without touching a row.
            return "999999" if match.group(1).endswith("_id") else "x"

        return re.sub(r"\{([^}:]+)(?::[^}]*)?\}", fill, self.path)


def _walk(routes, prefix: str = "") -> Iterator[tuple[str, set[str]]]:
    for route in routes:
        original = getattr(route, "original_router", None)
        if original is not None:  # FastAPI keeps included routers lazily
            context = getattr(route, "include_context", None)
            yield from _walk(original.routes, prefix + getattr(context, "prefix", ""))
        elif isinstance(route, Mount):
            yield prefix + route.path + "/{path}", {"GET"}
        elif isinstance(route, Route) or hasattr(route, "methods"):
            yield prefix + route.path, set(route.methods or ()) - {"HEAD"}


def all_endpoints(app: FastAPI) -> list[Endpoint]:
    endpoints = {Endpoint(m, path) for path, methods in _walk(app.router.routes) for m in methods}
    return sorted(endpoints, key=lambda e: (e.path, e.method))


def policy_of(endpoint: Endpoint) -> str | None:
    for methods, pattern, policy in EXPECTED:
        if re.fullmatch(methods, endpoint.method) and re.fullmatch(pattern, endpoint.path):
            return policy
    return None


def is_html(endpoint: Endpoint) -> bool:
    """Session-based HTML routes. The buyer survey (/s/{token}) has no session: its POST is guarded
    by the token and a same-origin check instead of a CSRF token."""
    return policy_of(endpoint) in {LOGIN, SUPERVISOR, ADMIN} or (
        policy_of(endpoint) == PUBLIC and endpoint.method in UNSAFE and not endpoint.path.startswith("/s/")
    )


def expectation(policy: str, role: str) -> str:
    """'allow', 'login' (303 to /login), 'forbidden' (403), 'unauthenticated' (401) or 'reject' (any 4xx)."""
    if policy == PUBLIC:
        return "allow"
    if policy == SIGNED:
        return "reject"
    if policy in {LOGIN, SUPERVISOR, ADMIN}:
        if role not in AGENT_ROLES:
            return "login"
        return "allow" if RANK[role] >= NEEDS[policy] else "forbidden"
    if role not in KEY_SCOPES:
        return "unauthenticated"
    return "allow" if RANK[role] >= NEEDS[policy] else "forbidden"


def verdict(response) -> str:
    status = response.status_code
    if status == 303 and response.headers.get("location", "").split("?")[0].endswith("/login"):
        return "login"
    if status == 401:
        return "unauthenticated"
    if status == 403:
        return "forbidden"
    return "allow"


def _client_for(role: str, client: TestClient, db: Session) -> tuple[dict[str, str], str]:
    """(headers for every request, CSRF token) for `role`, logging `client` in when needed."""
    if role in AGENT_ROLES:
        token = login(client, make_agent(db, role=AGENT_ROLES[role]))
        return {}, token
    if role in KEY_SCOPES:
        return bearer(make_api_key(db, KEY_SCOPES[role])), csrf_from(client, "/login")
    return {}, csrf_from(client, "/login")


@pytest.fixture(autouse=True)
def _webhooks_in_the_test_transaction(app: FastAPI, db: Session) -> None:
    # Inbound webhooks store deliveries on their own connection; here they use the test's session
    # (as tests/integrations does), so SQLite's write lock is not contended.
    def ingest(**values):
        db.commit()
        try:
            receipt = inbox.receive(db, **values)
            db.commit()
            return receipt
        except BaseException:
            db.rollback()
            raise

    app.dependency_overrides[ingester] = lambda: in_thread(ingest)
    app.dependency_overrides[background_processor] = lambda: None


def test_every_route_is_classified(app: FastAPI) -> None:
    endpoints = all_endpoints(app)
    unclassified = [f"{e.method} {e.path}" for e in endpoints if policy_of(e) is None]
    assert not unclassified, f"routes with no access policy in EXPECTED: {unclassified}"
    # Sanity: the walk really reached the lazily included routers.
    paths = {e.path for e in endpoints}
    assert {"/tickets/{ticket_id}", "/api/v1/tickets", "/phrasing/suggest", "/settings/accounts"} <= paths
    assert len(endpoints) > 150


@pytest.mark.parametrize("role", ROLES)
def test_access_matrix(role: str, app: FastAPI, client: TestClient, db: Session) -> None:
    headers, csrf = _client_for(role, client, db)
    mismatches = []
    checked = 0
    for endpoint in all_endpoints(app):
        policy = policy_of(endpoint)
        if policy is None or (endpoint.method, endpoint.path) in SESSION_ENDERS:
            continue  # reported by test_every_route_is_classified / test_session_routes
        request_headers = dict(headers)
        if endpoint.method in UNSAFE:
            request_headers["X-CSRF-Token"] = csrf
        response = client.request(
            endpoint.method, endpoint.url(), headers=request_headers, follow_redirects=False
        )
        checked += 1
        want = expectation(policy, role)
        assert response.status_code < 500, (
            f"{endpoint.method} {endpoint.url()} as {role}: {response.status_code}"
        )
        if want == "reject":
            got = "reject" if response.status_code >= 400 else f"accepted {response.status_code}"
        else:
            got = verdict(response)
        if got != want:
            mismatches.append(
                f"{endpoint.method} {endpoint.path} [{policy}] as {role}: want {want}, got {got}"
            )
    assert checked > 150
    assert not mismatches, "\n".join(mismatches)


def test_session_routes(client: TestClient, db: Session) -> None:
    # Anyone may try to log in (a wrong password is a 401 form, not a refusal) or log out.
    csrf = csrf_from(client, "/login")
    response = client.post("/login", data={"username": "nobody", "password": "x", "csrf_token": csrf})
    assert response.status_code == 401
    assert CSRF_RE.search(response.text), "the login form is shown again"
    response = client.post(
        "/logout", headers={"X-CSRF-Token": csrf_from(client, "/login")}, follow_redirects=False
    )
    assert verdict(response) == "login"
    # Logging out everywhere needs a login: htmx gets 401, a logged-in agent gets through.
    csrf = csrf_from(client, "/login")
    response = client.post("/logout/everywhere", headers={"X-CSRF-Token": csrf, "HX-Request": "true"})
    assert response.status_code == 401
    csrf = login(client, make_agent(db))
    response = client.post("/logout/everywhere", headers={"X-CSRF-Token": csrf}, follow_redirects=False)
    assert response.status_code not in {401, 403}
    assert verdict(client.get("/settings", follow_redirects=False)) == "login", "every session ended"


def test_htmx_request_without_session_gets_401(client: TestClient) -> None:
    response = client.get("/tickets/999999", headers={"HX-Request": "true"}, follow_redirects=False)
    assert response.status_code == 401


def test_every_unsafe_html_route_refuses_a_missing_csrf_token(
    app: FastAPI, client: TestClient, db: Session
) -> None:
    login(client, make_agent(db, role=Role.admin))
    unsafe = [e for e in all_endpoints(app) if e.method in UNSAFE and is_html(e)]
    assert len(unsafe) > 60
    accepted = []
    for endpoint in unsafe:
        response = client.request(endpoint.method, endpoint.url(), follow_redirects=False)
        if response.status_code != 403:
            accepted.append(f"{endpoint.method} {endpoint.path}: {response.status_code}")
        # A wrong token is refused too.
        response = client.request(
            endpoint.method, endpoint.url(), headers={"X-CSRF-Token": "forged"}, follow_redirects=False
        )
        if response.status_code != 403:
            accepted.append(f"{endpoint.method} {endpoint.path} with a forged token: {response.status_code}")
    assert not accepted, "unsafe HTML routes without CSRF protection:\n" + "\n".join(accepted)
