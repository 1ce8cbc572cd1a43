"""A real `huitou serve` process on its own scratch database (SQLite or PostgreSQL, whichever
engine the suite runs on): real concurrency, real commits, the background processing."""

from __future__ import annotations

import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import sqlalchemy as sa

from tests.integrations.conftest import fixture_bytes, shopify_headers
from tests.live import HUITOU, running_server

SECRET = "live-test-shopify-secret-0123"


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    from tests.conftest import create_scratch_database, drop_scratch_database

    url = create_scratch_database("hooks")
    env = os.environ | {"HUITOU_DATABASE_URL": url, "COLUMNS": "200"}
    subprocess.run([HUITOU, "migrate"], env=env, check=True, capture_output=True, timeout=120)
    added = subprocess.run(
        [HUITOU, "store", "add", "--slug", "live-shop", "--platform", "shopify", "--secret", SECRET],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert added.returncode == 0, added.stderr
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1), poolclass=sa.NullPool)
    with running_server(env, tmp_path_factory.mktemp("hooks-log") / "server.log") as base:
        yield base, engine, env
    engine.dispose()
    drop_scratch_database(url)


def _scalar(engine, sql: str):
    with engine.connect() as conn:
        return conn.execute(sa.text(sql)).scalar_one()


def test_same_delivery_sent_20_times_concurrently_has_one_effect(live):
    base, engine, _ = live
    body = fixture_bytes("shopify_rest_order_fixture_1.json")
    headers = shopify_headers(SECRET, body, "orders/create", webhook_id="concurrent-1")

    def send(_):
        return httpx.post(f"{base}/webhooks/shopify/live-shop", content=body, headers=headers, timeout=30)

    with ThreadPoolExecutor(max_workers=20) as pool:
        codes = [r.status_code for r in pool.map(send, range(20))]
    assert codes == [200] * 20
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if _scalar(engine, "SELECT count(*) FROM webhook_inbox WHERE status = 'processed'") == 1:
            break
        time.sleep(0.2)
    assert _scalar(engine, "SELECT count(*) FROM webhook_inbox") == 1
    assert _scalar(engine, "SELECT status FROM webhook_inbox") == "processed"  # acted on within seconds
    assert _scalar(engine, "SELECT count(*) FROM orders WHERE external_id = '450789469'") == 1
    assert _scalar(engine, "SELECT count(*) FROM customers WHERE external_id = '207119551'") == 1
    assert _scalar(engine, "SELECT count(*) FROM order_items") == 3


def test_cli_replay_of_a_processed_delivery_says_so(live):
    _, engine, env = live
    message_id = _scalar(engine, "SELECT min(id) FROM webhook_inbox")
    result = subprocess.run(
        [HUITOU, "webhooks", "replay", "--id", str(message_id)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and "processed already" in result.stderr
    failed = subprocess.run(
        [HUITOU, "webhooks", "replay", "--failed"], env=env, capture_output=True, text=True, timeout=60
    )
    assert failed.returncode == 0 and "replayed 0" in failed.stdout
