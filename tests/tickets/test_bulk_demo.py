"""`huitou seed-demo` with desk sizes: exactly the tickets, open tickets and messages asked for, every
row linked consistently (app.tickets.bulk_demo), run as the real command on its own database."""

import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.aftersales.models import AftersalesCase
from app.tickets.models import Ticket, TicketMessage

HUITOU = str(Path(sys.executable).with_name("huitou"))


@pytest.fixture
def seeded(fresh_database_url):
    env = os.environ | {"HUITOU_DATABASE_URL": fresh_database_url, "COLUMNS": "200", "NO_COLOR": "1"}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([HUITOU, *args], env=env, capture_output=True, text=True, timeout=300)

    assert run("migrate").returncode == 0
    engine = sa.create_engine(fresh_database_url, poolclass=sa.NullPool)
    yield run, engine
    engine.dispose()


def scalar(engine, sql: str):
    with engine.connect() as conn:
        return conn.execute(sa.text(sql)).scalar_one()


def test_a_sized_seed_makes_exactly_the_desk_asked_for_with_consistent_links(seeded):
    run, engine = seeded
    args = ("--orders", "500", "--tickets", "1000", "--open-tickets", "100", "--messages", "2500")
    result = run("seed-demo", "--customers", "150", *args)
    assert result.returncode == 0, result.stderr
    # The demo's own desk (through the services) comes first; the bulk step tops it up.
    added = int(re.search(r"desk tickets \(bulk\)\D*?([\d,]+)/\1", result.stdout).group(1).replace(",", ""))
    assert 500 < added < 1000
    assert scalar(engine, "SELECT COUNT(*) FROM orders") == 500
    assert scalar(engine, "SELECT COUNT(*) FROM tickets") == 1000
    assert scalar(engine, "SELECT COUNT(*) FROM tickets WHERE status = 'open'") == 100
    assert scalar(engine, "SELECT COUNT(*) FROM ticket_messages") == 2500
    statuses = {
        row[0] for row in engine.connect().execute(sa.text("SELECT DISTINCT status FROM tickets")).all()
    }
    assert {"open", "pending", "snoozed", "solved"} <= statuses
    checks = {
        "a ticket without messages": """SELECT COUNT(*) FROM tickets t
            WHERE NOT EXISTS (SELECT 1 FROM ticket_messages m WHERE m.ticket_id = t.id)""",
        "a message before its ticket": """SELECT COUNT(*) FROM ticket_messages m
            JOIN tickets t ON t.id = m.ticket_id WHERE m.created_at < t.created_at AND t.id >= {bulk}""",
        "a ticket of another store than its customer's": """SELECT COUNT(*) FROM tickets t
            JOIN customers c ON c.id = t.customer_id WHERE t.store_id <> c.store_id""",
        "a ticket about another buyer's order": """SELECT COUNT(*) FROM tickets t
            JOIN orders o ON o.id = t.order_id WHERE o.customer_id <> t.customer_id""",
        "a ticket about an order placed after it": """SELECT COUNT(*) FROM tickets t
            JOIN orders o ON o.id = t.order_id WHERE o.placed_at > t.created_at AND t.id >= {bulk}""",
        "a first response that is not the first human reply": """SELECT COUNT(*) FROM tickets t
            WHERE t.first_response_at IS NOT NULL AND t.first_response_at <> (
              SELECT MIN(m.created_at) FROM ticket_messages m WHERE m.ticket_id = t.id
                AND m.direction = 'outbound' AND m.automated = false)""",
        "a reply by someone else than the assignee": """SELECT COUNT(*) FROM ticket_messages m
            JOIN tickets t ON t.id = m.ticket_id WHERE m.direction = 'outbound'
              AND m.author_id IS NOT NULL AND t.assignee_id IS NOT NULL AND m.author_id <> t.assignee_id""",
        "a human reply on a ticket nobody has": """SELECT COUNT(*) FROM ticket_messages m
            JOIN tickets t ON t.id = m.ticket_id WHERE t.assignee_id IS NULL AND t.status = 'open'
              AND m.direction = 'outbound' AND m.automated = false""",
        "a solved ticket without its solve time": """SELECT COUNT(*) FROM tickets
            WHERE status IN ('solved', 'closed') AND solved_at IS NULL""",
        "an open ticket with a solve time": """SELECT COUNT(*) FROM tickets
            WHERE status = 'open' AND solved_at IS NOT NULL""",
        "a survey of an unsolved ticket or another agent": """SELECT COUNT(*) FROM csat_surveys s
            JOIN tickets t ON t.id = s.ticket_id WHERE t.status NOT IN ('solved', 'closed')
              OR s.agent_id IS DISTINCT FROM t.assignee_id OR s.sent_at < t.solved_at""",
        "a phrasing use without the reply that sent it": """SELECT COUNT(*) FROM phrasing_usages u
            WHERE u.ticket_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ticket_messages m
              WHERE m.ticket_id = u.ticket_id AND m.template_id = u.template_id)""",
        "a first response deadline before the ticket": """SELECT COUNT(*) FROM tickets
            WHERE first_response_due_at < created_at OR resolution_due_at < created_at""",
    }
    first_bulk = scalar(engine, "SELECT MAX(id) FROM tickets") - added + 1
    for what, sql in checks.items():
        assert scalar(engine, sql.replace("{bulk}", str(first_bulk))) == 0, what
    assert scalar(engine, "SELECT COUNT(*) FROM csat_surveys WHERE rating IS NOT NULL") > 0
    assert scalar(engine, "SELECT COUNT(*) FROM phrasing_usages WHERE outcome_at IS NOT NULL") > 0
    with engine.connect() as conn:
        for column in (TicketMessage.created_at, Ticket.updated_at, AftersalesCase.updated_at):
            latest = conn.execute(sa.select(sa.func.max(column))).scalar_one()
            assert latest <= datetime.now(UTC), f"{column} after the seed's now"
    directions = {
        tuple(row)
        for row in engine.connect().execute(
            sa.text("SELECT DISTINCT direction, automated FROM ticket_messages")
        )
    }
    assert {("inbound", False), ("outbound", False), ("note", False)} <= {(d, bool(a)) for d, a in directions}
    assert any(d == "outbound" and a for d, a in directions), "automatic replies too"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--tickets", "10", "--open-tickets", "20"), "cannot exceed --tickets"),
        (("--tickets", "10", "--messages", "5"), "at least --tickets"),
        (
            (
                "--messages",
                "50",
            ),
            "give --tickets too",
        ),
        (("--orders", "300", "--customers", "100", "--tickets", "3"), "ask for at least that many"),
    ],
)
def test_sizes_the_demo_cannot_make_are_refused_and_nothing_is_written(seeded, args, message):
    run, engine = seeded
    result = run("seed-demo", *args)
    assert result.returncode != 0
    assert message in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert scalar(engine, "SELECT COUNT(*) FROM orders") == 0
    assert scalar(engine, "SELECT COUNT(*) FROM tickets") == 0
