"""A real server process on a free port with its own database, and headless Debian Chromium."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live import HUITOU, running_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def live_server(tmp_path_factory) -> Iterator[str]:
    from tests.conftest import create_scratch_database, drop_scratch_database

    url = create_scratch_database("live")  # browser tests commit real data: keep it apart
    env = os.environ | {"HUITOU_DATABASE_URL": url, "COLUMNS": "200"}
    subprocess.run([HUITOU, "migrate"], env=env, check=True, capture_output=True, timeout=120)
    subprocess.run(
        [HUITOU, "seed-demo", "--customers", "20", "--orders", "40", "--seed", "7", "--if-empty"],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    with running_server(env, tmp_path_factory.mktemp("live-log") / "server.log") as base:
        yield base
    drop_scratch_database(url)


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (./scripts/test.sh installs it when apt is available)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    expected = ("status of 401", "status of 403", "status of 409", "status of 422", "status of 429")

    def on_console(msg) -> None:
        # Refusals the test provokes on purpose are answers, not errors; a 404 or 500 is not.
        if msg.type == "error" and not any(code in msg.text for code in expected):
            errors.append(msg.text)

    page.on("console", on_console)
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    assert not errors, f"browser console errors: {errors}"


def login_as(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(f"{base}/")
