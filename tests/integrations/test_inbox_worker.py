"""A server's inbox worker leaves the processing to `huitou dispatch` while webhooks keep
arriving, and processes what it was handed once they pause."""

import threading
import time

from app.integrations.jobs import _Worker


def test_nothing_is_processed_while_deliveries_keep_arriving_and_all_once_they_pause():
    processed: list[list[int]] = []
    done = threading.Event()

    def process(ids: list[int]) -> None:
        processed.append(ids)
        done.set()

    worker = _Worker(process)
    for message_id in (1, 2, 3):
        worker.submit(message_id)
    worker.last_submit = time.monotonic() + 3600  # deliveries keep arriving (for the next hour)
    time.sleep(4 * worker.BUSY_PAUSE)
    assert processed == []
    worker.last_submit = 0.0  # they pause
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

    worker = _Worker(process)
    worker.submit(1)
    worker.last_submit = 0.0
    deadline = time.monotonic() + 30
    while not seen and time.monotonic() < deadline:
        time.sleep(0.01)
    worker.submit(2)
    worker.last_submit = 0.0
    assert second.wait(timeout=30)
    assert seen == [[1], [2]]
