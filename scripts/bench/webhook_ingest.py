"""Signed Shopify orders/create ingest rate: `huitou serve` (SQLite, PostgreSQL) beside a bare endpoint.

Usage: .venv/bin/python scripts/bench/webhook_ingest.py [--requests 3000] [--concurrency 32] [--seconds 30]

Each target is one server process on a free 127.0.0.1 port with a fresh database. The bare
baseline is a tiny FastAPI app (uvicorn, its own process) that parses the same JSON and inserts
one row with the sqlite3 module. The same client load (httpx async, N concurrent, bounded count
and time) hits each in turn; the table shows requests/s, latency percentiles, errors and the
ratio to the bare endpoint. The PostgreSQL leg runs when a server answers at
postgresql://postgres@127.0.0.1:5432/test (a scratch database is created and dropped).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

ROOT = Path(__file__).resolve().parents[2]
HUITOU = str(Path(sys.executable).with_name("huitou"))
SAMPLE = Path("/work/shared/fixtures/webhooks/shopify_order_sample_official_1.json")
SECRET = "bench-shopify-secret-0123456789"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


# --- the bare baseline (runs in its own process: `webhook_ingest.py --bare PORT DB`) ---------


def bare_app(db_path: str) -> FastAPI:
    local = threading.local()

    def connection() -> sqlite3.Connection:
        if not hasattr(local, "conn"):
            conn = sqlite3.connect(db_path, timeout=10, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            local.conn = conn
        return local.conn

    with sqlite3.connect(db_path) as setup:
        setup.execute("CREATE TABLE IF NOT EXISTS inbox (id INTEGER PRIMARY KEY, key TEXT, body BLOB)")

    app = FastAPI()

    @app.post("/bare")
    async def bare(request: Request) -> JSONResponse:
        body = await request.body()
        payload = json.loads(body)

        def insert() -> None:
            conn = connection()
            conn.execute("INSERT INTO inbox (key, body) VALUES (?, ?)", (str(payload["id"]), body))

        await run_in_threadpool(insert)
        return JSONResponse({"status": "received"})

    return app


def run_bare(port: int, db_path: str) -> None:
    import uvicorn

    uvicorn.run(bare_app(db_path), host="127.0.0.1", port=port, log_level="warning", access_log=False)


# --- harness ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited early ({url})")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"server did not start: {url}")


def bodies(count: int) -> list[bytes]:
    """The official sample with a distinct order id each, so every request is a new order."""
    sample = json.loads(SAMPLE.read_bytes())
    out = []
    for n in range(count):
        sample["id"] = 820982911946154508 + n
        sample["name"] = f"#B{n}"
        out.append(json.dumps(sample).encode())
    return out


async def load(url: str, payloads: list[bytes], concurrency: int, seconds: float, sign: bool) -> dict:
    latencies: list[float] = []
    errors = 0
    index = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:

        async def worker() -> None:
            nonlocal index, errors
            while index < len(payloads) and time.perf_counter() < deadline:
                body = payloads[index]
                index += 1
                headers = {"content-type": "application/json", "X-Shopify-Topic": "orders/create"}
                if sign:
                    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).digest()
                    headers["X-Shopify-Hmac-Sha256"] = base64.b64encode(digest).decode()
                    headers["X-Shopify-Webhook-Id"] = str(uuid.uuid4())
                started = time.perf_counter()
                try:
                    response = await client.post(url, content=body, headers=headers)
                    if response.status_code >= 300:
                        errors += 1
                except httpx.HTTPError:
                    errors += 1
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else 0.0

    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed if elapsed else 0.0,
        "p50": pct(0.50),
        "p95": pct(0.95),
        "p99": pct(0.99),
        "mean": statistics.fmean(latencies) * 1000 if latencies else 0.0,
        "errors": errors,
    }


def measure(name: str, url: str, process: subprocess.Popen, args, sign: bool) -> dict:
    try:
        asyncio.run(load(url, bodies(100), min(args.concurrency, 8), 10, sign))  # warm-up
        result = asyncio.run(load(url, bodies(args.requests), args.concurrency, args.seconds, sign))
    finally:
        process.terminate()
        process.wait(timeout=20)
    result["name"] = name
    return result


def huitou_target(name: str, database_url: str, args) -> dict:
    env = os.environ | {
        "HUITOU_DATABASE_URL": database_url,
        "HUITOU_SECRET_KEY": "bench-secret-key-that-is-long-enough-0123456789",
        "HUITOU_LOG_LEVEL": "WARNING",
    }
    subprocess.run([HUITOU, "migrate"], env=env, check=True, capture_output=True, cwd=ROOT)
    subprocess.run(
        [HUITOU, "store", "add", "--slug", "bench", "--platform", "shopify", "--secret", SECRET],
        env=env,
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    port = free_port()
    process = subprocess.Popen(
        [HUITOU, "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_ready(f"http://127.0.0.1:{port}/healthz", process)
    result = measure(name, f"http://127.0.0.1:{port}/webhooks/shopify/bench", process, args, sign=True)
    result["stored"] = count_inbox(database_url)
    return result


def count_inbox(database_url: str) -> int:
    import sqlalchemy as sa

    url = database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    with engine.connect() as conn:
        n = conn.execute(sa.text("SELECT count(*) FROM webhook_inbox")).scalar_one()
    engine.dispose()
    return int(n)


def postgres_database() -> tuple[str, str] | None:
    import sqlalchemy as sa

    admin = sa.create_engine(
        PG_ADMIN.replace("postgresql://", "postgresql+psycopg://", 1),
        isolation_level="AUTOCOMMIT",
        poolclass=sa.NullPool,
    )
    name = f"huitou_bench_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError:
        return None
    finally:
        admin.dispose()
    return f"postgresql://postgres@127.0.0.1:5432/{name}", name


def drop_postgres(name: str) -> None:
    import sqlalchemy as sa

    admin = sa.create_engine(
        PG_ADMIN.replace("postgresql://", "postgresql+psycopg://", 1),
        isolation_level="AUTOCOMMIT",
        poolclass=sa.NullPool,
    )
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--bare", nargs=2, metavar=("PORT", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        run_bare(int(args.bare[0]), args.bare[1])
        return

    tmp = Path(tempfile.mkdtemp(prefix="huitou-bench-"))
    results = []
    port = free_port()
    bare = subprocess.Popen([sys.executable, __file__, "--bare", str(port), str(tmp / "bare.db")])
    wait_ready(f"http://127.0.0.1:{port}/docs", bare)
    results.append(measure("bare FastAPI + sqlite3", f"http://127.0.0.1:{port}/bare", bare, args, sign=False))
    results.append(huitou_target("huitou serve, SQLite", f"sqlite:///{tmp / 'huitou.db'}", args))
    pg = None if args.no_postgres else postgres_database()
    if pg:
        try:
            results.append(huitou_target("huitou serve, PostgreSQL", pg[0], args))
        finally:
            drop_postgres(pg[1])
    else:
        print("(PostgreSQL leg skipped: no server at 127.0.0.1:5432)")

    base = results[0]["rps"]
    load_text = f"{args.concurrency} concurrent, ≤{args.requests} requests or {args.seconds:.0f} s"
    print(f"\nsigned Shopify orders/create, {load_text}")
    print(f"{'target':<28}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}{'ratio':>8}")
    for r in results:
        print(
            f"{r['name']:<28}{r['rps']:>9.0f}{r['p50']:>9.1f}{r['p95']:>9.1f}{r['p99']:>9.1f}"
            f"{r['errors']:>8}{r['rps'] / base:>8.2f}"
        )
    for r in results[1:]:
        print(f"{r['name']}: {r['stored']} deliveries stored in the inbox")


if __name__ == "__main__":
    main()
