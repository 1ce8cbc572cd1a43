"""The `huitou` command line, run as a real process against its own database."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

HUITOU = str(Path(sys.executable).with_name("huitou"))


@pytest.fixture
def run(fresh_database_url):
    env = os.environ | {"HUITOU_DATABASE_URL": fresh_database_url, "COLUMNS": "300", "NO_COLOR": "1"}

    def _run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([HUITOU, *args], env=env, capture_output=True, text=True, timeout=120)

    assert _run("migrate").returncode == 0
    return _run


def test_create_user_and_api_key_lifecycle(run):
    created = run(
        "create-user", "lanlan", "--password", "lanlan-password", "--role", "supervisor", "--team", "售后"
    )
    assert created.returncode == 0, created.stderr
    assert "supervisor lanlan" in created.stdout
    key = run("api-key", "create", "--name", "bridge", "--scope", "write")
    assert key.returncode == 0, key.stderr
    secret = key.stdout.strip().splitlines()[-1]
    assert secret.startswith("hk_") and " " not in secret
    listing = run("api-key", "list")
    assert "bridge" in listing.stdout and secret not in listing.stdout
    assert run("api-key", "revoke", "1").returncode == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("create-user", "x", "--password", "long-enough-pw"), "username"),
        (("create-user", "bob", "--password", "short"), "password"),
        (("create-user", "bob", "--password", "long-enough-pw", "--role", "boss"), "Role"),
        (("api-key", "create", "--name", "k", "--scope", "root"), "Scope"),
        (("api-key", "revoke", "999"), "does not exist"),
        (("seed-demo", "--customers", "-5"), "greater than or equal to 0"),
        (("serve", "--port", "99999"), "less than or equal to 65535"),
    ],
)
def test_bad_arguments_fail_with_a_clear_message(run, args, message):
    result = run(*args)
    assert result.returncode != 0
    assert message in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_production_without_secret_refuses_to_start(fresh_database_url):
    env = os.environ | {"HUITOU_ENVIRONMENT": "production", "HUITOU_DATABASE_URL": fresh_database_url}
    env.pop("HUITOU_SECRET_KEY", None)
    result = subprocess.run(
        [HUITOU, "serve", "--port", "18999"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "HUITOU_SECRET_KEY" in result.stderr


@pytest.mark.parametrize("command", [("serve", "--port", "18999"), ("dispatch", "--once")])
def test_a_bad_setting_is_named_and_refused(fresh_database_url, command):
    env = os.environ | {
        "HUITOU_DATABASE_URL": fresh_database_url,
        "HUITOU_GIL_SWITCH_INTERVAL_MS": "0",
        "COLUMNS": "300",
    }
    result = subprocess.run([HUITOU, *command], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "HUITOU_GIL_SWITCH_INTERVAL_MS: Input should be greater than or equal to 0.05" in result.stderr
    assert "Traceback" not in result.stderr


def test_seed_demo_creates_the_demo_logins_once(run):
    first = run("seed-demo", "--customers", "5", "--orders", "5", "--seed", "1")
    assert first.returncode == 0, first.stderr
    again = run("seed-demo", "--if-empty")
    assert again.returncode == 0 and "already present" in again.stdout


@pytest.mark.parametrize(("setting", "expected"), [(None, 10), ("3", 3), ("0", 0)])
def test_dispatch_lowers_its_cpu_priority(run, fresh_database_url, setting, expected):
    """`huitou dispatch` runs at a lower CPU priority than the server (default nice 10), so the
    agents' requests get the cores first when both are busy."""
    env = os.environ | {"HUITOU_DATABASE_URL": fresh_database_url}
    env.pop("HUITOU_DISPATCH_NICE", None)
    if setting is not None:
        env["HUITOU_DISPATCH_NICE"] = setting
    worker = subprocess.Popen(
        [HUITOU, "dispatch", "--interval", "3600"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        # Once the worker runs its cycle beside its inbox thread (two threads), its start-up,
        # where the priority is set, is over.
        deadline = time.monotonic() + 60
        while worker.poll() is None and time.monotonic() < deadline and _threads(worker.pid) < 2:
            time.sleep(0.1)
        assert worker.poll() is None, worker.stderr.read().decode() if worker.stderr else ""
        assert _threads(worker.pid) >= 2
        # /proc/PID/stat field 19 is the nice value (fields counted after the command's name).
        fields = Path(f"/proc/{worker.pid}/stat").read_text().rsplit(")", 1)[1].split()
        assert int(fields[16]) - os.nice(0) == expected
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def _threads(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return 0
