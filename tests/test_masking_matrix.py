"""Masking, route by route: an agent never sees a buyer's whole phone number, email or address.

The demo data of every domain is seeded (customers with orders, shipments, inquiries and bargaining
rounds, after-sales cases, reviews, surveys, follow-ups, tickets with messages, quality
inspections), every buyer is then given a distinctive phone, email, district and street, and every
GET route of the app's route table (the access matrix's enumeration) is requested with real ids —
as a plain request and as an htmx request — by agents of each team and by API keys of the scopes an
agent-level integration has (read, write). No response (body or headers) may hold any of those
values, raw or JSON-, HTML- or URL-encoded; nor may any log record written meanwhile.

Coverage cannot rot silently: a route whose path parameter has no source of real values fails,
and so does an agent-visible route that never answered 200 (it would check nothing) unless
NOT_SHOWN_TO_AGENTS says why. The positive control proves the detector works: a supervisor and an
admin key do see the whole values (that is the policy: app/customers/masking.py).

API keys have no role; their scope decides: read and write keys get the masked view, only admin
keys (which can also export and erase a buyer) see the whole values.
"""

from __future__ import annotations

import html
import json
import logging
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import quote, quote_plus

import pytest
import sqlalchemy as sa
from faker import Faker
from fastapi import FastAPI
from fastapi.testclient import TestClient
from rich.progress import Progress
from sqlmodel import Session, SQLModel

from app.accounts.models import Scope
from app.customers.masking import mask_phone
from app.customers.models import Customer
from app.db import utc_now
from app.demo import DEMO_PASSWORDS, SEED_STEPS, DemoContext, DemoSizes, _step
from app.integrations import inbox
from app.integrations.webhooks import background_processor, in_thread, ingester
from app.metrics.exports import TABLES as EXPORT_TABLES
from app.reviews.surveys import survey_token
from tests.factories import (
    CSRF_RE,
    bearer,
    login,
    make_agent,
    make_api_key,
    make_customer,
    make_product,
    make_signed_store,
    make_store,
)
from tests.integrations.conftest import post_standard
from tests.test_access_matrix import KEY_READ, LOGIN, PUBLIC, Endpoint, all_endpoints, policy_of

PARAM_RE = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")
PER_PARAM = 4  # real ids tried per path parameter (linked to different buyers where possible)


def _table(name: str) -> sa.Table:
    return SQLModel.metadata.tables[name]


def _ids(
    db: Session, table: str, column: str = "id", *, distinct_by: str | None = "customer_id"
) -> list[str]:
    """Up to PER_PARAM values of `column`, one per buyer when the table has a buyer column."""
    t = _table(table)
    rows = db.execute(sa.select(t).order_by(t.c.id)).mappings().all()
    values: list[str] = []
    seen: set[object] = set()
    for row in rows:
        key = row.get(distinct_by) if distinct_by and distinct_by in row else row["id"]
        if key in seen:
            continue
        seen.add(key)
        values.append(str(row[column]))
        if len(values) == PER_PARAM:
            break
    return values


def _queue_keys(db: Session) -> list[str]:
    t = _table("queues")
    return sorted({str(k) for k in db.execute(sa.select(t.c.key)).scalars()})


# Where each path parameter's real values come from. A new parameter name fails
# test_every_get_route_gets_real_path_values until it is given a source here.
PARAM_VALUES: dict[str, Callable[[Session], list[str]]] = {
    "customer_id": lambda db: _ids(db, "customers", distinct_by=None),
    "ticket_id": lambda db: _ids(db, "tickets"),
    "order_id": lambda db: _ids(db, "orders"),
    "case_id": lambda db: _ids(db, "aftersales_cases"),
    "inquiry_id": lambda db: _ids(db, "inquiries"),
    "round_id": lambda db: _ids(db, "bargain_rounds", distinct_by="inquiry_id"),
    "review_id": lambda db: _ids(db, "reviews"),
    "product_id": lambda db: _ids(db, "products", distinct_by=None),
    "template_id": lambda db: _ids(db, "phrasing_templates", distinct_by=None),
    "inspection_id": lambda db: _ids(db, "qa_inspections", distinct_by="agent_id"),
    "batch_id": lambda db: _ids(db, "qa_batches", distinct_by=None),
    "agent_id": lambda db: _ids(db, "agents", distinct_by=None),
    "plan_id": lambda db: _ids(db, "revisit_plans", distinct_by=None),
    "slug": lambda db: _ids(db, "stores", "slug", distinct_by=None),
    "message_id": lambda db: _ids(db, "webhook_inbox", distinct_by=None) or ["999999"],
    "subscription_id": lambda db: _ids(db, "webhook_subscriptions", distinct_by=None) or ["999999"],
    "token": lambda db: [survey_token(int(i)) for i in _ids(db, "csat_surveys")],
    "queue_key": _queue_keys,
    "table": lambda db: list(EXPORT_TABLES),
    "path": lambda db: ["app.css", "desk.js", "vendor/htmx-2.0.11.min.js"],
}

# Query strings that change what a page shows about buyers ({ticket_id} etc. are filled as above).
EXTRA_QUERIES: dict[str, list[str]] = {
    "/": ["queue={queue_key}"],
    "/customers": ["q={nickname}", "vip_min=0"],
    "/customers/export.csv": ["q={nickname}"],
    "/orders": ["q={order_number}"],
    "/inquiries": ["mine=1", "status=open"],
    "/queues/counts": ["queue={queue_key}"],
    "/phrasing/suggest": ["ticket_id={ticket_id}"],
    "/phrasing/{template_id}/render": ["ticket_id={ticket_id}", "ticket_id={ticket_id}&locale=en"],
    "/phrasing/export": ["format=csv", "format=json"],
    "/s/{token}": ["lang=en"],
    "/api/v1/customers": ["limit=100", "q={nickname}"],
    "/api/v1/tickets": ["limit=100", "customer_id={customer_id}"],
    "/api/v1/orders": ["limit=100", "customer_id={customer_id}"],
    "/api/v1/cases": ["limit=100"],
    "/api/v1/inquiries": ["limit=100"],
    "/api/v1/reviews": ["limit=100"],
    "/api/v1/followups": ["limit=100", "customer_id={customer_id}"],
    "/api/v1/metrics": ["by_agent=true"],
    "/api/v1/phrasing/export": ["format=csv", "format=json"],
}

# Agent-visible routes that may answer only non-200 to an agent here, and why.
NOT_SHOWN_TO_AGENTS: dict[str, str] = {
    "/login": "a logged-in agent is sent on to the desk (303)",
    "/inquiries/by-round/{round_id}": "redirects to /inquiries/{inquiry_id}, which is walked itself",
}
# Routes that must show the seeded buyers (masked): proof the walk looked at pages with buyers on.
PAGES_SHOWING_BUYERS = {
    "/customers",
    "/customers/{customer_id}",
    "/customers/export.csv",
    "/tickets/{ticket_id}",
    "/orders/{order_id}",
    "/cases/{case_id}",
}
API_SHOWING_BUYERS = {"/api/v1/customers", "/api/v1/customers/{customer_id}", "/api/v1/tickets/{ticket_id}"}
# A buyer who reached us through a signed webhook (the ingestion path), not the demo seeder.
WEBHOOK_BUYER = {
    "id": "wh-buyer-1",
    "nickname": "松风客",
    "name": "林清泉",
    "phone": "19912340987",
    "email": "lin.qingquan@example.cn",
    "province": "浙江省",
    "city": "杭州市",
    "district": "松风区",
    "street": "明月路 88 号 & 听涛阁 9 室",
}


@dataclass
class World:
    customer_ids: list[int]
    secrets: dict[str, str] = field(default_factory=dict)  # the value → what it is
    values: dict[str, list[str]] = field(default_factory=dict)  # path / query parameter → values


def _distinctive(customer_id: int) -> dict[str, str]:
    return {
        "phone": f"1996{customer_id:03d}{(customer_id * 7919) % 10000:04d}",
        "email": f"secret.buyer{customer_id}@example.cn",
        "district": f"幽篁区{customer_id}",
        # A space and an ampersand, so HTML- and URL-encoded forms differ from the raw text.
        "street": f"竹里巷 {customer_id} 号 & 深林馆 {customer_id} 室",
    }


def _webhook_event(kind: str, data: dict) -> dict:
    return {"type": kind, "timestamp": utc_now().isoformat(), "data": data}


def _ingest_a_webhook_buyer(app: FastAPI, db: Session) -> None:
    """An order, an inquiry and a message from WEBHOOK_BUYER, through the signed Standard webhook."""

    def ingest(**values):
        db.commit()
        receipt = inbox.receive(db, **values)
        db.commit()
        return receipt

    app.dependency_overrides[ingester] = lambda: in_thread(ingest)
    app.dependency_overrides[background_processor] = lambda: None
    store, secret = make_signed_store(db, platform="standard")
    product = make_product(db, store)
    order = {
        "id": "wh-order-1", "number": "T20261111999001", "currency": "CNY", "total": "199.00",
        "placed_at": utc_now().isoformat(), "updated_at": utc_now().isoformat(),
        "customer": WEBHOOK_BUYER,
        "items": [{"sku": product.sku, "title": product.title, "quantity": 1, "unit_price": "199.00"}],
    }  # fmt: skip
    events = [
        _webhook_event("order.created", order),
        _webhook_event("inquiry.created", {
            "id": "wh-iq-1", "customer": WEBHOOK_BUYER, "skus": [product.sku], "question": "能便宜点吗？",
        }),
        _webhook_event("message.received", {"id": "wh-m-1", "customer": WEBHOOK_BUYER, "text": "到哪了？"}),
    ]  # fmt: skip
    with TestClient(app, base_url="http://testserver") as client:
        for event in events:
            assert post_standard(client, store, secret, event).status_code in {200, 202}
    for _ in range(10):
        if not inbox.process_due(db, now=utc_now()):
            break
    app.dependency_overrides.pop(ingester)
    app.dependency_overrides.pop(background_processor)


@pytest.fixture
def world(app: FastAPI, db: Session) -> World:
    faker = Faker("zh_CN")
    faker.seed_instance(8)
    ctx = DemoContext(
        session=db,
        sizes=DemoSizes(customers=20, orders=60),
        rng=random.Random(8),
        faker=faker,
        # The real clock, so surveys are still open and follow-ups still pending when pages render.
        now=utc_now(),
        progress=Progress(disable=True),
    )
    for step in SEED_STEPS:
        _step(step)(ctx)
        db.flush()
    _ingest_a_webhook_buyer(app, db)
    customers = list(db.exec(sa.select(Customer).order_by(Customer.id)).scalars())
    assert any(c.external_id == WEBHOOK_BUYER["id"] for c in customers), "the webhook buyer arrived"
    world = World(customer_ids=[c.id for c in customers])
    # What the webhook carried stays in its inbox row (administrators' pages); agents never see it.
    for name in ("phone", "email", "district", "street"):
        world.secrets[WEBHOOK_BUYER[name]] = f"{name} of the webhook buyer"
    for customer in customers:
        for name, value in _distinctive(customer.id).items():
            setattr(customer, name, value)
            world.secrets[value] = f"{name} of customer {customer.id}"
        db.add(customer)
    db.flush()
    for name, source in PARAM_VALUES.items():
        world.values[name] = source(db)
    world.values["nickname"] = [customers[0].nickname]
    orders = _table("orders")
    world.values["order_number"] = [db.execute(sa.select(orders.c.number).limit(1)).scalar_one()]
    db.commit()
    return world


def encodings(value: str) -> set[str]:
    """The forms a value can take in a response: raw, HTML-, JSON- and URL-encoded."""
    forms = {
        value,
        html.escape(value),
        html.escape(value, quote=False),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        quote(value),
        quote(value, safe=""),
        quote_plus(value),
    }
    forms |= {f.lower() for f in forms if "\\u" in f or "%" in f}  # either hex case
    return forms


def leaks(text: str, world: World) -> list[str]:
    found = []
    for secret, what in world.secrets.items():
        if any(form in text for form in encodings(secret)):
            found.append(what)
    return found


def _response_text(response) -> str:
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    return f"{headers}\n{response.text}"


def urls(endpoint: Endpoint, world: World) -> Iterator[str]:
    """Every URL to request for `endpoint`: each real value of each path parameter (the others
    held at their first value), then the extra query strings."""
    params = PARAM_RE.findall(endpoint.path)

    def fill(template: str, choice: dict[str, str]) -> str:
        return re.sub(r"\{([^}:]+)(?::[^}]*)?\}", lambda m: choice[m.group(1)], template)

    first = {name: values[0] for name, values in world.values.items() if values}
    seen: set[str] = set()
    variants = [first] + [first | {p: v} for p in params for v in world.values.get(p, [])[1:]]
    for choice in variants:
        base = fill(endpoint.path, choice)
        for url in [base] + [f"{base}?{fill(q, choice)}" for q in EXTRA_QUERIES.get(endpoint.path, [])]:
            if url not in seen:
                seen.add(url)
                yield url


def get_endpoints(app: FastAPI) -> list[Endpoint]:
    return [e for e in all_endpoints(app) if e.method == "GET"]


@dataclass
class Walk:
    leaks: list[str] = field(default_factory=list)
    statuses: dict[str, set[int]] = field(default_factory=dict)  # route pattern → statuses seen
    showing_buyers: set[str] = field(default_factory=set)  # route patterns showing a masked phone


def walk(client: TestClient, app: FastAPI, world: World, headers: dict[str, str], who: str) -> Walk:
    """GET every route as `who`, plainly and as htmx, and look for whole buyer data."""
    result = Walk()
    masked_phones = [mask_phone(secret) for secret, what in world.secrets.items() if what.startswith("phone")]
    for endpoint in get_endpoints(app):
        for url in urls(endpoint, world):
            for htmx in (False, True):
                request_headers = dict(headers) | ({"HX-Request": "true"} if htmx else {})
                response = client.get(url, headers=request_headers, follow_redirects=False)
                assert response.status_code < 500, f"GET {url} as {who}: {response.status_code}"
                result.statuses.setdefault(endpoint.path, set()).add(response.status_code)
                text = _response_text(response)
                for what in leaks(text, world):
                    result.leaks.append(f"GET {url}{' (htmx)' if htmx else ''} as {who}: {what}")
                if any(masked in text for masked in masked_phones):
                    result.showing_buyers.add(endpoint.path)
    return result


def _log_text(caplog: pytest.LogCaptureFixture) -> str:
    # The test's own HTTP client (httpx) logs the URLs it requests; those lines are not the server's.
    records = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    return "\n".join(f"{r.getMessage()} {r.__dict__!r} {r.exc_text or ''}" for r in records)


def test_every_get_route_gets_real_path_values(app: FastAPI, world: World) -> None:
    missing = []
    for endpoint in get_endpoints(app):
        for name in PARAM_RE.findall(endpoint.path):
            if not world.values.get(name):
                missing.append(f"GET {endpoint.path}: no real values for {{{name}}} (PARAM_VALUES)")
    assert not missing, "\n".join(missing)
    stale = set(EXTRA_QUERIES) - {e.path for e in get_endpoints(app)}
    assert not stale, f"EXTRA_QUERIES names routes that no longer exist: {stale}"
    assert len(get_endpoints(app)) > 80


def test_agents_never_see_a_whole_phone_email_or_address(
    app: FastAPI, db: Session, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    leaked: list[str] = []
    answered: dict[str, set[int]] = {}
    showing: set[str] = set()
    # The demo agents of both teams (queues and tickets are team-scoped), and one with no team.
    loose = make_agent(db)
    db.commit()
    for username, password in (("xiaomei", None), ("xiaoli", None), (loose.username, "own")):
        with TestClient(app, base_url="http://testserver") as client:
            if password is None:
                csrf = client.get("/login")
                assert csrf.status_code == 200
                token = CSRF_RE.search(csrf.text).group(1)
                response = client.post(
                    "/login",
                    data={"username": username, "password": DEMO_PASSWORDS["agent"], "csrf_token": token},
                    follow_redirects=False,
                )
                assert response.status_code == 303
            else:
                login(client, loose)
            # The customer page renders the buyer, masked: the walk below is not looking at nothing.
            first = world.customer_ids[0]
            page = client.get(f"/customers/{first}")
            assert page.status_code == 200
            assert mask_phone(_distinctive(first)["phone"]) in page.text
            result = walk(client, app, world, {}, username)
            leaked += result.leaks
            for path, codes in result.statuses.items():
                answered.setdefault(path, set()).update(codes)
            showing |= result.showing_buyers
    assert not leaked, "buyer data shown to agents:\n" + "\n".join(leaked)
    assert showing >= PAGES_SHOWING_BUYERS, (
        f"pages that showed no (masked) buyer: {PAGES_SHOWING_BUYERS - showing}"
    )

    # Every route an agent may open answered 200 at least once, so each was really checked.
    unchecked = [
        f"GET {e.path}: {sorted(answered.get(e.path, set()))}"
        for e in get_endpoints(app)
        if policy_of(e) in {LOGIN, PUBLIC}
        and 200 not in answered.get(e.path, set())
        and e.path not in NOT_SHOWN_TO_AGENTS
    ]
    assert not unchecked, "agent-visible routes that never rendered with real data:\n" + "\n".join(unchecked)

    logged = leaks(_log_text(caplog), world)
    assert not logged, f"buyer data in the logs: {logged}"


@pytest.mark.parametrize("scope", [Scope.read, Scope.write])
def test_agent_level_api_keys_never_see_a_whole_phone_email_or_address(
    scope: Scope,
    app: FastAPI,
    client: TestClient,
    db: Session,
    world: World,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    key = make_api_key(db, scope)
    db.commit()
    first = world.customer_ids[0]
    response = client.get(f"/api/v1/customers/{first}", headers=bearer(key))
    assert response.status_code == 200 and response.json()["masked"] is True
    result = walk(client, app, world, bearer(key), f"a {scope} key")
    assert not result.leaks, "buyer data shown to an agent-level API key:\n" + "\n".join(result.leaks)
    assert result.showing_buyers >= API_SHOWING_BUYERS
    unchecked = [
        f"GET {e.path}: {sorted(result.statuses.get(e.path, set()))}"
        for e in get_endpoints(app)
        if policy_of(e) == KEY_READ and 200 not in result.statuses.get(e.path, set())
    ]
    assert not unchecked, "API routes that never answered with real data:\n" + "\n".join(unchecked)
    logged = leaks(_log_text(caplog), world)
    assert not logged, f"buyer data in the logs: {logged}"


def test_supervisors_and_admin_keys_do_see_the_whole_values(
    app: FastAPI, client: TestClient, db: Session, world: World
) -> None:
    """The positive control: the same detector finds the values where the policy shows them."""
    from app.accounts.models import Role

    first = world.customer_ids[0]
    secrets = _distinctive(first)
    login(client, make_agent(db, role=Role.supervisor))
    page = client.get(f"/customers/{first}")
    assert page.status_code == 200
    shown = leaks(page.text, world)
    assert f"phone of customer {first}" in shown and f"street of customer {first}" in shown
    assert html.escape(secrets["street"]) in page.text
    key = make_api_key(db, Scope.admin)
    db.commit()
    body = client.get(f"/api/v1/customers/{first}", headers=bearer(key)).text
    assert {f"phone of customer {first}", f"street of customer {first}"} <= set(leaks(body, world))


def test_a_masked_viewer_finds_a_buyer_by_the_whole_phone_number_only(
    client: TestClient, db: Session
) -> None:
    """Searching on part of a phone would confirm the hidden digits one at a time (138****5678:
    try 1380, 1381, … then the next digit), so an agent or a small key matches the whole number
    only — which is what they type when a buyer calls. Supervisors search on any part."""
    from app.accounts.models import Role

    store = make_store(db)
    buyer = make_customer(db, store, nickname="老茶客", phone="13807571234")
    with_code = make_customer(db, store, nickname="海外茶客", phone="+8613907572345")
    agent, supervisor = make_agent(db), make_agent(db, role=Role.supervisor)
    read_key, admin_key = make_api_key(db, Scope.read), make_api_key(db, Scope.admin)
    db.commit()

    def html_hits(q: str) -> bool:
        response = client.get(
            "/customers", params={"q": q, "store": store.slug}, headers={"HX-Request": "true"}
        )
        assert response.status_code == 200
        return f"/customers/{buyer.id}" in response.text

    def api_hits(q: str, key: str, customer_id: int = buyer.id) -> bool:
        response = client.get("/api/v1/customers", params={"q": q, "store": store.slug}, headers=bearer(key))
        assert response.status_code == 200
        return customer_id in {c["id"] for c in response.json()["items"]}

    login(client, agent)
    assert html_hits("13807571234") and html_hits("老茶客")
    assert not html_hits("1380") and not html_hits("138075") and not html_hits("0757")
    assert api_hits("13807571234", read_key) and not api_hits("1380757", read_key)
    assert api_hits("13907572345", read_key, with_code.id), "the national number finds a +86 phone"
    assert not api_hits("+86139", read_key, with_code.id)
    login(client, supervisor)
    assert html_hits("1380757") and api_hits("1380757", admin_key)
