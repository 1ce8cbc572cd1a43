"""On PostgreSQL "next ticket" runs without a transaction (no BEGIN, no COMMIT round trips): the
claim is one atomic UPDATE, so each statement may commit by itself. A real engine and pool, not
the suite's rolled-back session: the connection must come back to the pool transactional again,
and a team's default queues (created by its first claim) must be made without savepoints."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app import db as app_db
from app.db import autocommit_on_postgres, in_autocommit, new_session
from app.tickets.models import Queue, Ticket
from app.tickets.queues import DEFAULT_KEYS, ensure_default_queues
from tests.conftest import IS_POSTGRES, scratch_engine
from tests.factories import T0, login, make_agent, make_customer, make_team
from tests.tickets.helpers import make_ticket

UPDATE_TICKETS = re.compile(r"^\s*UPDATE tickets\b")


@pytest.fixture
def scratch() -> Iterator[sa.Engine]:
    with scratch_engine("claimauto") as engine:
        yield engine


def test_autocommit_is_for_postgresql_sessions_on_an_engine_only(scratch):
    engine = scratch
    session = new_session(engine, write=True)
    try:
        autocommit_on_postgres(session)
        assert in_autocommit(session) is IS_POSTGRES
        # On SQLite the writing session still begins with BEGIN IMMEDIATE at its first statement.
        assert session.in_transaction() is IS_POSTGRES
    finally:
        session.close()
    with engine.connect() as connection:
        bound = Session(bind=connection)
        autocommit_on_postgres(bound)  # a session bound to a connection keeps its transaction
        bound.execute(sa.text("SELECT 1"))
        assert not in_autocommit(bound)
        bound.close()


@pytest.mark.postgres_only
def test_next_ticket_claims_without_a_transaction_and_the_connection_comes_back_transactional(
    scratch, monkeypatch
):
    from app.main import create_app

    # One connection in the pool: every request of the test reuses the one the claim ran on.
    one = app_db.create_db_engine(
        scratch.url.render_as_string(hide_password=False), pool_size=1, max_overflow=0
    )
    seen: list[tuple[str, bool]] = []

    def spy(conn, _cursor, statement, *_args):
        seen.append((statement, conn.connection.dbapi_connection.autocommit))

    try:
        with Session(one, expire_on_commit=False) as session:
            team = make_team(session)  # a new team: no default queues yet
            agent = make_agent(session, team=team.id)
            urgent = make_ticket(session, customer=make_customer(session), now=T0, priority="urgent")
            later = make_ticket(session, customer=make_customer(session), now=T0 + timedelta(minutes=1))
            session.commit()
            assert not session.exec(select(Queue).where(Queue.team_id == team.id)).first()

        monkeypatch.setattr(app_db, "get_engine", lambda: one)
        sa.event.listen(one, "before_cursor_execute", spy)
        client = TestClient(create_app(), base_url="http://testserver")
        csrf = login(client, agent)

        seen.clear()
        first = client.post("/tickets/next", data={"csrf_token": csrf}, follow_redirects=False)
        assert first.status_code == 303, first.text
        assert first.headers["location"] == f"/tickets/{urgent.id}"
        claim_statements = list(seen)
        assert any(UPDATE_TICKETS.match(s) for s, _ in claim_statements), claim_statements
        assert all(autocommit for _, autocommit in claim_statements), claim_statements
        # Without savepoints the team's default queues were made by the claim, committed.
        with one.connect() as conn:
            keys = conn.execute(sa.select(Queue.key).where(Queue.team_id == team.id)).scalars().all()
            assert set(keys) == DEFAULT_KEYS and len(keys) == len(DEFAULT_KEYS)
            assert (
                conn.execute(sa.select(Ticket.assignee_id).where(Ticket.id == urgent.id)).scalar_one()
                == agent.id
            )

        # The same pooled connection serves the next request in a transaction again.
        seen.clear()
        page = client.get(f"/tickets/{urgent.id}")
        assert page.status_code == 200
        assert seen and not any(autocommit for _, autocommit in seen), seen

        seen.clear()
        second = client.post("/tickets/next", data={"csrf_token": csrf}, follow_redirects=False)
        assert second.headers["location"] == f"/tickets/{later.id}"
        assert all(autocommit for _, autocommit in seen), seen

        # Nothing left, and a queue that does not exist: answers, not errors, in autocommit.
        empty = client.post("/tickets/next", data={"csrf_token": csrf}, follow_redirects=False)
        assert empty.status_code == 303 and empty.headers["location"] == "/"
        missing = client.post("/tickets/next", data={"csrf_token": csrf, "queue": "nope"})
        assert missing.status_code == 404
        assert "nope" in missing.text
        seen.clear()
        assert client.get("/").status_code == 200
        assert seen and not any(autocommit for _, autocommit in seen), seen
    finally:
        sa.event.remove(one, "before_cursor_execute", spy)
        one.dispose()


@pytest.mark.postgres_only
def test_default_queues_made_in_autocommit_skip_one_a_concurrent_request_just_made(scratch):
    """Each INSERT commits or fails by itself: the queue another request made first is skipped,
    the others are made, and the session goes on."""
    engine = scratch
    with Session(engine, expire_on_commit=False) as session:
        team = make_team(session)
        session.commit()
    made_first: list[str] = []

    def concurrent_request(_conn, _cursor, statement, parameters, *_args):
        if statement.lstrip().startswith("INSERT INTO queues") and not made_first:
            key = parameters["key"]
            made_first.append(key)
            with engine.begin() as other:  # another request, committed just before ours
                other.execute(
                    sa.insert(Queue).values(
                        team_id=team.id, key=key, name="theirs", position=0, filters={}, created_at=T0
                    )
                )

    session = new_session(engine, write=True)
    autocommit_on_postgres(session)
    sa.event.listen(engine, "before_cursor_execute", concurrent_request)
    try:
        created = ensure_default_queues(session, team_id=team.id, now=T0)
        assert created == len(DEFAULT_KEYS) - 1
        assert session.execute(sa.text("SELECT 1")).scalar_one() == 1, "the session goes on"
    finally:
        sa.event.remove(engine, "before_cursor_execute", concurrent_request)
        session.close()
    with Session(engine) as check:
        rows = check.exec(select(Queue.key, Queue.name).where(Queue.team_id == team.id)).all()
    assert sorted(key for key, _ in rows) == sorted(DEFAULT_KEYS)
    assert dict(rows)[made_first[0]] == "theirs"
