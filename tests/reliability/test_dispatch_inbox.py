"""`huitou dispatch` processes stored webhooks as they arrive (its inbox thread), not at the next
cycle of its periodic jobs: a busy server leaves the processing to it."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlmodel import Session

from app.integrations import inbox
from app.integrations.models import Platform
from tests.reliability.helpers import (
    STORE,
    Process,
    assert_orders_created_exactly_once,
    order_deliveries,
    scratch_database,
    wait_until,
)


def test_deliveries_stored_between_cycles_are_processed_within_seconds(tmp_path):
    with scratch_database("inbox") as db:
        # One cycle at start, the next an hour later: only the inbox thread can process these.
        worker = Process(["dispatch", "--interval", "3600"], db.env, tmp_path / "dispatch.log")
        try:
            time.sleep(4.0)  # the first cycle (an empty database) is long over
            deliveries = order_deliveries(12, first_order_id=850_000_000, prefix="between")
            for batch in (deliveries[:6], deliveries[6:]):
                _store(db, batch)

                wanted = deliveries.index(batch[-1]) + 1
                wait_until(
                    lambda wanted=wanted: (
                        db.scalar("SELECT count(*) FROM webhook_inbox WHERE status = 'processed'") == wanted
                    ),
                    timeout=30,
                    what=f"the inbox thread:\n{worker.log()[-2000:]}",
                )
        finally:
            worker.stop()
        assert_orders_created_exactly_once(db, {d.order_id for d in deliveries})
        assert worker.popen.returncode == 0, worker.log()[-2000:]


def _store(db, deliveries) -> None:
    """As the webhook route stores them, without processing (a busy server leaves it to dispatch)."""
    with Session(db.engine) as session:
        for d in deliveries:
            receipt = inbox.receive(
                session,
                platform=Platform.shopify,
                store_slug=STORE,
                headers={k.lower(): v for k, v in d.headers.items()},
                body=d.body,
                now=datetime.now(UTC),
            )
            assert receipt.status_code == 200
        session.commit()
