"""A steady mixed load against a running server for the database-fault tests: signed webhooks,
API order writes, /healthz and a logged-in HTML page, each request tagged with the phase of the
outage it started and ended in."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import httpx

from tests.reliability.helpers import Delivery, send

PRICES = (Decimal("199.00"), Decimal("35.50"), Decimal("8.80"))
ORDER_TOTAL = sum(PRICES)  # quantity 1 each, no shipping, no discount
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Answer:
    kind: str
    key: str
    started: str
    ended: str
    status: int | None
    content_type: str
    body: str


class Load:
    """Run one thread per kind of request until stopped; `phase` is set by the test."""

    def __init__(self, base: str, *, api_key: str, customer_id: int, store: str, deliveries: list[Delivery]):
        self.base = base
        self.api_key = api_key
        self.customer_id = customer_id
        self.store = store
        self.deliveries = deliveries
        self.phase = "before"
        self.answers: list[Answer] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []

    # --- the requests ---------------------------------------------------------------------

    # Each returns the request's key (what to look for in the database) and how to send it.

    def _webhooks(self, client: httpx.Client, n: int) -> tuple[str, Callable[[], httpx.Response]]:
        delivery = self.deliveries[n]
        return delivery.webhook_id, lambda: send(client, self.base, delivery)

    def _api_orders(self, client: httpx.Client, n: int) -> tuple[str, Callable[[], httpx.Response]]:
        external_id = f"api-{n:05d}"
        body = {
            "store": self.store,
            "customer_id": self.customer_id,
            "external_id": external_id,
            "items": [
                {"sku": f"SKU-{i}", "title": f"商品 {i}", "quantity": 1, "unit_price": str(price)}
                for i, price in enumerate(PRICES)
            ],
        }
        headers = {"Authorization": f"Bearer {self.api_key}"}
        return external_id, lambda: client.post(f"{self.base}/api/v1/orders", json=body, headers=headers)

    def _health(self, client: httpx.Client, n: int) -> tuple[str, Callable[[], httpx.Response]]:
        return str(n), lambda: client.get(f"{self.base}/healthz")

    def _page(self, client: httpx.Client, n: int) -> tuple[str, Callable[[], httpx.Response]]:
        return str(n), lambda: client.get(f"{self.base}/orders")

    # --- running --------------------------------------------------------------------------

    def _loop(self, kind: str, request: Callable, client: httpx.Client) -> None:
        n = 0
        try:
            while not self.stopping.is_set() and n < len(self.deliveries):
                started = self.phase
                key, call = request(client, n)
                try:
                    response = call()
                    status, content_type, text = (
                        response.status_code,
                        response.headers.get("content-type", ""),
                        response.text,
                    )
                except httpx.HTTPError as exc:  # no answer within the bound, or none at all
                    status, content_type, text = None, "", f"{type(exc).__name__}: {exc}"
                with self.lock:
                    self.answers.append(Answer(kind, key, started, self.phase, status, content_type, text))
                n += 1
                time.sleep(0.05)
        finally:
            client.close()

    def start(self, page_client: httpx.Client) -> None:
        kinds = {
            "webhook": (self._webhooks, httpx.Client(timeout=10)),
            "api": (self._api_orders, httpx.Client(timeout=10)),
            "health": (self._health, httpx.Client(timeout=10)),
            "page": (self._page, page_client),
        }
        for kind, (request, client) in kinds.items():
            thread = threading.Thread(target=self._loop, args=(kind, request, client), name=f"load-{kind}")
            thread.start()
            self.threads.append(thread)

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=30)

    def count(self, *, started: str, ended: str | None = None) -> dict[str, int]:
        """How many answers of each kind started (and ended) in these phases."""
        with self.lock:
            found = [a for a in self.answers if a.started == started and a.ended == (ended or started)]
        return {kind: sum(a.kind == kind for a in found) for kind in ("webhook", "api", "health", "page")}

    def within(self, phase: str) -> list[Answer]:
        with self.lock:
            return [a for a in self.answers if a.started == a.ended == phase]

    def all(self) -> list[Answer]:
        with self.lock:
            return list(self.answers)


def logged_in_client(base: str, username: str, password: str) -> httpx.Client:
    """An httpx client holding a real login session (the /login form with its CSRF token)."""
    client = httpx.Client(base_url=base, timeout=10)
    token = CSRF_RE.search(client.get("/login").text)
    assert token, "no CSRF token on /login"
    response = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token.group(1)}
    )
    assert response.status_code == 303, response.text
    return client
