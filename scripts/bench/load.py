"""The mixed-load benchmark (run it through scripts/bench/run.sh; `--help` lists every flag).

For each engine (SQLite: one `huitou serve` process; PostgreSQL: four, round-robin per request
as a load balancer would, plus `huitou dispatch` workers beside them) on a copy of a dataset
built by `huitou seed-demo`, this process (a separate one, on 127.0.0.1) drives:

1. mixed load (--duration s): --agents simulated agents behaving like the desk in a browser —
   the workbench (queue page with rows, the agent's figures, the 4 s queue polls), "next ticket",
   the ticket workspace (presence every 5 s, thread every 10 s, phrasing suggestions), a reply
   that mostly solves the ticket, think times between steps — while signed Shopify orders/create
   webhooks arrive at --webhook-rate per second (some redelivered) and --supervisors supervisors
   reload the 30-day dashboard;
2. claim rush (a quarter of --duration, at least 10 s): every agent presses "next ticket" back to
   back (the start of a shift), webhooks and supervisors as before;
3. webhook flood (as long): signed deliveries from --flood-concurrency senders, nothing else.

Baselines, measured in the same run with the same client: a bare FastAPI app answering a small
JSON (GET), and a bare FastAPI app inserting each webhook body as one row with the sqlite3 module
(scripts/bench/webhook_ingest.py's). Server memory: RSS sampled every 0.5 s (psutil) and the
kernel's high-water mark (VmHWM) before the servers stop.

After the load the inbox is drained and the database is checked: no ticket claimed twice and
every claimed ticket held by its claimer; every acknowledged webhook stored once, processed, and
its order created exactly once; replies, claims and tickets counts agree.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import copy
import hashlib
import hmac
import importlib.metadata
import json
import math
import os
import random
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

SECRET_KEY = "bench-load-secret-key-that-is-long-enough-0123456789"
os.environ["HUITOU_SECRET_KEY"] = SECRET_KEY
os.environ.setdefault("HUITOU_ENVIRONMENT", "production")
os.environ.setdefault("HUITOU_LOG_LEVEL", "WARNING")

import aiohttp  # noqa: E402
import httpx  # noqa: E402
import psutil  # noqa: E402
import sqlalchemy as sa  # noqa: E402

HUITOU = str(Path(sys.executable).with_name("huitou"))
FIXTURES = Path(os.environ.get("HUITOU_WEBHOOK_FIXTURES", ROOT.parent / "shared" / "fixtures" / "webhooks"))
SHOP_SECRET = "bench-load-shopify-secret-0123456789"
STORE_SLUG = "bench-load"
PASSWORD = "bench-load-password-1"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
QUEUE_RE = re.compile(r'hx-get="/queues/([A-Za-z0-9_\-]+)/rows')
FIRST_ORDER_ID = 9_100_000_000_000

# name: (customers, orders, tickets, open tickets, messages). The reference is the issue's.
SIZES: dict[str, tuple[int, int, int, int, int]] = {
    "tiny": (1_000, 4_000, 8_000, 3_000, 20_000),
    "small": (5_000, 20_000, 40_000, 10_000, 100_000),
    "medium": (50_000, 200_000, 400_000, 40_000, 1_000_000),
    "reference": (250_000, 1_000_000, 2_000_000, 100_000, 5_000_000),
}
REPLIES = (
    "亲，已经帮您查询过了，包裹今天下午就会发出，请耐心等待哦～",
    "您好，这款是现货的，今天下单明天就能发货。",
    "亲亲，退款已经为您申请好了，1-3个工作日原路退回。",
    "感谢您的耐心等待，快递单号已经更新，您可以在订单里查看物流。",
    "好的亲，已备注优先发货，有问题随时联系我们～",
)


def sa_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def free_port() -> int:
    """A free port below the kernel's ephemeral range: a port the kernel picks (bind to 0) can be
    handed out again, before the server binds it, as the source port of an outgoing connection
    (a run failed so: "address already in use")."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 0
    rng = random.Random()
    for _ in range(100 if low > 10_000 else 0):
        port = rng.randrange(10_000, low)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_async(coro: Any) -> Any:
    """asyncio.run on uvloop when it is installed (uvicorn[standard] brings it): a lighter client."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


# --- statistics ------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """The p-quantile of seconds, in ms (NaN for none)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(p * len(ordered)) - 1)] * 1000


def parse_server_timing(header: str | None) -> dict[str, float]:
    """`queue;dur=0.8, total;dur=12.5` → {"queue": 0.0008, "total": 0.0125} (seconds)."""
    out = {}
    for entry in (header or "").split(","):
        name, _, params = entry.strip().partition(";")
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "dur" and name:
                with contextlib.suppress(ValueError):
                    out[name] = float(value) / 1000
    return out


@dataclass
class Op:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    codes: Counter = field(default_factory=Counter)
    # The server's own account of each answered request (its Server-Timing header), by part.
    server: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    def pct(self, p: float) -> float:
        return percentile(self.latencies, p)


class Phase:
    """A timed stretch of load: its own per-operation statistics, stopped at its deadline."""

    def __init__(self, name: str, seconds: float, *, record: bool = True) -> None:
        self.name = name
        self.seconds = seconds
        self.record = record
        self.ops: dict[str, Op] = defaultdict(Op)
        self.started = time.perf_counter()
        self.ended: float | None = None

    @property
    def over(self) -> bool:
        return time.perf_counter() - self.started >= self.seconds

    def add(self, op: str, seconds: float, ok: bool, code: int | str, timing: str | None = None) -> None:
        if not self.record:
            return
        entry = self.ops[op]
        entry.latencies.append(seconds)
        entry.codes[code] += 1
        if not ok:
            entry.errors += 1
        for part, value in parse_server_timing(timing).items():
            entry.server[part].append(value)

    @property
    def elapsed(self) -> float:
        return (self.ended or time.perf_counter()) - self.started


class Span:
    """Consecutive phases driven by the same people without a break (warm-up, then the measured
    mixed load): a request is recorded in the phase it ends in."""

    def __init__(self, phases: list[Phase]) -> None:
        self.phases = phases
        self.started = time.perf_counter()
        self.seconds = sum(p.seconds for p in phases)
        offset = self.started
        for phase in phases:
            phase.started, phase.ended = offset, offset + phase.seconds
            offset += phase.seconds

    @property
    def over(self) -> bool:
        return time.perf_counter() - self.started >= self.seconds

    def add(self, op: str, seconds: float, ok: bool, code: int | str, timing: str | None = None) -> None:
        now = time.perf_counter()
        for phase in self.phases:
            if now < phase.ended or phase is self.phases[-1]:
                phase.add(op, seconds, ok, code, timing)
                return


async def pause(seconds: float, phase: Phase | Span) -> None:
    """Sleep, but no later than the phase's end."""
    left = phase.seconds - (time.perf_counter() - phase.started)
    await asyncio.sleep(max(0.0, min(seconds, left)))


# --- the simulated people ---------------------------------------------------------------------


class Balancer:
    """Round robin over the server processes, per request (what a load balancer would do)."""

    def __init__(self, bases: list[str]) -> None:
        self.bases = bases
        self.n = 0

    def next(self) -> str:
        self.n += 1
        return self.bases[self.n % len(self.bases)]


@dataclass
class Answer:
    status_code: int
    headers: Any
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


ERRORS = (aiohttp.ClientError, asyncio.TimeoutError)


def new_client(limit: int) -> aiohttp.ClientSession:
    """aiohttp, not httpx, for the load: measured here at about 0.2 ms of client CPU per request
    against httpx's 1.7 ms, so the client is not what limits the figures on a 2-core machine."""
    return aiohttp.ClientSession(
        # Idle connections are dropped before uvicorn's 5 s keep-alive ends, so a request never
        # goes out on a connection the server is closing at that moment.
        connector=aiohttp.TCPConnector(limit=limit, keepalive_timeout=3),
        timeout=aiohttp.ClientTimeout(total=60),
        cookie_jar=aiohttp.CookieJar(unsafe=True),  # cookies for 127.0.0.1 (an IP address)
    )


async def fetch(client: aiohttp.ClientSession, method: str, url: str, **kwargs: Any) -> Answer:
    async with client.request(method, url, allow_redirects=False, **kwargs) as response:
        return Answer(response.status, response.headers, await response.read())


class Person:
    def __init__(self, username: str, balancer: Balancer, rng: random.Random, think: float) -> None:
        self.username = username
        self.balancer = balancer
        self.rng = rng
        self.think_mean = think
        self.client: aiohttp.ClientSession | None = None
        self.csrf = ""
        self.phase: Phase | None = None

    async def call(self, op: str, method: str, path: str, **kwargs: Any) -> Answer | None:
        assert self.client is not None
        started = time.perf_counter()
        try:
            response = await fetch(self.client, method, self.balancer.next() + path, **kwargs)
        except ERRORS as exc:
            if self.phase is not None:
                self.phase.add(op, time.perf_counter() - started, False, type(exc).__name__)
            return None
        if self.phase is not None:
            self.phase.add(
                op,
                time.perf_counter() - started,
                response.status_code < 400,
                response.status_code,
                response.headers.get("Server-Timing"),
            )
        return response

    def htmx(self) -> dict[str, str]:
        return {"HX-Request": "true", "X-CSRF-Token": self.csrf}

    async def think(self, factor: float = 1.0) -> None:
        assert self.phase is not None
        await pause(self.rng.expovariate(1.0 / (self.think_mean * factor)), self.phase)

    async def login(self) -> None:
        self.client = new_client(4)
        base = self.balancer.bases[0]
        page = await fetch(self.client, "GET", f"{base}/login")
        token = CSRF_RE.search(page.text)
        if token is None:
            raise SystemExit(f"no CSRF token on the login page ({page.status_code})")
        answer = await fetch(
            self.client,
            "POST",
            f"{base}/login",
            data={"username": self.username, "password": PASSWORD, "next": "/", "csrf_token": token.group(1)},
        )
        if answer.status_code != 303:
            raise SystemExit(f"login of {self.username} failed: {answer.status_code} {answer.text[:200]}")
        await self.refresh_csrf()

    async def refresh_csrf(self) -> str:
        assert self.client is not None
        base = self.balancer.bases[-1]
        page = await fetch(self.client, "GET", f"{base}/")
        if page.status_code != 200:
            page = await fetch(self.client, "GET", f"{base}/reports")
        token = CSRF_RE.search(page.text)
        if token is None:
            raise SystemExit(f"{self.username}: no CSRF token after login ({page.status_code})")
        self.csrf = token.group(1)
        return page.text

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()


@dataclass
class Ledger:
    """What the server acknowledged, for the correctness check afterwards."""

    claims: list[tuple[int, str]] = field(default_factory=list)  # (ticket id, agent username)
    replies: Counter = field(default_factory=Counter)  # agent username → acknowledged replies
    webhooks: dict[str, str] = field(default_factory=dict)  # webhook id → order id (acknowledged)
    webhooks_sent: int = 0
    redeliveries: int = 0


class AgentSim(Person):
    """An agent at the desk: workbench, next ticket, workspace, reply — and the page's polls."""

    def __init__(self, *args: Any, ledger: Ledger, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ledger = ledger
        self.page = "workbench"
        self.queue_key = "mine"
        self.ticket_id: int | None = None

    async def workbench(self) -> None:
        self.page, self.ticket_id = "workbench", None
        response = await self.call("queue page  GET /", "GET", "/")
        if response is not None and response.status_code == 200:
            found = QUEUE_RE.search(response.text)
            if found:
                self.queue_key = found.group(1)
        # What the page loads by itself.
        await asyncio.gather(
            self.call("my figures  GET /reports/me/kpis", "GET", "/reports/me/kpis", headers=self.htmx()),
            self.call(
                "my targets  GET /reports/me/targets", "GET", "/reports/me/targets", headers=self.htmx()
            ),
            self.call("heartbeat  POST /me/seen", "POST", "/me/seen", headers=self.htmx()),
        )

    async def claim(self, op: str) -> int | None:
        """ "Next ticket": the workbench's button posts with htmx (an HX-Redirect answer), the
        workspace's is a plain form (a 303 to the ticket, or back to the workbench)."""
        if self.page == "ticket":
            data = {"queue": "", "csrf_token": self.csrf}
            response = await self.call(op, "POST", "/tickets/next", data=data)
            target = response.headers.get("Location", "") if response is not None else ""
        else:
            response = await self.call(op, "POST", "/tickets/next", data={"queue": ""}, headers=self.htmx())
            target = response.headers.get("HX-Redirect", "") if response is not None else ""
        if not target.startswith("/tickets/"):
            return None
        ticket_id = int(target.rsplit("/", 1)[-1])
        self.ledger.claims.append((ticket_id, self.username))
        return ticket_id

    async def open_ticket(self, ticket_id: int) -> None:
        self.page, self.ticket_id = "ticket", ticket_id
        await self.call("workspace  GET /tickets/{id}", "GET", f"/tickets/{ticket_id}")
        await asyncio.gather(
            self.call(
                "presence  POST /tickets/{id}/presence",
                "POST",
                f"/tickets/{ticket_id}/presence",
                headers=self.htmx(),
            ),
            self.call(
                "suggestions  GET /phrasing/suggest",
                "GET",
                f"/phrasing/suggest?ticket_id={ticket_id}",
                headers=self.htmx(),
            ),
        )

    async def reply(self, ticket_id: int) -> None:
        data = {"mode": "reply", "body": self.rng.choice(REPLIES), "channel": "manual"}
        if self.rng.random() < 0.8:
            data["then"] = "solved"
        response = await self.call(
            "reply  POST /tickets/{id}/messages",
            "POST",
            f"/tickets/{ticket_id}/messages",
            data=data,
            headers=self.htmx(),
        )
        if response is not None and response.status_code == 200:
            self.ledger.replies[self.username] += 1

    async def work(self, phase: Phase) -> None:
        """The workbench, then ticket after ticket from the workspace ("next ticket" there), back
        to the workbench every fifth ticket or when nothing waits."""
        self.phase = phase
        poller = asyncio.create_task(self.polls(phase))
        try:
            if self.page == "workbench":
                await self.workbench()
                await self.think()
            handled = 0
            while not phase.over:
                ticket_id = await self.claim("next ticket  POST /tickets/next")
                if ticket_id is None:
                    await self.workbench()
                    await self.think()
                    continue
                await self.open_ticket(ticket_id)
                await self.think(2.0)  # reading the buyer's story, typing the answer
                if phase.over:
                    break
                await self.reply(ticket_id)
                handled += 1
                await self.think(0.25)
                if handled % 5 == 0:
                    await self.workbench()
                    await self.think()
        finally:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller

    async def polls(self, phase: Phase) -> None:
        """The page's own timers: queue counts and rows every 4 s on the workbench; presence every
        5 s and the thread every 10 s in the workspace."""
        offset = self.rng.uniform(0, 4)
        due: dict[str, float] = {}
        await asyncio.sleep(offset)
        while not phase.over:
            now = time.perf_counter()
            if self.page == "workbench":
                if now >= due.get("queue", 0):
                    due["queue"] = now + 4
                    await asyncio.gather(
                        self.call(
                            "queue counts poll  GET /queues/counts",
                            "GET",
                            f"/queues/counts?queue={self.queue_key}",
                            headers=self.htmx(),
                        ),
                        self.call(
                            "queue rows poll  GET /queues/{key}/rows",
                            "GET",
                            f"/queues/{self.queue_key}/rows",
                            headers=self.htmx(),
                        ),
                    )
            elif self.ticket_id is not None:
                ticket_id = self.ticket_id
                if now >= due.get("presence", 0):
                    due["presence"] = now + 5
                    await self.call(
                        "presence  POST /tickets/{id}/presence",
                        "POST",
                        f"/tickets/{ticket_id}/presence",
                        headers=self.htmx(),
                    )
                if now >= due.get("thread", 0):
                    due["thread"] = now + 10
                    await self.call(
                        "thread poll  GET /tickets/{id}/thread",
                        "GET",
                        f"/tickets/{ticket_id}/thread",
                        headers=self.htmx(),
                    )
            await asyncio.sleep(0.25)

    async def rush(self, phase: Phase) -> None:
        """Press "next ticket" back to back until the phase ends."""
        self.phase = phase
        self.page = "workbench"
        empty = 0
        while not phase.over:
            if await self.claim("next ticket (rush)  POST /tickets/next") is None:
                empty += 1
                await pause(0.5 if empty > 3 else 0.05, phase)


class SupervisorSim(Person):
    async def work(self, phase: Phase) -> None:
        self.phase = phase
        while not phase.over:
            await self.call("dashboard (30 days)  GET /reports", "GET", "/reports")
            await self.think()


# --- webhooks --------------------------------------------------------------------------------


class Webhooks:
    """Signed Shopify orders/create deliveries: a new order (and buyer) each, a few redelivered."""

    def __init__(self, balancer: Balancer, ledger: Ledger, *, first: int, redeliver_every: int = 50) -> None:
        sample = json.loads((FIXTURES / "shopify_rest_order_fixture_1.json").read_bytes())["order"]
        self.template = sample
        self.items = len(sample.get("line_items") or [])
        self.balancer = balancer
        self.ledger = ledger
        self.n = first
        self.redeliver_every = redeliver_every
        self.recent: list[tuple[str, bytes, dict[str, str]]] = []
        self.client: aiohttp.ClientSession | None = None

    def delivery(self) -> tuple[str, str, bytes, dict[str, str]]:
        self.n += 1
        order_id = FIRST_ORDER_ID + self.n
        order = copy.copy(self.template)
        # A paid order placed just now (the fixture's are from 2008, which would make every
        # follow-up rule overdue at once), not yet shipped.
        placed = datetime.now(UTC).isoformat(timespec="seconds")
        order.update(
            created_at=placed,
            updated_at=placed,
            processed_at=placed,
            financial_status="paid",
            fulfillment_status=None,
            fulfillments=[],
        )
        order["id"] = order_id
        order["name"] = f"#L{order_id}"
        order["order_number"] = order_id
        customer = dict(order.get("customer") or {})
        customer["id"] = 8_000_000_000 + self.n
        customer["email"] = f"load{self.n}@example.com"
        order["customer"] = customer
        body = json.dumps(order, ensure_ascii=False).encode()
        webhook_id = f"load-{uuid.uuid4().hex}"
        return webhook_id, str(order_id), body, self.headers(body, webhook_id)

    @staticmethod
    def headers(body: bytes, webhook_id: str) -> dict[str, str]:
        digest = hmac.new(SHOP_SECRET.encode(), body, hashlib.sha256).digest()
        return {
            "content-type": "application/json",
            "X-Shopify-Topic": "orders/create",
            "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
            "X-Shopify-Webhook-Id": webhook_id,
            "X-Shopify-Shop-Domain": "bench-load.myshopify.com",
        }

    async def send_one(self, phase: Phase, op: str) -> None:
        redelivery = self.recent and self.n % self.redeliver_every == 0
        if redelivery:
            webhook_id, body, headers = self.rng_pick()
            order_id = None
            op = op + " (redelivery)"
            self.ledger.redeliveries += 1
            self.n += 1
        else:
            webhook_id, order_id, body, headers = self.delivery()
            self.recent = (self.recent + [(webhook_id, body, headers)])[-200:]
        self.ledger.webhooks_sent += 1
        url = f"{self.balancer.next()}/webhooks/shopify/{STORE_SLUG}"
        if self.client is None:
            self.client = new_client(256)
        started = time.perf_counter()
        try:
            response = await fetch(self.client, "POST", url, data=body, headers=headers)
        except ERRORS as exc:
            phase.add(op, time.perf_counter() - started, False, type(exc).__name__)
            return
        ok = 200 <= response.status_code < 300
        phase.add(
            op, time.perf_counter() - started, ok, response.status_code, response.headers.get("Server-Timing")
        )
        if ok and order_id is not None:
            self.ledger.webhooks[webhook_id] = order_id

    def rng_pick(self) -> tuple[str, bytes, dict[str, str]]:
        return self.recent[(self.n * 7919) % len(self.recent)]

    async def stream(self, phase: Phase, rate: float) -> None:
        """Open loop: `rate` deliveries a second whatever the answers' latency (at most 256 in flight)."""
        if rate <= 0:
            return
        interval = 1.0 / rate
        tick = time.perf_counter()
        in_flight: set[asyncio.Task] = set()
        while not phase.over:
            tick += interval
            delay = tick - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if len(in_flight) >= 256:
                phase.add("webhook  POST /webhooks/shopify (not sent: 256 in flight)", 0, False, "skipped")
                continue
            task = asyncio.create_task(self.send_one(phase, "webhook  POST /webhooks/shopify"))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        if in_flight:
            await asyncio.gather(*in_flight)

    async def flood(self, phase: Phase, concurrency: int) -> None:
        """Closed loop: `concurrency` senders, each sending its next delivery when answered."""

        async def sender() -> None:
            while not phase.over:
                await self.send_one(phase, "webhook flood  POST /webhooks/shopify")

        saved, self.redeliver_every = self.redeliver_every, 10**9
        try:
            await asyncio.gather(*(sender() for _ in range(concurrency)))
        finally:
            self.redeliver_every = saved


# --- processes ---------------------------------------------------------------------------------


class Proc:
    def __init__(self, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.popen = subprocess.Popen(args, env=env, stdout=self._log, stderr=self._log, cwd=ROOT)
        self.ps = psutil.Process(self.popen.pid)
        self.peak_rss = 0
        self.peak_anon_kb = 0
        self.hwm_kb = 0

    def sample(self) -> None:
        with contextlib.suppress(psutil.Error):
            self.peak_rss = max(self.peak_rss, self.ps.memory_info().rss)
        with contextlib.suppress(OSError, ValueError):
            for line in Path(f"/proc/{self.popen.pid}/status").read_text().splitlines():
                if line.startswith("RssAnon:"):
                    self.peak_anon_kb = max(self.peak_anon_kb, int(line.split()[1]))

    def read_hwm(self) -> None:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.popen.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    self.hwm_kb = int(line.split()[1])

    def stop(self) -> None:
        self.read_hwm()
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)
        self._log.close()


def wait_ready(url: str, proc: Proc, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise SystemExit(f"{url}: the process exited; see {proc.log_path}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {timeout:.0f} s; see {proc.log_path}")


def server_env(database_url: str) -> dict[str, str]:
    return os.environ | {
        "HUITOU_DATABASE_URL": database_url,
        "HUITOU_SECRET_KEY": SECRET_KEY,
        "HUITOU_ENVIRONMENT": "production",
        "HUITOU_LOG_LEVEL": "WARNING",
        "HUITOU_SERVER_TIMING": "true",
        "HUITOU_BASE_URL": "http://127.0.0.1:8000",
    }


def huitou(database_url: str, *args: str, quiet: bool = False) -> None:
    output = subprocess.DEVNULL if quiet else None
    subprocess.run([HUITOU, *args], env=server_env(database_url), check=True, cwd=ROOT, stdout=output)


def catch_up(url: str, passes: int = 40) -> None:
    """`huitou dispatch --once` until its jobs find (almost) nothing due, then the metrics rollup:
    the state a deployment's worker keeps, so the load does not start with a backlog."""
    for _ in range(passes):
        done = subprocess.run(
            [HUITOU, "dispatch", "--once"],
            env=server_env(url),
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        counts = [int(n) for n in re.findall(r"^(?!app\.metrics)\S+: (-?\d+)$", done, re.M)]
        if sum(max(n, 0) for n in counts) < 10:
            break
    huitou(url, "metrics-rollup", quiet=True)


# --- datasets ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Size:
    name: str
    customers: int
    orders: int
    tickets: int
    open_tickets: int
    messages: int
    reused: str = ""

    @property
    def key(self) -> str:
        return f"{self.customers}c-{self.orders}o-{self.tickets}t-{self.open_tickets}w-{self.messages}m"

    def describe(self) -> str:
        if self.reused:
            return f"an existing dataset ({self.reused}; its row counts are in each engine's section)"
        return (
            f"{self.name}: {self.orders:,} orders, {self.customers:,} buyers, {self.tickets:,} tickets "
            f"({self.open_tickets:,} open), {self.messages:,} messages"
        )


def seed_args(size: Size) -> list[str]:
    args = ["seed-demo", "--customers", str(size.customers), "--orders", str(size.orders)]
    usage = subprocess.run(
        [HUITOU, "seed-demo", "--help"],
        capture_output=True,
        text=True,
        env=server_env("sqlite://"),
        check=False,
    ).stdout
    if "--open-tickets" in usage:
        args += [
            "--tickets", str(size.tickets),
            "--open-tickets", str(size.open_tickets),
            "--messages", str(size.messages),
        ]  # fmt: skip
    else:
        say("seed-demo has no --tickets/--open-tickets/--messages here: only its own ~100 tickets")
    return args


def build_sqlite(size: Size, workdir: Path, rebuild: bool) -> Path:
    path = workdir / f"dataset-{size.key}.db"
    if path.exists() and not rebuild:
        say(f"SQLite dataset reused: {path}")
        return path
    partial = path.with_suffix(".partial.db")
    for leftover in workdir.glob(partial.name + "*"):
        leftover.unlink()
    url = f"sqlite:///{partial}"
    say(f"building the SQLite dataset ({size.describe()}) …")
    started = time.perf_counter()
    huitou(url, "migrate", quiet=True)
    huitou(url, *seed_args(size))
    # Closed before the rename (sqlite3's `with` only commits): no connection may still know the
    # file, its -wal and -shm by the old name.
    with contextlib.closing(sqlite3.connect(partial)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    partial.rename(path)
    say(f"SQLite dataset built in {time.perf_counter() - started:.0f} s: {path}")
    return path


def copy_sqlite(source: Path, target: Path) -> str:
    """A private copy the load may change (the online backup API: consistent even under WAL)."""
    for leftover in target.parent.glob(target.name + "*"):
        leftover.unlink()
    started = time.perf_counter()
    wal = Path(str(source) + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        with (
            contextlib.closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src,
            contextlib.closing(sqlite3.connect(target)) as dst,
        ):
            src.backup(dst)
    else:
        shutil.copyfile(source, target)
    say(f"copied {source} → {target} in {time.perf_counter() - started:.0f} s")
    return f"sqlite:///{target}"


class PgAdmin:
    def __init__(self, admin_url: str) -> None:
        self.url = admin_url
        self.engine = sa.create_engine(sa_url(admin_url), isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)

    def available(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            return True
        except sa.exc.OperationalError:
            return False

    def exists(self, name: str) -> bool:
        with self.engine.connect() as conn:
            return bool(
                conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
            )

    def execute(self, sql: str) -> None:
        with self.engine.connect() as conn:
            conn.exec_driver_sql(sql)

    def url_of(self, name: str) -> str:
        return sa.make_url(self.url).set(database=name).render_as_string(hide_password=False)


def build_pg(size: Size, admin: PgAdmin, rebuild: bool) -> str:
    name = f"huitou_bench_{hashlib.sha1(size.key.encode()).hexdigest()[:10]}"
    if admin.exists(name) and not rebuild:
        say(f"PostgreSQL dataset reused: database {name}")
        return name
    partial = name + "_partial"
    admin.execute(f'DROP DATABASE IF EXISTS "{partial}" WITH (FORCE)')
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.execute(f'CREATE DATABASE "{partial}"')
    say(f"building the PostgreSQL dataset ({size.describe()}) …")
    started = time.perf_counter()
    url = admin.url_of(partial)
    huitou(url, "migrate", quiet=True)
    huitou(url, *seed_args(size))
    # Caught up and analysed once here rather than in every run's copy: a run of stop 19 spent ~7
    # minutes catching up a copy of a template built without this; stop 20's, 35 s.
    catch_up(url)
    engine = sa.create_engine(sa_url(url), isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with engine.connect() as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()
    admin.execute(f'ALTER DATABASE "{partial}" RENAME TO "{name}"')
    say(f"PostgreSQL dataset built in {time.perf_counter() - started:.0f} s: database {name}")
    return name


def pg_copy(admin: PgAdmin, template: str) -> tuple[str, str]:
    """CREATE DATABASE … TEMPLATE: a private copy the load may change (the template is untouched)."""
    name = f"huitou_loadrun_{uuid.uuid4().hex[:8]}"
    started = time.perf_counter()
    # The template must have no other connections while it is copied.
    try:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    except sa.exc.OperationalError as exc:
        raise SystemExit(
            f"could not copy database {template}: {exc.orig}. A template may have no other "
            "connections: stop what is connected to it (psql, a server, a seeding run) and try again."
        ) from exc
    say(f"copied database {template} → {name} in {time.perf_counter() - started:.0f} s")
    return admin.url_of(name), name


def dataset_arguments(parser: argparse.ArgumentParser) -> None:
    """--sqlite PATH or --pg DATABASE (and --pg-admin): the existing dataset a script copies."""
    parser.add_argument("--sqlite", type=Path, help="an SQLite dataset (copied)")
    parser.add_argument("--pg", help="a PostgreSQL dataset database (copied as a template)")
    parser.add_argument("--pg-admin", default="postgresql://postgres@127.0.0.1:5432/test")


def parse_dataset_arguments(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    args = parser.parse_args(argv)
    if bool(args.sqlite) == bool(args.pg):
        parser.error("give one of --sqlite PATH or --pg DATABASE")
    return args


@contextlib.contextmanager
def dataset_copy(sqlite: Path | None, pg: str | None, pg_admin: str, name: str) -> Iterator[str]:
    """A private copy of an existing dataset (an SQLite file, or a PostgreSQL database used as a
    template) for a measurement that may change it; its URL; removed afterwards."""
    if sqlite:
        target = Path("/tmp") / f"huitou-{name}-{os.getpid()}.db"
        try:
            yield copy_sqlite(sqlite, target)
        finally:
            for leftover in target.parent.glob(target.name + "*"):
                leftover.unlink()
        return
    admin = PgAdmin(pg_admin)
    url, dropped = pg_copy(admin, pg)
    try:
        yield url
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{dropped}" WITH (FORCE)')


# --- preparing a run database ---------------------------------------------------------------------


@dataclass
class Prepared:
    agents: list[str]
    supervisors: list[str]
    agent_ids: dict[str, int]
    store_id: int
    waiting: int
    counts: dict[str, int]
    team_of: dict[str, str | None]


def table_counts(engine: sa.Engine) -> dict[str, int]:
    out = {}
    with engine.connect() as conn:
        for table in ("orders", "customers", "tickets", "ticket_messages", "webhook_inbox"):
            out[table] = int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())  # noqa: S608
        out["open tickets"] = int(
            conn.execute(sa.text("SELECT count(*) FROM tickets WHERE status = 'open'")).scalar_one()
        )
    return out


def schema_gaps(url: str) -> list[str]:
    """Tables and columns the code has and the database lacks: a dataset built before a schema
    change (the migrations rebuild one revision in place while the code is young)."""
    from sqlmodel import SQLModel

    import app.models  # noqa: F401 - every table in the metadata

    engine = sa.create_engine(sa_url(url), poolclass=sa.NullPool)
    inspector = sa.inspect(engine)
    have = set(inspector.get_table_names())
    gaps = []
    for name, table in SQLModel.metadata.tables.items():
        if name not in have:
            gaps.append(name)
            continue
        columns = {c["name"] for c in inspector.get_columns(name)}
        gaps += [f"{name}.{c.name}" for c in table.columns if c.name not in columns]
    engine.dispose()
    return gaps


def prepare(url: str, n_agents: int, n_supervisors: int) -> Prepared:
    """Accounts for the simulated people (agents spread over the teams that have waiting work, in
    proportion to it; away, so auto-assignment leaves them to "next ticket") and the Shopify store
    the webhooks are signed for."""
    from sqlmodel import Session

    from app.accounts import service as accounts
    from app.accounts.models import Agent, Team
    from app.accounts.security import hash_password
    from app.integrations import service as stores

    now = datetime.now(UTC)
    engine = sa.create_engine(sa_url(url), poolclass=sa.NullPool)
    with Session(engine) as session:
        rows = session.execute(
            sa.text(
                "SELECT team_id, count(*) FROM tickets WHERE status = 'open' AND assignee_id IS NULL "
                "GROUP BY team_id"
            )
        ).all()
        waiting = sum(int(n) for _, n in rows)
        names = dict(session.execute(sa.select(Team.id, Team.name)).all())
        weights = {names[team_id]: int(n) for team_id, n in rows if team_id in names}
        plan: list[str | None] = []
        total = sum(weights.values())
        for team, n in sorted(weights.items(), key=lambda kv: -kv[1]):
            plan += [team] * max(1, round(n_agents * n / total))
        plan = (plan or [None])[:n_agents]
        while len(plan) < n_agents:
            plan.append(plan[len(plan) % max(1, len(weights))] if weights else None)
        agents, supervisors, team_of = [], [], {}
        # One real Argon2 hash shared by every simulated account (hashing 52 takes most of a minute).
        hashed = hash_password(PASSWORD)
        patched = mock.patch.object(accounts, "hash_password", lambda _password: hashed)
        patched.start()
        for i in range(n_agents):
            username = f"load{i:02d}"
            accounts.create_agent(
                session,
                username=username,
                password=PASSWORD,
                role="agent",
                team=plan[i],
                display_name=f"压测客服{i:02d}",
                now=now,
            )
            agents.append(username)
            team_of[username] = plan[i]
        for i in range(n_supervisors):
            username = f"loadsup{i}"
            accounts.create_agent(
                session,
                username=username,
                password=PASSWORD,
                role="supervisor",
                display_name=f"压测主管{i}",
                now=now,
            )
            supervisors.append(username)
        patched.stop()
        session.execute(sa.update(Agent).where(Agent.username.in_(agents)).values(is_away=True))
        store, _ = stores.create_store_with_secret(
            session, slug=STORE_SLUG, platform="shopify", secret=SHOP_SECRET, name="压测店铺", now=now
        )
        session.commit()
        ids = dict(
            session.execute(sa.select(Agent.username, Agent.id).where(Agent.username.in_(agents))).all()
        )
        store_id = store.id
    counts = table_counts(engine)
    engine.dispose()
    return Prepared(agents, supervisors, ids, store_id, waiting, counts, team_of)


# --- the correctness check -------------------------------------------------------------------------


def drain_inbox(engine: sa.Engine, store_id: int, stall: float) -> tuple[float, int]:
    """Wait until no delivery of the bench store waits to be processed, for as long as the count
    keeps falling (a flood leaves minutes of processing); give up once it has not fallen for
    `stall` seconds. Returns (seconds waited, still waiting)."""
    started = time.perf_counter()
    query = sa.text(
        "SELECT count(*) FROM webhook_inbox WHERE store_id = :s AND status IN ('received', 'processing')"
    )
    fewest, progressed = None, started
    while True:
        with engine.connect() as conn:
            left = int(conn.execute(query, {"s": store_id}).scalar_one())
        if left == 0:
            break
        if fewest is None or left < fewest:
            fewest, progressed = left, time.perf_counter()
        elif time.perf_counter() - progressed >= stall:
            break
        time.sleep(0.5)
    return time.perf_counter() - started, left


def check(
    engine: sa.Engine, prepared: Prepared, ledger: Ledger, items_per_order: int
) -> list[tuple[str, bool, str]]:
    results: list[tuple[str, bool, str]] = []
    claimed = [ticket_id for ticket_id, _ in ledger.claims]
    twice = len(claimed) - len(set(claimed))
    results.append(
        (
            "no ticket claimed twice",
            twice == 0,
            f"{len(claimed):,} claims, {len(set(claimed)):,} tickets, {twice} twice",
        )
    )
    owner = {ticket_id: prepared.agent_ids[username] for ticket_id, username in ledger.claims}
    bench_ids = list(prepared.agent_ids.values())
    with engine.connect() as conn:
        held = dict(
            conn.execute(
                sa.text("SELECT id, assignee_id FROM tickets WHERE assignee_id IN :ids").bindparams(
                    sa.bindparam("ids", expanding=True)
                ),
                {"ids": bench_ids},
            ).all()
        )
        wrong = sum(1 for ticket_id, agent_id in owner.items() if held.get(ticket_id) != agent_id)
        results.append(
            (
                "every claimed ticket held by its claimer",
                wrong == 0,
                f"{len(owner) - wrong:,} of {len(owner):,}",
            )
        )
        results.append(
            (
                "tickets held by the simulated agents = claims",
                len(held) == len(owner),
                f"{len(held):,} held, {len(owner):,} claimed",
            )
        )
        replies = int(
            conn.execute(
                sa.text(
                    "SELECT count(*) FROM ticket_messages WHERE direction = 'outbound' AND author_id IN :ids"
                ).bindparams(sa.bindparam("ids", expanding=True)),
                {"ids": bench_ids},
            ).scalar_one()
        )
        acked = sum(ledger.replies.values())
        results.append(
            (
                "replies stored = replies acknowledged",
                replies == acked,
                f"{replies:,} stored, {acked:,} acknowledged",
            )
        )

        inbox = conn.execute(
            sa.text("SELECT dedupe_key, status FROM webhook_inbox WHERE store_id = :s"),
            {"s": prepared.store_id},
        ).all()
        by_key = Counter(key for key, _ in inbox)
        status = {key: st for key, st in inbox}
        missing = [k for k in ledger.webhooks if k not in by_key]
        doubled = [k for k in ledger.webhooks if by_key.get(k, 0) > 1]
        unprocessed = [k for k in ledger.webhooks if k in status and status[k] != "processed"]
        results.append(
            (
                "every acknowledged webhook stored once and processed",
                not missing and not doubled and not unprocessed,
                f"{len(ledger.webhooks):,} acknowledged; {len(missing)} missing, "
                f"{len(doubled)} stored twice, {len(unprocessed)} not processed "
                f"{dict(Counter(status[k] for k in unprocessed))}",
            )
        )
        orders = conn.execute(
            sa.text(
                "SELECT o.external_id, "
                " (SELECT count(*) FROM order_items i WHERE i.order_id = o.id), "
                " (SELECT count(*) FROM order_timeline t WHERE t.order_id = o.id AND t.from_stage IS NULL) "
                "FROM orders o WHERE o.store_id = :s"
            ),
            {"s": prepared.store_id},
        ).all()
        per_order = defaultdict(list)
        for external_id, items, created in orders:
            per_order[external_id].append((int(items), int(created)))
        expected = set(ledger.webhooks.values())
        absent = expected - set(per_order)
        bad = {k: v for k, v in per_order.items() if k in expected and v != [(items_per_order, 1)]}
        results.append(
            (
                "every acknowledged order created exactly once",
                not absent and not bad,
                f"{len(expected):,} orders expected, {len(absent)} absent, "
                f"{len(bad)} not created exactly once "
                f"(each with {items_per_order} items and one creation entry)",
            )
        )
    return results


# --- baselines ----------------------------------------------------------------------------------


def bare_json_app():
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/json")
    async def small() -> dict[str, Any]:
        return {"status": "ok", "version": "bare"}

    return app


def run_bare(kind: str, port: int, db: str) -> None:
    import uvicorn

    if kind == "json":
        app = bare_json_app()
    else:
        from webhook_ingest import bare_app

        app = bare_app(db)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


async def closed_loop(phase: Phase, op: str, concurrency: int, request) -> None:
    async with new_client(concurrency) as client:

        async def worker() -> None:
            while not phase.over:
                started = time.perf_counter()
                try:
                    response = await request(client)
                    phase.add(
                        op, time.perf_counter() - started, response.status_code < 300, response.status_code
                    )
                except ERRORS as exc:
                    phase.add(op, time.perf_counter() - started, False, type(exc).__name__)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    phase.ended = time.perf_counter()


def baselines(args, workdir: Path) -> dict[str, dict[str, Any]]:
    out = {}
    ledger = Ledger()
    for kind in ("json", "insert"):
        port = free_port()
        db = workdir / "bare-insert.db"
        for leftover in workdir.glob("bare-insert.db*"):
            leftover.unlink()
        proc = Proc(
            [sys.executable, __file__, "--bare", kind, str(port), str(db)],
            os.environ.copy(),
            workdir / f"bare-{kind}.log",
        )
        try:
            wait_ready(f"http://127.0.0.1:{port}/docs", proc)
            base = f"http://127.0.0.1:{port}"
            if kind == "json":
                name = "bare FastAPI JSON  GET /json"

                async def request(client, base=base):
                    return await fetch(client, "GET", f"{base}/json")

            else:
                name = "bare FastAPI + sqlite3 insert  POST"
                hooks = Webhooks(Balancer([base]), ledger, first=50_000_000)

                async def request(client, base=base, hooks=hooks):
                    _, _, body, headers = hooks.delivery()
                    return await fetch(client, "POST", f"{base}/bare", data=body, headers=headers)

            run_async(closed_loop(Phase("warm-up", 3, record=False), name, args.flood_concurrency, request))
            phase = Phase(name, args.flood_seconds)
            run_async(closed_loop(phase, name, args.flood_concurrency, request))
            out[kind] = summary(phase)[0] | {"peak_mb": proc.peak_rss / 2**20}
        finally:
            proc.sample()
            proc.stop()
        say(f"baseline {name}: {out[kind]['rps']:,.0f} req/s, p95 {out[kind]['p95']:.1f} ms")
    return out


def summary(phase: Phase) -> list[dict[str, Any]]:
    rows = []
    for name, op in phase.ops.items():
        rows.append(
            {
                "op": name,
                "phase": phase.name,
                "count": len(op.latencies),
                "rps": len(op.latencies) / phase.elapsed if phase.elapsed else 0.0,
                "p50": op.pct(0.50),
                "p95": op.pct(0.95),
                "p99": op.pct(0.99),
                "max": max(op.latencies) * 1000 if op.latencies else float("nan"),
                "errors": op.errors,
                "codes": {str(k): v for k, v in op.codes.most_common()},
                "server": {
                    part: {"p50": percentile(values, 0.5), "p95": percentile(values, 0.95)}
                    for part, values in op.server.items()
                },
            }
        )
    return rows


# --- one engine --------------------------------------------------------------------------------


@dataclass
class EngineResult:
    engine: str
    servers: int
    dataset: str
    counts: dict[str, int]
    rows: list[dict[str, Any]]
    memory: list[dict[str, Any]]
    checks: list[tuple[str, bool, str]]
    notes: list[str]
    claims_per_s: float
    flood_rps: float
    cpu: dict[str, float]


async def drive(
    args, bases: list[str], prepared: Prepared, procs: list[Proc], ledger: Ledger, workers: list[Proc]
) -> tuple[list[Phase], dict[str, float]]:
    balancer_seed = random.Random(args.seed)
    agents = [
        AgentSim(name, Balancer(bases), random.Random(balancer_seed.random()), args.think, ledger=ledger)
        for name in prepared.agents
    ]
    supervisors = [
        SupervisorSim(name, Balancer(bases), random.Random(balancer_seed.random()), args.dashboard_think)
        for name in prepared.supervisors
    ]
    for i, agent in enumerate(agents):
        agent.balancer.n = i
    webhooks = Webhooks(Balancer(bases), ledger, first=0)
    say(f"logging in {len(agents)} agents and {len(supervisors)} supervisors …")
    gate = asyncio.Semaphore(4)  # setup, not measured: a few at a time

    async def login(person: Person) -> None:
        async with gate:
            for attempt in range(3):
                try:
                    await person.login()
                    return
                except SystemExit as exc:  # a login waits for SQLite's write lock while hashing
                    await person.close()
                    if attempt == 2:
                        raise
                    say(f"{person.username}: {str(exc)[:60]}; trying again")

    await asyncio.gather(*(login(p) for p in agents + supervisors))

    sampling = True

    async def sample_memory() -> None:
        while sampling:
            for proc in procs:
                proc.sample()
            await asyncio.sleep(0.5)

    sampler = asyncio.create_task(sample_memory())
    me = psutil.Process()
    cpu: dict[str, float] = {}

    def cpu_of(group: list[Proc]) -> float:
        total = 0.0
        for proc in group:
            with contextlib.suppress(psutil.Error):
                times = proc.ps.cpu_times()
                total += times.user + times.system
        return total

    def cpu_now() -> tuple[float, float, float, float, float]:
        driver = me.cpu_times()
        # Every process of the machine (PostgreSQL's backends included): is it saturated?
        machine = psutil.cpu_times()
        # (Linux counts guest time inside user time as well.)
        iowait = getattr(machine, "iowait", 0.0)
        waiting = machine.idle + iowait + sum(getattr(machine, k, 0.0) for k in ("guest", "guest_nice"))
        busy = sum(machine) - waiting
        return driver.user + driver.system, cpu_of(procs), cpu_of(workers), busy, iowait

    async def measure_cpu(phase: Phase) -> None:
        """CPU over the phase, as % of one core: the driver, the servers, the dispatch workers, the
        whole machine, the rest of it (the database server's processes, mostly), and the time the
        cores sat idle with a disk read or write outstanding."""
        await asyncio.sleep(max(0.0, phase.started - time.perf_counter()))
        before = cpu_now()
        await asyncio.sleep(max(0.0, phase.started + phase.seconds - time.perf_counter()))
        used = [100 * (a - b) / phase.seconds for a, b in zip(cpu_now(), before, strict=True)]
        driver, servers, dispatch, machine, iowait = used
        cpu[f"{phase.name}: driver"] = driver
        cpu[f"{phase.name}: servers"] = servers
        cpu[f"{phase.name}: dispatch workers"] = dispatch
        cpu[f"{phase.name}: whole machine"] = machine
        cpu[f"{phase.name}: the rest (database, system)"] = max(0.0, machine - driver - servers - dispatch)
        cpu[f"{phase.name}: idle waiting for the disk (iowait)"] = iowait

    async def run(span: Span, people_work, webhook_work) -> None:
        measured = [p for p in span.phases if p.record]
        await asyncio.gather(*people_work(span), webhook_work(span), *(measure_cpu(p) for p in measured))

    async def staggered(person: Person, span: Span, work) -> None:
        # People do not all arrive in the same second: each starts within the warm-up.
        await asyncio.sleep(person.rng.uniform(0, min(args.warmup, 10)))
        await work(span)

    def mixed_people(span: Span):
        return [staggered(a, span, a.work) for a in agents] + [
            staggered(s, span, s.work) for s in supervisors
        ]

    def rush_people(span: Span):
        return [a.rush(span) for a in agents] + [s.work(span) for s in supervisors]

    phases = []
    warmup, mixed = Phase("warm-up", args.warmup, record=False), Phase("mixed", args.duration)
    say(f"warm-up {args.warmup:.0f} s, then mixed load {args.duration:.0f} s …")
    await run(Span([warmup, mixed]), mixed_people, lambda sp: webhooks.stream(sp, args.webhook_rate))
    phases.append(mixed)
    say(f"claim rush {args.rush_seconds:.0f} s …")
    rush = Phase("claim rush", args.rush_seconds)
    await run(Span([rush]), rush_people, lambda sp: webhooks.stream(sp, args.webhook_rate))
    phases.append(rush)
    say(f"webhook flood {args.flood_seconds:.0f} s ({args.flood_concurrency} senders) …")
    flood = Phase("webhook flood", args.flood_seconds)
    await run(Span([flood]), lambda sp: [], lambda sp: webhooks.flood(sp, args.flood_concurrency))
    phases.append(flood)
    sampling = False
    await sampler
    for person in agents + supervisors:
        await person.close()
    if webhooks.client is not None:
        await webhooks.client.close()
    cpu["items_per_order"] = webhooks.items
    return phases, cpu


def run_engine(engine_name: str, url: str, args, workdir: Path, dataset: str) -> EngineResult:
    servers = 1 if engine_name == "SQLite" else args.pg_servers
    dispatchers = args.sqlite_dispatchers if engine_name == "SQLite" else args.pg_dispatchers
    say(f"{engine_name}: migrating the run database and adding the simulated people …")
    huitou(url, "migrate", quiet=True)
    gaps = schema_gaps(url)
    if gaps:
        raise SystemExit(
            f"{dataset} lacks {', '.join(gaps[:8])}{' …' if len(gaps) > 8 else ''}: it was built with an "
            "older schema than this code. Build it again (--rebuild, or seed-demo into a new database)."
        )
    # A live deployment's dispatch worker keeps the background work current (the metrics rollup,
    # SLA clocks, due follow-ups); a fresh copy of a dataset catches up first, outside the timing.
    say(f"{engine_name}: bringing the metrics rollup and the dispatch jobs up to date …")
    started = time.perf_counter()
    catch_up(url)
    say(f"{engine_name}: caught up in {time.perf_counter() - started:.0f} s")
    prepared = prepare(url, args.agents, args.supervisors)
    say(f"{engine_name}: {prepared.waiting:,} tickets waiting; dataset {prepared.counts}")
    notes = []
    if prepared.waiting < args.agents * 20:
        notes.append(f"only {prepared.waiting:,} tickets waiting: claims may run dry")
    env = server_env(url)
    procs: list[Proc] = []
    bases = []
    workers: list[Proc] = []
    ledger = Ledger()
    try:
        for i in range(servers):
            port = free_port()
            proc = Proc(
                [HUITOU, "serve", "--port", str(port)], env, workdir / f"{engine_name.lower()}-serve-{i}.log"
            )
            procs.append(proc)
            bases.append(f"http://127.0.0.1:{port}")
        for proc, base in zip(procs, bases, strict=True):
            wait_ready(f"{base}/healthz", proc)
        for i in range(dispatchers):
            workers.append(
                Proc([HUITOU, "dispatch"], env, workdir / f"{engine_name.lower()}-dispatch-{i}.log")
            )
        say(
            f"{engine_name}: {servers} server process(es) on {', '.join(bases)}; "
            f"{dispatchers} dispatch worker(s)"
        )
        phases, cpu = run_async(drive(args, bases, prepared, procs, ledger, workers))
        items_per_order = int(cpu.pop("items_per_order"))
        engine = sa.create_engine(sa_url(url), poolclass=sa.NullPool)
        waited, left = drain_inbox(engine, prepared.store_id, args.drain_timeout)
        say(f"{engine_name}: inbox drained in {waited:.1f} s ({left} left)")
        notes.append(f"after the load, the inbox was drained in {waited:.1f} s ({left} deliveries left)")
        for proc in procs + workers:
            proc.sample()
            proc.read_hwm()
        checks = check(engine, prepared, ledger, items_per_order)
        engine.dispose()
    finally:
        for proc in procs + workers:
            proc.stop()
    rows = [row for phase in phases for row in summary(phase)]
    rush = next(p for p in phases if p.name == "claim rush")
    rush_claims = rush.ops["next ticket (rush)  POST /tickets/next"].codes[204]
    flood = next(p for p in phases if p.name == "webhook flood")
    flood_op = flood.ops.get("webhook flood  POST /webhooks/shopify", Op())

    def mem(name: str, p: Proc) -> dict[str, Any]:
        return {
            "process": name,
            "peak_rss_mb": p.peak_rss / 2**20,
            "peak_anon_mb": p.peak_anon_kb / 1024,
            "hwm_mb": p.hwm_kb / 1024,
        }

    memory = [mem(f"serve #{i}", p) for i, p in enumerate(procs)]
    memory += [mem(f"dispatch #{i}", p) for i, p in enumerate(workers)]
    return EngineResult(
        engine=engine_name,
        servers=servers,
        dataset=dataset,
        counts=prepared.counts,
        rows=rows,
        memory=memory,
        checks=checks,
        notes=notes,
        claims_per_s=rush_claims / rush.elapsed,
        flood_rps=(len(flood_op.latencies) - flood_op.errors) / flood.elapsed,
        cpu=cpu,
    )


# --- the report -----------------------------------------------------------------------------------


def fmt_ms(value: float) -> str:
    return "—" if value != value else f"{value:.1f}"  # NaN


def table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| phase | operation | requests | req/s | p50 ms | p95 ms | p99 ms | max ms | errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['phase']} | {r['op']} | {r['count']:,} | {r['rps']:,.1f} | {fmt_ms(r['p50'])} | "
            f"{fmt_ms(r['p95'])} | {fmt_ms(r['p99'])} | {fmt_ms(r['max'])} | {r['errors']} |"
        )
    return lines


SERVER_PARTS = (
    ("total", "in the server"),
    ("queue", "queued for a session (webhooks: for an intake thread)"),
    ("lock", "waiting for the write lock"),
    ("commit", "committing"),
    ("store", "storing a webhook (write lock included)"),
)


def server_table(rows: list[dict[str, Any]]) -> list[str]:
    """Where the time went, by the servers' Server-Timing headers (p50 / p95 ms): what is left of
    a request's latency beyond "in the server" was spent before the app saw it or after it answered
    (connection, uvicorn, the event loop)."""
    lines = [
        "| phase | operation | " + " | ".join(f"{label} p50 / p95" for _, label in SERVER_PARTS) + " |",
        "|---|---|" + "---:|" * len(SERVER_PARTS),
    ]
    for r in rows:
        parts = r.get("server") or {}
        if not parts:
            continue
        cells = [
            f"{fmt_ms(parts[name]['p50'])} / {fmt_ms(parts[name]['p95'])}" if name in parts else "—"
            for name, _ in SERVER_PARTS
        ]
        lines.append(f"| {r['phase']} | {r['op']} | " + " | ".join(cells) + " |")
    return lines


def find(result: EngineResult, phase: str, prefix: str) -> dict[str, Any] | None:
    return next((r for r in result.rows if r["phase"] == phase and r["op"].startswith(prefix)), None)


def targets(
    results: list[EngineResult], base: dict[str, dict[str, Any]]
) -> list[tuple[str, str, bool | None]]:
    out: list[tuple[str, str, bool | None]] = []
    for res in results:
        tag = f"{res.engine} ×{res.servers}"
        for label, prefix, limit in (
            ("queue page with rows p95", "queue page", 50),
            ("queue rows poll p95", "queue rows poll", 50),
            ("ticket workspace p95", "workspace", 50),
            ("30-day dashboard p95", "dashboard", 500),
        ):
            row = find(res, "mixed", prefix)
            if row is None:
                continue
            binding = res.engine == "SQLite" or limit == 500
            out.append(
                (
                    f"{tag}: {label} < {limit} ms",
                    f"{row['p95']:.1f} ms",
                    (row["p95"] < limit) if binding else None,
                )
            )
        out.append(
            (
                f"{tag}: next-ticket claims ≥ 200/s (claim rush)",
                f"{res.claims_per_s:,.0f}/s",
                (res.claims_per_s >= 200) if res.engine == "PostgreSQL" else None,
            )
        )
        if "insert" in base:
            ratio = res.flood_rps / base["insert"]["rps"] if base["insert"]["rps"] else 0
            out.append(
                (
                    f"{tag}: webhook ingest ≥ ½ bare insert",
                    f"{res.flood_rps:,.0f}/s = {ratio:.2f} × {base['insert']['rps']:,.0f}/s",
                    ratio >= 0.5,
                )
            )
        serving = [m for m in res.memory if m["process"].startswith("serve")]
        anon = max(m["peak_anon_mb"] for m in serving)
        rss = max(m["peak_rss_mb"] for m in serving)
        out.append(
            (
                f"{tag}: server process peak memory < 200 MB (own memory; RSS with mapped DB pages)",
                f"{anon:.0f} MB (RSS {rss:.0f} MB)",
                anon < 200,
            )
        )
        doubles = next((c for c in res.checks if c[0] == "no ticket claimed twice"), None)
        all_ok = all(ok for _, ok, _ in res.checks)
        out.append((f"{tag}: correctness check after the load", "passed" if all_ok else "FAILED", all_ok))
        if doubles is not None and not doubles[1]:
            out.append((f"{tag}: double claims", doubles[2], False))
    return out


def machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = psutil.virtual_memory().total / 2**30
    pg = ""
    with contextlib.suppress(Exception):
        pg = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc", "SHOW server_version", "test"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout.strip()
    # The project's dependencies are ranges: a new machine's install may differ from the last one's.
    libraries = []
    for name in ("fastapi", "starlette", "anyio", "uvicorn", "sqlalchemy", "psycopg", "jinja2"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            libraries.append(f"{name} {importlib.metadata.version(name)}")
    return (
        f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GiB RAM; Python {sys.version.split()[0]}, "
        f"SQLite {sqlite3.sqlite_version}"
        + (f", PostgreSQL {pg}" if pg else "")
        + "; "
        + ", ".join(libraries)
    )


def report(
    args, size: Size, results: list[EngineResult], base: dict[str, dict[str, Any]], started: datetime
) -> str:
    lines = [
        f"# Huitou mixed-load benchmark — {size.name} dataset",
        "",
        f"- run: {started:%Y-%m-%d %H:%M} UTC, `scripts/bench/run.sh {' '.join(args.argv)}`",
        f"- machine: {machine()}",
        f"- dataset: {size.describe()}",
        f"- load: {args.agents} agents (think time {args.think:g} s mean), {args.supervisors} supervisors "
        f"(dashboard every ~{args.dashboard_think:g} s), {args.webhook_rate:g} signed webhooks/s; "
        f"mixed {args.duration:g} s, claim rush {args.rush_seconds:g} s, "
        f"webhook flood {args.flood_seconds:g} s × {args.flood_concurrency} senders",
        "",
        "## Targets",
        "",
        "| target | measured | |",
        "|---|---|---|",
    ]
    for label, measured, ok in targets(results, base):
        lines.append(f"| {label} | {measured} | {'—' if ok is None else ('pass' if ok else 'MISS')} |")
    lines += ["", "## Baselines (same machine, same client, same run)", ""]
    lines += table([base[k] | {"phase": "baseline"} for k in ("json", "insert") if k in base])
    for res in results:
        lines += [
            "",
            f"## {res.engine}: {res.servers} server process(es)",
            "",
            f"Run database: {res.dataset}; before the load: "
            + ", ".join(f"{k} {v:,}" for k, v in res.counts.items()),
            "",
        ]
        lines += table(res.rows)
        if any(r.get("server") for r in res.rows):
            lines += [
                "",
                "Where the time went, by the servers' own Server-Timing headers (p50 / p95 ms):",
                "",
            ]
            lines += server_table(res.rows)
        lines += [
            "",
            "Memory during the load, sampled every 0.5 s: own (anonymous) memory, and RSS, which also "
            "counts the database pages SQLite maps into the process (page cache the kernel can drop); "
            "VmHWM is the kernel's high-water mark over the process's life, logins included "
            "(Argon2id takes 64 MiB per password check).",
            "",
            "| process | own memory, peak (MB) | RSS, peak (MB) | VmHWM (MB) |",
            "|---|---:|---:|---:|",
        ]
        for m in res.memory:
            lines.append(
                f"| {m['process']} | {m['peak_anon_mb']:.0f} | {m['peak_rss_mb']:.0f} | {m['hwm_mb']:.0f} |"
            )
        lines += ["", "CPU (% of one core): " + ", ".join(f"{k} {v:.0f}%" for k, v in res.cpu.items())]
        lines += ["", "Correctness check after the load:", ""]
        for name, ok, detail in res.checks:
            lines.append(f"- {'✔' if ok else '✘'} {name}: {detail}")
        for note in res.notes:
            lines.append(f"- note: {note}")
    return "\n".join(lines) + "\n"


# --- main -----------------------------------------------------------------------------------------


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/bench/run.sh",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--size", choices=sorted(SIZES), default="small", help="dataset preset (default: small)"
    )
    for name in ("customers", "orders", "tickets", "open-tickets", "messages"):
        parser.add_argument(f"--{name}", type=int, help=f"override the preset's {name.replace('-', ' ')}")
    parser.add_argument("--duration", type=float, default=30, help="seconds of mixed load (default 30)")
    parser.add_argument("--engine", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument(
        "--reuse-sqlite", type=Path, metavar="PATH", help="use this SQLite dataset (copied, never changed)"
    )
    parser.add_argument(
        "--reuse-pg",
        metavar="DB_OR_URL",
        help="use this PostgreSQL database as a template (copied, never changed)",
    )
    parser.add_argument(
        "--rebuild", action="store_true", help="build the dataset again even if one of this size exists"
    )
    parser.add_argument(
        "--workdir", type=Path, default=Path("/tmp/huitou-bench"), help="datasets, logs, results"
    )
    parser.add_argument(
        "--out", type=Path, help="write the table here too (default: WORKDIR/results-<size>-<time>.md)"
    )
    parser.add_argument("--pg-admin", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--supervisors", type=int, default=2)
    parser.add_argument(
        "--think",
        type=float,
        default=10.0,
        help="an agent's mean pause on the workbench, s (twice that in a ticket before replying)",
    )
    parser.add_argument(
        "--dashboard-think", type=float, default=10.0, help="a supervisor's mean pause between reloads, s"
    )
    parser.add_argument(
        "--webhook-rate", type=float, default=20, help="signed webhooks per second during the mixed load"
    )
    parser.add_argument("--flood-concurrency", type=int, default=16)
    parser.add_argument("--pg-servers", type=int, default=4)
    parser.add_argument("--pg-dispatchers", type=int, default=2)
    parser.add_argument("--sqlite-dispatchers", type=int, default=1)
    parser.add_argument("--warmup", type=float, default=15, help="seconds of load before the measuring")
    parser.add_argument(
        "--drain-timeout",
        type=float,
        default=120,
        help="after the load, wait for the inbox to be processed until it has not shrunk for this long, s",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep-run", action="store_true", help="keep the run databases (to inspect them)")
    parser.add_argument("--bare", nargs=3, metavar=("KIND", "PORT", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.argv = argv
    args.rush_seconds = max(10.0, args.duration / 4)
    args.flood_seconds = max(10.0, args.duration / 4)
    return args


def main(argv: list[str]) -> int:
    args = parse(argv)
    if args.bare:
        run_bare(args.bare[0], int(args.bare[1]), args.bare[2])
        return 0
    preset = SIZES[args.size]
    size = Size(
        args.size
        if not any((args.customers, args.orders, args.tickets, args.open_tickets, args.messages))
        else "custom",
        args.customers or preset[0],
        args.orders or preset[1],
        args.tickets or preset[2],
        args.open_tickets or preset[3],
        args.messages or preset[4],
    )
    if args.reuse_sqlite or args.reuse_pg:
        size = Size("reused", 0, 0, 0, 0, 0, reused=str(args.reuse_sqlite or args.reuse_pg))
    args.workdir.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    say(f"Huitou mixed-load benchmark: {size.describe()}; work directory {args.workdir}")
    base = baselines(args, args.workdir)
    results: list[EngineResult] = []
    if args.engine in ("sqlite", "both"):
        source = args.reuse_sqlite or build_sqlite(size, args.workdir, args.rebuild)
        if not Path(source).exists():
            raise SystemExit(f"no SQLite database at {source}")
        run_db = args.workdir / f"run-sqlite-{os.getpid()}.db"
        url = copy_sqlite(Path(source), run_db)
        try:
            results.append(run_engine("SQLite", url, args, args.workdir, f"copy of {source}"))
        finally:
            if not args.keep_run:
                for leftover in args.workdir.glob(f"{run_db.name}*"):
                    leftover.unlink()
    if args.engine in ("postgres", "both"):
        admin = PgAdmin(args.pg_admin)
        if not admin.available():
            say(f"no PostgreSQL answers at {args.pg_admin}: PostgreSQL skipped")
        else:
            if args.reuse_pg:
                template = sa.make_url(args.reuse_pg).database if "://" in args.reuse_pg else args.reuse_pg
                if not admin.exists(template):
                    raise SystemExit(f"no PostgreSQL database {template}")
            else:
                template = build_pg(size, admin, args.rebuild)
            url, name = pg_copy(admin, template)
            try:
                results.append(
                    run_engine("PostgreSQL", url, args, args.workdir, f"copy of database {template}")
                )
            finally:
                if not args.keep_run:
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    text = report(args, size, results, base, started)
    out = args.out or args.workdir / f"results-{args.size}-{started:%Y%m%d-%H%M%S}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    out.with_suffix(".json").write_text(
        json.dumps(
            {
                "size": size.__dict__,
                "baselines": base,
                "results": [r.__dict__ for r in results],
                "targets": targets(results, base),
            },
            ensure_ascii=False,
            indent=1,
            default=str,
        )
    )
    print()
    print(text)
    say(f"written to {out} (and {out.with_suffix('.json')})")
    failed = [r for r in results if not all(ok for _, ok, _ in r.checks)]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
