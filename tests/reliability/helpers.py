"""Real processes for the crash and fault tests: a migrated scratch database, `huitou serve` /
`huitou dispatch` started with Popen (so they can be SIGKILLed), signed Shopify order
deliveries, and checks of what ended up in the database."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.integrations.conftest import FIXTURES, shopify_headers
from tests.live import HUITOU, free_port

STORE = "crash-shop"
SECRET = "reliability-shopify-secret-0123"
PASSWORD = "reliability-password-1"
# A time long past: moving a lease there is what its expiry would do, without waiting for it.
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


def sa_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@dataclass
class Scratch:
    url: str
    env: dict[str, str]
    engine: sa.Engine
    api_key: str = ""

    def huitou(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            [HUITOU, *args], env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )

    def scalar(self, sql: str, **params: object) -> object:
        with self.engine.connect() as conn:
            return conn.execute(sa.text(sql), params).scalar_one()

    def rows(self, sql: str, **params: object) -> list[sa.Row]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.text(sql), params))


def migrated(url: str, *, agents: dict[str, str] | None = None, api_key_scope: str | None = None) -> Scratch:
    """Migrate `url` and add the Shopify store the tests post to, `agents` (username: role, all
    with PASSWORD) and an API key; in this process (each `huitou` command costs a start-up)."""
    from sqlmodel import Session

    from app.accounts import service as accounts
    from app.integrations import service as stores
    from app.migrations import upgrade

    env = os.environ | {"HUITOU_DATABASE_URL": url, "COLUMNS": "200", "NO_COLOR": "1"}
    upgrade(sa_url(url))
    scratch = Scratch(url, env, sa.create_engine(sa_url(url), poolclass=sa.NullPool))
    now = datetime.now(UTC)
    with Session(scratch.engine) as session:
        stores.create_store_with_secret(session, slug=STORE, platform="shopify", secret=SECRET, now=now)
        for username, role in (agents or {}).items():
            accounts.create_agent(session, username=username, password=PASSWORD, role=role, now=now)
        if api_key_scope:
            scratch.api_key = accounts.create_api_key(
                session, name="load", scope=api_key_scope, now=now
            ).secret
        session.commit()
    return scratch


@contextmanager
def scratch_database(prefix: str, **seed: object) -> Iterator[Scratch]:
    """A migrated database of the engine under test (seeded as `migrated`), dropped afterwards."""
    from tests.conftest import create_scratch_database, drop_scratch_database

    url = create_scratch_database(prefix)
    scratch = migrated(url, **seed)
    try:
        yield scratch
    finally:
        scratch.engine.dispose()
        drop_scratch_database(url)


class Process:
    """One `huitou` command as a child process whose output goes to a log file."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("a")
        self.popen = subprocess.Popen([HUITOU, *args], env=env, stdout=self._log, stderr=self._log)

    def kill(self) -> None:
        """SIGKILL: no shutdown hook, no flush, no rollback; exactly what a crash or OOM kill does."""
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=10)
        self._log.close()

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


class Server(Process):
    """`huitou serve` on a free port, started and waited for until /healthz answers 200."""

    def __init__(self, env: dict[str, str], log_path: Path, *, timeout: float = 30) -> None:
        port = free_port()
        super().__init__(["serve", "--port", str(port)], env, log_path)
        self.base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                break
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        pytest.fail(f"the server did not start:\n{self.log()[-3000:]}")


def wait_until(condition, *, timeout: float, step: float = 0.1, what: str = "the condition") -> None:
    """Poll `condition()` until it is true; fail (with `what`) if it never is within `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(step)
    pytest.fail(f"timed out waiting for {what}")


# --- signed Shopify deliveries ---------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """One signed orders/create delivery: its own webhook id, order id and buyer."""

    webhook_id: str
    order_id: str
    body: bytes
    headers: dict[str, str]


def _order_template() -> dict:
    return json.loads((FIXTURES / "shopify_rest_order_fixture_1.json").read_bytes())["order"]


def order_deliveries(count: int, *, first_order_id: int, prefix: str) -> list[Delivery]:
    """`count` distinct orders/create deliveries (3 line items each), each for its own buyer."""
    template = _order_template()
    made = []
    for n in range(count):
        order = copy.deepcopy(template)
        order_id = first_order_id + n
        order["id"] = order_id
        order["name"] = f"#R{order_id}"
        order["order_number"] = order_id
        order["customer"]["id"] = 7_000_000_000 + order_id
        order["customer"]["email"] = f"buyer{order_id}@example.com"
        body = json.dumps(order, ensure_ascii=False).encode()
        webhook_id = f"{prefix}-{n:05d}"
        headers = shopify_headers(SECRET, body, "orders/create", webhook_id=webhook_id)
        made.append(Delivery(webhook_id, str(order_id), body, headers))
    return made


def send(client: httpx.Client, base: str, delivery: Delivery) -> httpx.Response:
    return client.post(f"{base}/webhooks/shopify/{STORE}", content=delivery.body, headers=delivery.headers)


# --- what the database holds -----------------------------------------------------------------


def assert_orders_created_exactly_once(scratch: Scratch, order_ids: set[str]) -> None:
    """One order per id, each with its 3 line items, its buyer and one creation entry in its
    timeline; no follow-up scheduled twice."""
    rows = scratch.rows(
        "SELECT o.external_id, "
        " (SELECT count(*) FROM order_items i WHERE i.order_id = o.id) AS items, "
        " (SELECT count(*) FROM order_timeline t WHERE t.order_id = o.id AND t.from_stage IS NULL)"
        "   AS created "
        "FROM orders o"
    )
    by_id: dict[str, list[tuple[int, int]]] = {}
    for external_id, items, created in rows:
        by_id.setdefault(external_id, []).append((items, created))
    assert set(by_id) == order_ids, f"missing orders: {sorted(order_ids - set(by_id))[:10]}"
    doubled = {k: v for k, v in by_id.items() if v != [(3, 1)]}
    assert not doubled, f"orders not created exactly once (items, creation entries): {doubled}"
    buyers = scratch.scalar("SELECT count(DISTINCT customer_id) FROM orders")
    assert buyers == scratch.scalar("SELECT count(*) FROM customers") == len(order_ids)
    repeated = scratch.scalar(
        "SELECT count(*) FROM (SELECT order_id, kind FROM followups WHERE order_id IS NOT NULL "
        "GROUP BY order_id, kind HAVING count(*) > 1) AS twice"
    )
    assert repeated == 0
