"""A server's inbox worker leaves the processing to `huitou dispatch` while the process serves
requests (agents' pages, claims, webhooks), and processes what it was handed once it is quiet."""

import threading
import time

from fastapi.testclient import TestClient

from app import activity
from app.activity import Activity
from app.integrations.jobs import _Worker


def test_quiet_means_no_request_in_flight_and_none_finished_within_the_window():
    busy = Activity()
    assert busy.quiet(0.2), "a process that never served a request is quiet"
    busy.begin()
    assert not busy.quiet(0.0)
    busy.begin()
    busy.end()
    assert not busy.quiet(0.0), "one request still in flight"
    busy.end()
    assert busy.in_flight == 0
    assert not busy.quiet(60), "the last one finished just now"
    assert busy.quiet(0.0)
    busy.last_finished = time.monotonic() - 1
    assert busy.quiet(0.5)


def test_every_request_is_counted_while_it_is_served(app):
    before = activity.requests.last_finished
    seen_in_flight: list[int] = []

    @app.get("/test-activity-probe")
    def probe() -> dict[str, int]:
        seen_in_flight.append(activity.requests.in_flight)
        return {}

    with TestClient(app) as client:
        assert client.get("/test-activity-probe").status_code == 200
        assert client.get("/no-such-page-here").status_code == 404
    assert seen_in_flight and seen_in_flight[0] >= 1
    assert activity.requests.in_flight == 0
    assert activity.requests.last_finished > before


def test_nothing_is_processed_while_the_process_serves_requests_and_all_once_it_is_quiet():
    processed: list[list[int]] = []
    done = threading.Event()

    def process(ids: list[int]) -> None:
        processed.append(ids)
        done.set()

    busy = Activity()
    busy.begin()  # a request is being served (a slow page, say) …
    worker = _Worker(process, busy_with=busy)
    for message_id in (1, 2, 3):
        worker.submit(message_id)
    time.sleep(4 * worker.BUSY_PAUSE)
    assert processed == []
    busy.end()  # … and ends; more requests keep coming for a while
    for _ in range(3):
        busy.begin()
        time.sleep(worker.BUSY_WINDOW / 4)
        busy.end()
        assert processed == []
    busy.last_finished = 0.0  # quiet
    assert done.wait(timeout=30)
    assert processed == [[1, 2, 3]]  # one batch, in order


def test_a_failing_batch_does_not_stop_the_worker():
    seen: list[list[int]] = []
    second = threading.Event()

    def process(ids: list[int]) -> None:
        seen.append(ids)
        if len(seen) == 1:
            raise RuntimeError("the database went away")
        second.set()

    worker = _Worker(process, busy_with=Activity())
    worker.submit(1)
    deadline = time.monotonic() + 30
    while not seen and time.monotonic() < deadline:
        time.sleep(0.01)
    worker.submit(2)
    assert second.wait(timeout=30)
    assert seen == [[1], [2]]
