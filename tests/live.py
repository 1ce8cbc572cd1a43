"""A real `huitou serve` process on a free port, for tests that need committed data and real HTTP."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

HUITOU = str(Path(sys.executable).with_name("huitou"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(env: dict[str, str], log_path: Path, *, timeout: float = 30) -> Iterator[str]:
    """Start the server with `env`, wait until /healthz answers, yield its base URL, stop it."""
    port = free_port()
    with log_path.open("w") as log:
        process = subprocess.Popen([HUITOU, "serve", "--port", str(port)], env=env, stdout=log, stderr=log)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            process.kill()
            pytest.fail(f"the server did not start; see {log_path}")
        try:
            yield base
        finally:
            process.terminate()
            process.wait(timeout=10)
