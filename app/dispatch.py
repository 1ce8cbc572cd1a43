"""The `huitou dispatch` worker: runs each periodic job in its own transaction, again and again.

Jobs are durable work found in the database (rows with due times), so a killed worker loses
nothing: the next run finds what is still due. Each job is `job(now) -> int` (how much it did).
"""

from __future__ import annotations

import importlib
import logging
import signal
import threading
import time
from collections.abc import Callable
from datetime import datetime

log = logging.getLogger("huitou.dispatch")

JOBS: list[str] = [
    "app.orders.jobs:auto_confirm",
    "app.integrations.jobs:process_inbox",
    "app.integrations.jobs:send_webhooks",
    "app.followups.jobs:plan_revisits",
    "app.followups.jobs:run_due",
    "app.tickets.jobs:wake_snoozed",
    "app.tickets.jobs:sla_sweep",
    "app.tickets.jobs:auto_assign",
    "app.metrics.rollups:refresh_job",
]


def _load(target: str) -> Callable[[datetime], int]:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def run_once(now: datetime) -> dict[str, int]:
    """Every job once. A failing job is logged and does not stop the others.

    Background work: on SQLite its write transactions let requests and webhook intake go first."""
    from app.db import background_writes

    done: dict[str, int] = {}
    with background_writes():
        for target in JOBS:
            try:
                done[target] = _load(target)(now)
            except Exception:  # noqa: BLE001 - one job's failure must not stop the worker
                log.exception("job failed", extra={"job": target})
                done[target] = -1
    return done


def run_forever(clock: Callable[[], datetime], interval: float = 5.0) -> None:
    """Cycle until SIGTERM/SIGINT; `clock` is the edge's clock (the CLI passes app.db.utc_now).
    Beside the cycle, a thread processes stored webhooks as they arrive (integrations.jobs)."""
    stopping = {"flag": False}

    def stop(*_: object) -> None:
        stopping["flag"] = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    from app.integrations.jobs import inbox_loop

    inbox_stop = threading.Event()
    inbox = threading.Thread(target=inbox_loop, args=(inbox_stop, clock), name="huitou-inbox", daemon=True)
    inbox.start()
    try:
        while not stopping["flag"]:
            started = time.monotonic()
            done = run_once(clock())
            if any(count for count in done.values()):
                log.info("dispatch cycle", extra={"done": done})
            while not stopping["flag"] and time.monotonic() - started < interval:
                time.sleep(0.2)
    finally:
        inbox_stop.set()
        inbox.join(timeout=30)
