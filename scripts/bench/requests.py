"""Service time of each desk request alone, on a copy of an existing dataset: what one request
costs the server with nothing else running (the mixed load in run.sh shows what queueing adds).

    .venv/bin/python scripts/bench/requests.py --sqlite /tmp/huitou-bench/dataset-….db --runs 5
    .venv/bin/python scripts/bench/requests.py --pg huitou_bench_… --only kpis,counts,rows

The app runs in this process (Starlette's TestClient: about 5 ms of client overhead per request
is included, as /healthz shows) in production settings, as one agent and one supervisor created
on the copy; the rollup is refreshed first, as `huitou dispatch` keeps it. Prints the median wall
and CPU time per request and the 95th percentile of wall time, then the garbage collections the
timed requests ran into (the start-up heap frozen first, as `huitou serve` does; `--no-freeze`
leaves it to the collector, to compare); the copy is removed afterwards. `--queries` lists each
request's SQL statements; `--profile` samples them with py-spy (read with scripts/bench/stacks.py).

`--beside N` times each request while N threads run Python beside it, at Python's default GIL
switch interval (5 ms) and at the one `huitou serve` sets (HUITOU_GIL_SWITCH_INTERVAL_MS): every
SQLite step and thread hop gives the GIL up, and waits up to a switch interval to win it back.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import load  # noqa: E402 - the load benchmark's dataset helpers and signed webhooks


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    load.dataset_arguments(parser)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", default="", help="comma-separated operations (default: all)")
    parser.add_argument(
        "--beside",
        type=int,
        default=0,
        help="threads running Python beside each request; the requests are then timed at Python's "
        "default GIL switch interval and at the one huitou serve sets (no processing step)",
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="SECONDS",
        help="after timing, repeat each operation this long under py-spy (raw stacks to a file)",
    )
    parser.add_argument(
        "--queries",
        action="store_true",
        help="after timing, run each operation once more and list its SQL statements with their times",
    )
    parser.add_argument(
        "--no-freeze",
        dest="freeze",
        action="store_false",
        help="leave the start-up heap to the garbage collector (as servers did before stop 21)",
    )
    args = load.parse_dataset_arguments(parser, argv)
    with load.dataset_copy(args.sqlite, args.pg, args.pg_admin, "requests") as url:
        only = [o for o in args.only.split(",") if o]
        return measure(url, args.runs, only, args.beside, args.profile, args.queries, args.freeze)


class GcClock:
    """Garbage collections during the timed runs, per generation: how many, how long in all, the
    longest (every thread waits while one runs)."""

    def __init__(self) -> None:
        self.counting = False
        self.started = 0.0
        self.count = [0, 0, 0]
        self.total = [0.0, 0.0, 0.0]
        self.longest = [0.0, 0.0, 0.0]

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self.started = time.perf_counter()
        elif self.counting:
            took, generation = time.perf_counter() - self.started, info["generation"]
            self.count[generation] += 1
            self.total[generation] += took
            self.longest[generation] = max(self.longest[generation], took)

    def report(self, requests: int) -> str:
        parts = [
            f"gen{g} {n} (longest {longest * 1000:.1f} ms) = {total * 1000:.0f} ms"
            for g, (n, longest, total) in enumerate(zip(self.count, self.longest, self.total, strict=True))
        ]
        per = sum(self.total) * 1000 / max(requests, 1)
        return f"garbage collection in {requests} timed requests: {'; '.join(parts)} ({per:.2f} ms a request)"


def measure(
    url: str,
    runs: int,
    only: list[str],
    beside: int = 0,
    profile: int = 0,
    queries: bool = False,
    freeze: bool = True,
) -> int:
    os.environ |= load.server_env(load.sa_url(url) if url.startswith("postgresql") else url)
    os.environ["HUITOU_BASE_URL"] = "http://127.0.0.1:8000"  # loopback: cookies without Secure
    load.huitou(url, "migrate", quiet=True)
    people = load.prepare(url, 1, 1)

    from starlette.testclient import TestClient

    import app.integrations.jobs as jobs
    from app.db import session_scope
    from app.main import create_app, freeze_heap
    from app.metrics import rollups

    jobs._worker.submit = lambda _id: None  # processing is timed on its own below
    with session_scope() as session:
        rollups.refresh(session, now=datetime.now(UTC))
    application = create_app()
    agent, supervisor = (TestClient(application, base_url="http://127.0.0.1") for _ in range(2))
    csrf, page = login(agent, people.agents[0])
    login(supervisor, people.supervisors[0])
    queue = load.QUEUE_RE.search(page).group(1)
    if freeze:
        freeze_heap()  # as `huitou serve` does before it serves (the test client runs no lifespan)
    htmx = {"HX-Request": "true", "X-CSRF-Token": csrf}
    hooks = load.Webhooks(load.Balancer(["http://127.0.0.1"]), load.Ledger(), first=int(time.time()))
    ticket: dict[str, int] = {}

    def claim():
        answer = agent.post("/tickets/next", data={"queue": ""}, headers=htmx, follow_redirects=False)
        ticket["id"] = int(answer.headers["HX-Redirect"].rsplit("/", 1)[-1])
        return answer

    def reply():
        claim()
        data = {"mode": "reply", "body": "好的亲", "channel": "manual", "then": "solved"}
        return agent.post(f"/tickets/{ticket['id']}/messages", data=data, headers=htmx)

    def webhook():
        _, _, body, headers = hooks.delivery()
        return agent.post(f"/webhooks/shopify/{load.STORE_SLUG}", content=body, headers=headers)

    operations: dict[str, Callable[[], object]] = {
        "healthz": lambda: agent.get("/healthz"),
        "workbench": lambda: agent.get("/"),
        "counts": lambda: agent.get(f"/queues/counts?queue={queue}", headers=htmx),
        "rows": lambda: agent.get(f"/queues/{queue}/rows", headers=htmx),
        "kpis": lambda: agent.get("/reports/me/kpis", headers=htmx),
        "targets": lambda: agent.get("/reports/me/targets", headers=htmx),
        "seen": lambda: agent.post("/me/seen", headers=htmx),
        "next": claim,
        "workspace": lambda: agent.get(f"/tickets/{ticket['id']}"),
        "presence": lambda: agent.post(f"/tickets/{ticket['id']}/presence", headers=htmx),
        "suggest": lambda: agent.get(f"/phrasing/suggest?ticket_id={ticket['id']}", headers=htmx),
        "thread": lambda: agent.get(f"/tickets/{ticket['id']}/thread", headers=htmx),
        "reply": reply,
        "dashboard": lambda: supervisor.get("/reports"),
        "webhook": webhook,
    }
    claim()
    if beside:
        return measure_beside(operations, only, runs, beside)
    import gc

    clock = GcClock()
    gc.callbacks.append(clock)
    timed = 0
    print(f"{'request':12} {'wall ms':>9} {'cpu ms':>9} {'p95 wall':>9}   (median of {runs}, one at a time)")
    for name in only or list(operations):
        operations[name]()  # once untimed: templates compiled, caches warm
        walls, cpus = [], []
        clock.counting = True
        for _ in range(runs):
            wall, cpu = time.perf_counter(), time.process_time()
            answer = operations[name]()
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
            if answer.status_code >= 400:
                print(f"{name}: HTTP {answer.status_code} {answer.text[:200]}")
                return 1
        clock.counting = False
        timed += runs
        print(
            f"{name:12} {statistics.median(walls) * 1000:9.1f} {statistics.median(cpus) * 1000:9.1f} "
            f"{load.percentile(walls, 0.95):9.1f}"
        )
        if profile:
            profiled(name, operations[name], profile)
        if queries:
            statements(name, operations[name])
    print(clock.report(timed))
    if not only or "webhook" in only:
        process_stored()
    return 0


def measure_beside(
    operations: dict[str, Callable[[], object]], only: list[str], runs: int, beside: int
) -> int:
    """Each request while `beside` threads run Python without pause (a stand-in for the requests a
    busy server renders at the same time), at Python's default GIL switch interval and at the
    one `huitou serve` sets: the baseline and the setting, in the same run."""
    from app.config import get_settings

    intervals = {"Python's 5 ms": 0.005, "the setting's": get_settings().gil_switch_interval_ms / 1000}
    stop = threading.Event()

    def burn() -> None:
        total = 0
        while not stop.is_set():
            for n in range(1000):
                total += n * n

    burners = [threading.Thread(target=burn, daemon=True) for _ in range(beside)]
    for thread in burners:
        thread.start()
    try:
        labels = [f"{label} ({seconds * 1000:g} ms)" for label, seconds in intervals.items()]
        print(f"wall ms, median of {runs}, with {beside} thread(s) running Python beside each request")
        print(f"{'request':12} " + " ".join(f"{label:>26}" for label in labels) + f" {'ratio':>7}")
        for name in only or list(operations):
            medians = []
            for seconds in intervals.values():
                sys.setswitchinterval(seconds)
                operations[name]()  # untimed
                walls = []
                for _ in range(runs):
                    started = time.perf_counter()
                    answer = operations[name]()
                    walls.append(time.perf_counter() - started)
                    if answer.status_code >= 400:
                        print(f"{name}: HTTP {answer.status_code} {answer.text[:200]}")
                        return 1
                medians.append(statistics.median(walls) * 1000)
            cells = " ".join(f"{value:26.1f}" for value in medians)
            print(f"{name:12} {cells} {medians[0] / medians[1]:6.1f}x")
    finally:
        stop.set()
        for thread in burners:
            thread.join()
    return 0


def profiled(name: str, operation: Callable[[], object], seconds: float) -> None:
    """Sample this process with py-spy while the operation repeats for `seconds`; the raw stacks
    (the app's threads and the test client's) go to a file, for scripts/bench/stacks.py."""
    import subprocess

    out = Path(f"/tmp/huitou-requests-{name}.txt")
    spy = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("py-spy")),
            "record",
            "--pid",
            str(os.getpid()),
            "--rate",
            "500",
            "--format",
            "raw",
            "--output",
            str(out),
            "--threads",
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)  # py-spy attaches
    count, until = 0, time.perf_counter() + seconds
    while time.perf_counter() < until:
        operation()
        count += 1
    spy.send_signal(2)  # SIGINT: py-spy writes what it sampled
    spy.wait(timeout=30)
    print(f"  {name}: {count} runs sampled into {out}")


def statements(name: str, operation: Callable[[], object]) -> None:
    """One more run of the operation, listing each SQL statement it sent and the time from
    sending it to the cursor's return (rows fetched later are not included)."""
    import sqlalchemy as sa

    from app.db import get_engine

    sent: list[tuple[float, str]] = []
    started: dict[int, float] = {}

    def before(conn, cursor, statement, parameters, context, executemany):
        started[id(cursor)] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        elapsed = time.perf_counter() - started.pop(id(cursor), time.perf_counter())
        sent.append((elapsed * 1000, " ".join(statement.split())))

    engine = get_engine()
    sa.event.listen(engine, "before_cursor_execute", before)
    sa.event.listen(engine, "after_cursor_execute", after)
    try:
        operation()
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
        sa.event.remove(engine, "after_cursor_execute", after)
    print(f"  {name}: {len(sent)} statements, {sum(ms for ms, _ in sent):.1f} ms in the database")
    for ms, text in sent:
        print(f"    {ms:7.2f}  {text[:150]}")


def process_stored() -> None:
    import sqlalchemy as sa

    from app.db import get_engine
    from app.integrations import jobs

    with get_engine().connect() as conn:
        ids = list(conn.execute(sa.text("SELECT id FROM webhook_inbox WHERE status = 'received'")).scalars())
    if ids:
        wall, cpu = time.perf_counter(), time.process_time()
        jobs.process_messages(ids)
        each = 1000 / len(ids)
        print(
            f"{'processing':12} {(time.perf_counter() - wall) * each:9.1f} "
            f"{(time.process_time() - cpu) * each:9.1f}   (each of {len(ids)} stored orders/create)"
        )


def login(client, username: str) -> tuple[str, str]:
    token = load.CSRF_RE.search(client.get("/login").text).group(1)
    form = {"username": username, "password": load.PASSWORD, "next": "/", "csrf_token": token}
    answer = client.post("/login", data=form, follow_redirects=False)
    if answer.status_code != 303:
        raise SystemExit(f"login of {username} failed: {answer.status_code}")
    page = client.get("/").text
    return load.CSRF_RE.search(page).group(1), page


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
