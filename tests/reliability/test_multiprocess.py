"""Several `huitou serve` processes on one PostgreSQL database, as behind a load balancer: nothing
correct depends on a process's memory. A ticket opened through one process is in the other's
queue poll, a session cookie signed by one is honoured by the other (CSRF token included), and
"next ticket" pressed through both at once never gives one ticket to two agents."""

from __future__ import annotations

import re
import threading
from collections import Counter

import httpx
import pytest

from tests.reliability.helpers import PASSWORD, STORE, Server, scratch_database

pytestmark = pytest.mark.postgres_only

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
TICKETS = 40


def _login(base: str, username: str) -> tuple[httpx.Client, str]:
    """A browser-like client logged in through `base`: (client with the session cookie, CSRF token)."""
    client = httpx.Client(base_url=base, timeout=30)
    page = client.get("/login")
    token = CSRF_RE.search(page.text).group(1)
    answer = client.post(
        "/login", data={"username": username, "password": PASSWORD, "next": "/", "csrf_token": token}
    )
    assert answer.status_code == 303, answer.text[:300]
    home = client.get("/")
    assert home.status_code == 200
    return client, CSRF_RE.search(home.text).group(1)


def _htmx(token: str) -> dict[str, str]:
    return {"HX-Request": "true", "X-CSRF-Token": token}


def _open_ticket(base: str, api_key: str, subject: str) -> int:
    headers = {"Authorization": f"Bearer {api_key}"}
    customer = httpx.post(
        f"{base}/api/v1/customers", json={"store": STORE, "nickname": subject}, headers=headers, timeout=30
    )
    assert customer.status_code == 201, customer.text
    ticket = httpx.post(
        f"{base}/api/v1/tickets",
        json={"customer_id": customer.json()["id"], "kind": "inquiry", "subject": subject, "body": "在吗？"},
        headers=headers,
        timeout=30,
    )
    assert ticket.status_code == 201, ticket.text
    return ticket.json()["id"]


def test_two_server_processes_share_sessions_queues_and_claims(tmp_path):
    with scratch_database("multi", agents={"ana": "agent", "bo": "agent"}, api_key_scope="write") as scratch:
        a = Server(scratch.env, tmp_path / "serve-a.log")
        b = Server(scratch.env, tmp_path / "serve-b.log")
        try:
            # A session cookie signed by process A is a session on process B, CSRF token and all.
            ana, ana_csrf = _login(a.base, "ana")
            on_b = httpx.Client(base_url=b.base, cookies=ana.cookies, timeout=30)
            home = on_b.get("/")
            assert home.status_code == 200
            assert 'action="/logout"' in home.text or "ana" in home.text
            seen = on_b.post("/me/seen", headers=_htmx(ana_csrf))
            assert seen.status_code == 204

            # A ticket opened through A is in B's live queue poll (the queue reads the database).
            first = _open_ticket(a.base, scratch.api_key, "从 A 进来的咨询")
            rows = on_b.get("/queues/presale/rows", headers=_htmx(ana_csrf))
            assert rows.status_code == 200
            assert "从 A 进来的咨询" in rows.text
            assert f"/tickets/{first}" in rows.text
            counts = on_b.get("/queues/counts?queue=presale", headers=_htmx(ana_csrf))
            assert counts.status_code == 200

            # "Next ticket" pressed by two agents through both processes at once: every ticket is
            # claimed once, by the agent whose claim the database holds.
            for n in range(TICKETS - 1):
                _open_ticket((a, b)[n % 2].base, scratch.api_key, f"咨询 {n}")
            bo, bo_csrf = _login(b.base, "bo")
            bo_on_a = httpx.Client(base_url=a.base, cookies=bo.cookies, timeout=30)
            clients = {"ana": [(ana, ana_csrf), (on_b, ana_csrf)], "bo": [(bo, bo_csrf), (bo_on_a, bo_csrf)]}
            claimed: dict[str, list[int]] = {"ana": [], "bo": []}
            failures: list[str] = []
            start = threading.Barrier(2)

            def claim_all(agent: str) -> None:
                start.wait()
                turn = 0
                while True:
                    client, token = clients[agent][turn % 2]
                    turn += 1
                    answer = client.post("/tickets/next", data={"queue": ""}, headers=_htmx(token))
                    if answer.status_code == 200:  # nothing waits any more
                        return
                    if answer.status_code != 204:
                        failures.append(f"{agent}: {answer.status_code} {answer.text[:200]}")
                        return
                    claimed[agent].append(int(answer.headers["HX-Redirect"].rsplit("/", 1)[-1]))

            threads = [threading.Thread(target=claim_all, args=(agent,)) for agent in claimed]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=120)
            assert not failures
            everything = claimed["ana"] + claimed["bo"]
            assert not [t for t, n in Counter(everything).items() if n > 1], "a ticket was claimed twice"
            assert len(everything) == TICKETS
            assert claimed["ana"] and claimed["bo"]  # both took part
            holders = dict(
                scratch.rows(
                    "SELECT t.id, a.username FROM tickets t JOIN agents a ON a.id = t.assignee_id "
                    "WHERE t.assignee_id IS NOT NULL"
                )
            )
            assert holders == {t: agent for agent, ids in claimed.items() for t in ids}
            for client_pair in clients.values():
                for client, _ in client_pair:
                    client.close()
        finally:
            a.stop()
            b.stop()
