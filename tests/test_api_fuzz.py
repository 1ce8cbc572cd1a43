"""The JSON API fuzzed from its own OpenAPI document (schemathesis): every operation, with an admin
API key and with none, against a real `huitou serve` on a scratch database. No answer may be a
5xx, and every answer must match what the document says (status code, content type, body schema).
The number of examples per operation is bounded so the suite stays quick on a 2-core machine."""

from __future__ import annotations

import os
import subprocess

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.live import HUITOU, running_server

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Examples per operation (raise HUITOU_FUZZ_EXAMPLES for a deeper run). Without a key every
# request stops at authentication, so a few examples say all there is to say.
EXAMPLES = int(os.environ.get("HUITOU_FUZZ_EXAMPLES", "10"))
EXAMPLES_WITHOUT_KEY = 3


@pytest.fixture(scope="module")
def live_api(tmp_path_factory):
    from tests.conftest import create_scratch_database, drop_scratch_database

    url = create_scratch_database("fuzz")
    env = os.environ | {"HUITOU_DATABASE_URL": url, "COLUMNS": "300"}
    for args in (["migrate"], ["seed-demo", "--customers", "6", "--orders", "12"]):
        subprocess.run([HUITOU, *args], env=env, check=True, capture_output=True, timeout=300)
    made = subprocess.run(
        [HUITOU, "api-key", "create", "--name", "fuzz", "--scope", "admin"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    key = made.stdout.strip().splitlines()[-1]
    with running_server(env, tmp_path_factory.mktemp("fuzz-log") / "server.log") as base:
        yield base, key
    drop_scratch_database(url)


def _document() -> dict:
    from app.main import create_app

    return create_app().openapi()  # the very document /openapi.json serves


schema = schemathesis.openapi.from_dict(_document())
# The coverage phase walks every boundary of every parameter (thousands of requests); the bounded
# random phase below finds the same classes of failure in a fraction of the time.
schema.config.phases.coverage.enabled = os.environ.get("HUITOU_FUZZ_COVERAGE") == "1"
def _bounded(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,  # the same examples on every run: a failure is reproducible
        suppress_health_check=list(HealthCheck),
    )


@schema.parametrize()
@_bounded(EXAMPLES)
def test_every_operation_with_an_admin_key(case, live_api):
    base, key = live_api
    case.call_and_validate(base_url=base, headers={"Authorization": f"Bearer {key}"}, checks=CHECKS)


@schema.parametrize()
@_bounded(EXAMPLES_WITHOUT_KEY)
def test_every_operation_without_a_key(case, live_api):
    base, _ = live_api
    case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    case.call_and_validate(base_url=base, checks=CHECKS)
