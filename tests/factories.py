"""Plain factory functions with keyword overrides, and login helpers."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.models import Agent, Role, Scope, Team

PASSWORD = "correct horse battery"
_seq = itertools.count(1)
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
T0 = datetime(2026, 11, 11, 2, 0, tzinfo=UTC)


def make_team(db: Session, **overrides) -> Team:
    values = {"name": f"team-{next(_seq)}", "now": T0} | overrides
    return accounts.create_team(db, **values)


def make_agent(db: Session, **overrides) -> Agent:
    values = {
        "username": f"agent{next(_seq)}",
        "password": PASSWORD,
        "role": Role.agent,
        "now": T0,
    } | overrides
    return accounts.create_agent(db, **values)


def make_api_key(db: Session, scope: Scope | str = Scope.read, **overrides) -> str:
    values = {"name": f"key-{next(_seq)}", "scope": scope, "now": T0} | overrides
    return accounts.create_api_key(db, **values).secret


def csrf_from(client: TestClient, path: str = "/login") -> str:
    response = client.get(path)
    match = CSRF_RE.search(response.text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client: TestClient, agent: Agent, password: str = PASSWORD) -> str:
    """Log in through the real form; returns the new session's CSRF token."""
    token = csrf_from(client, "/login")
    response = client.post(
        "/login",
        data={"username": agent.username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return csrf_from(client, "/settings")


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


# --- sales lifecycle records (plain rows; domain tests use the services they test) ------------
from decimal import Decimal  # noqa: E402

from app.catalog.models import Product  # noqa: E402
from app.customers.models import Customer  # noqa: E402
from app.integrations import service as stores  # noqa: E402
from app.integrations.models import Store  # noqa: E402


def make_store(db: Session, **overrides) -> Store:
    values = {"slug": f"store-{next(_seq)}", "platform": "standard", "now": T0} | overrides
    return stores.create_store(db, **values)


def make_product(db: Session, store: Store | None = None, **overrides) -> Product:
    store = store or make_store(db)
    n = next(_seq)
    values = {
        "store_id": store.id,
        "sku": f"SKU-{n}",
        "title": f"明前龙井 {n}",
        "category": "绿茶",
        "currency": store.currency,
        "list_price": Decimal("199.00"),
        "floor_price": Decimal("159.00"),
        "care_tips": "密封冷藏，避光防潮。",
        "created_at": T0,
        "updated_at": T0,
    } | overrides
    product = Product(**values)
    db.add(product)
    db.flush()
    return product


def make_customer(db: Session, store: Store | None = None, **overrides) -> Customer:
    store = store or make_store(db)
    n = next(_seq)
    values = {
        "store_id": store.id,
        "external_id": f"c{n}",
        "nickname": f"买家{n}",
        "name": "张三",
        "phone": "13812345678",
        "email": f"buyer{n}@example.cn",
        "province": "浙江省",
        "city": "杭州市",
        "district": "西湖区",
        "street": "文三路 100 号 5 幢 301",
        "created_at": T0,
        "updated_at": T0,
    } | overrides
    customer = Customer(**values)
    db.add(customer)
    db.flush()
    return customer


def count(db: Session, model, **equals) -> int:
    """Rows of `model` matching column == value filters."""
    import sqlalchemy as sa
    from sqlmodel import select

    query = select(sa.func.count()).select_from(model)
    for column, value in equals.items():
        query = query.where(getattr(model, column) == value)
    return int(db.exec(query).one())


# --- integrations: a store with a known signing secret ---------------------------------------
def make_signed_store(db: Session, *, platform: str = "shopify", secret: str | None = None, **overrides):
    """(store, secret): a store whose webhooks are signed with `secret`."""
    from app.integrations import service as integrations

    if secret is None:
        secret = integrations.new_secret_for(platform)
    values = {"slug": f"shop-{next(_seq)}", "platform": platform, "now": T0} | overrides
    store, plain = integrations.create_store_with_secret(db, secret=secret, **values)
    return store, plain
