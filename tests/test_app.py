"""The web shell: health, error pages, security headers, request ids, vendored assets."""

import hashlib
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app

STATIC = Path(__file__).resolve().parent.parent / "app" / "static"


def test_healthz_ok_when_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["status"] == "ok"


def test_healthz_503_with_reason_when_database_is_down(monkeypatch, engine):
    import sqlalchemy as sa

    import app.main as main

    broken = sa.create_engine(
        "postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 1}
    )
    monkeypatch.setattr(main, "get_engine", lambda: broken)
    with TestClient(create_app()) as c:
        response = c.get("/healthz")
    assert response.status_code == 503
    assert response.json()["reason"].startswith("database")


def test_every_response_has_a_request_id_and_security_headers(client):
    response = client.get("/login", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["referrer-policy"] == "same-origin"
    assert re.fullmatch(r"[0-9a-f]{32}", client.get("/login").headers["x-request-id"])


def test_one_structured_log_line_per_request(client, caplog):
    with caplog.at_level("INFO", logger="huitou.access"):
        client.get("/login?phone=13812345678")
    lines = [r for r in caplog.records if r.name == "huitou.access"]
    assert len(lines) == 1
    assert lines[0].path == "/login" and lines[0].status == 200 and lines[0].request_id
    assert "13812345678" not in lines[0].getMessage() + str(lines[0].__dict__)


def test_a_log_line_is_one_json_object_with_its_time_in_utc():
    import json
    import logging
    from datetime import UTC, datetime

    from app.main import JsonLogFormatter

    record = logging.LogRecord("huitou.db", logging.WARNING, __file__, 1, "waited %d s", (2,), None)
    record.created = datetime(2026, 11, 11, 8, 30, 5, 123000, tzinfo=UTC).timestamp()
    line = json.loads(JsonLogFormatter().format(record))
    assert line["time"] == "2026-11-11T08:30:05.123+00:00"
    assert (line["level"], line["logger"], line["message"]) == ("WARNING", "huitou.db", "waited 2 s")


def test_a_server_process_takes_the_gil_switch_interval_from_its_settings(monkeypatch):
    import sys

    from app.config import get_settings

    before = sys.getswitchinterval()
    monkeypatch.setenv("HUITOU_GIL_SWITCH_INTERVAL_MS", "2")
    get_settings.cache_clear()
    try:
        create_app()
        assert sys.getswitchinterval() == pytest.approx(0.002)
    finally:
        monkeypatch.delenv("HUITOU_GIL_SWITCH_INTERVAL_MS")
        get_settings.cache_clear()
        sys.setswitchinterval(before)
    assert get_settings().gil_switch_interval_ms == 0.5  # the default: a tenth of Python's 5 ms


def test_a_server_freezes_its_start_up_heap_before_it_serves(db):
    """The objects start-up built are kept out of the collector's full collections (app.main.
    freeze_heap); garbage made before is collected, not frozen."""
    import gc
    import weakref

    class Node:
        pass

    gc.unfreeze()
    try:
        application = create_app()
        assert gc.get_freeze_count() == 0  # building the app freezes nothing: serving does
        gc.disable()  # no automatic collection between here and the freeze: it must do its own
        try:
            garbage = Node()
            garbage.me = garbage  # a cycle that is already garbage when the server starts
            dead = weakref.ref(garbage)
            del garbage
            with TestClient(application) as client:
                assert gc.get_freeze_count() > 10_000
                assert dead() is None  # collected before the freeze, not frozen with the rest
                assert client.get("/healthz").status_code == 200
        finally:
            gc.enable()
        # What comes later is still collected: a reference cycle made after the freeze is freed.
        node = Node()
        node.me = node
        alive = weakref.ref(node)
        del node
        gc.collect()
        assert alive() is None
    finally:
        gc.unfreeze()


def test_404_page_in_chinese_and_english(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404 and "页面不存在" in response.text
    response = client.get("/no-such-page", headers={"Accept-Language": "en-US,en;q=0.8"})
    assert response.status_code == 404 and "This page does not exist" in response.text


def test_unhandled_error_gives_a_500_page_not_a_traceback(db):
    application = create_app()

    @application.get("/boom")
    def boom():
        raise RuntimeError("kaboom")

    with TestClient(application, raise_server_exceptions=False) as c:
        response = c.get("/boom")
    assert response.status_code == 500
    assert "kaboom" not in response.text and "已记录" in response.text


def test_vendored_assets_match_their_recorded_checksums():
    table = (STATIC / "vendor" / "VERSIONS.md").read_text()
    rows = re.findall(r"^\| (\S+) \|.*\| ([0-9a-f]{64}) \|$", table, re.M)
    assert rows
    for name, digest in rows:
        assert hashlib.sha256((STATIC / "vendor" / name).read_bytes()).hexdigest() == digest, name


def test_base_layout_loads_only_vendored_scripts(client, db):
    from tests.factories import login, make_agent

    login(client, make_agent(db))
    page = client.get("/")
    scripts = re.findall(r'<script src="([^"]+)"', page.text)
    assert scripts and all(s.startswith("/static/") for s in scripts)
    assert "<script>" not in page.text
    assert client.get(scripts[0]).status_code == 200
