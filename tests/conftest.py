"""Test database, per-test rolled-back transactions, the app client and login helpers.

The database comes from HUITOU_TEST_DATABASE_URL (scripts/test.sh sets it for the PostgreSQL
leg); without it, a fresh SQLite file. The schema is built by the real Alembic migrations.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

_TMP = Path(tempfile.mkdtemp(prefix="huitou-test-"))
_BASE_URL = os.environ.get("HUITOU_TEST_DATABASE_URL", "")
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")


def _postgres_test_url(base_url: str) -> tuple[str, str]:
    """Create a private database for this test process; (its URL, the admin URL)."""
    admin_url = sa.make_url(base_url.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"huitou_t_{re.sub(r'[^a-z0-9]', '', _WORKER.lower())}_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    return admin_url.set(database=name).render_as_string(hide_password=False), admin_url.render_as_string(
        hide_password=False
    )


if _BASE_URL.startswith("postgres"):
    TEST_DATABASE_URL, _ADMIN_URL = _postgres_test_url(_BASE_URL)
else:
    TEST_DATABASE_URL, _ADMIN_URL = f"sqlite:///{_TMP / 'test.db'}", ""

# Before anything imports the app's settings.
os.environ["HUITOU_DATABASE_URL"] = TEST_DATABASE_URL
os.environ["HUITOU_ENVIRONMENT"] = "development"
os.environ["HUITOU_SECRET_KEY"] = "test-secret-key-that-is-long-enough-0123456789"
os.environ.setdefault("HUITOU_LOG_LEVEL", "WARNING")

from fastapi.testclient import TestClient  # noqa: E402
from pwdlib import PasswordHash  # noqa: E402
from pwdlib.hashers.argon2 import Argon2Hasher  # noqa: E402
from sqlmodel import Session  # noqa: E402

# Real Argon2, with cheap parameters so the suite does not spend minutes hashing test passwords.
import app.accounts.security as _security  # noqa: E402
from app.config import get_settings  # noqa: E402
from app.db import get_engine, get_session  # noqa: E402
from app.main import create_app  # noqa: E402
from app.migrations import upgrade  # noqa: E402

_security._password_hash = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))

IS_POSTGRES = TEST_DATABASE_URL.startswith("postgresql")
NOW = datetime(2026, 11, 11, 2, 0, tzinfo=UTC)  # 双11, 10:00 in Shanghai


def pytest_report_header(config: pytest.Config) -> str:
    return f"huitou test database: {'PostgreSQL' if IS_POSTGRES else 'SQLite'}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL (runs on the PostgreSQL leg)")
    for item in items:
        if "postgres_only" in item.keywords and not IS_POSTGRES:
            item.add_marker(skip_pg)


@pytest.fixture(scope="session")
def engine() -> Iterator[sa.Engine]:
    get_settings.cache_clear()
    get_engine.cache_clear()
    upgrade(TEST_DATABASE_URL)
    eng = get_engine()
    yield eng
    eng.dispose()
    if IS_POSTGRES:
        admin = sa.create_engine(_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
        name = sa.make_url(TEST_DATABASE_URL).database
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def db(engine: sa.Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test; commits become savepoints."""
    connection = engine.connect()
    transaction = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        if transaction.is_active:
            transaction.rollback()
        connection.close()


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def app(db: Session):
    from app import ratelimit

    ratelimit.reset()  # in-memory rate limits: every test starts with a clean count
    application = create_app()

    def _test_session() -> Iterator[Session]:
        # What the test set up so far counts as committed (its savepoint is released), so a
        # request that fails rolls back only its own work, as it would in production.
        db.commit()
        try:
            yield db
            db.commit()
        except BaseException:
            db.rollback()
            raise

    application.dependency_overrides[get_session] = _test_session
    return application


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client


def create_scratch_database(prefix: str) -> str:
    """An empty database of the engine under test (SQLite file or PostgreSQL database)."""
    if not IS_POSTGRES:
        return f"sqlite:///{_TMP / f'{prefix}-{uuid.uuid4().hex[:8]}.db'}"
    name = f"huitou_{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return sa.make_url(_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_scratch_database(url: str) -> None:
    if not url.startswith("postgresql"):
        return
    admin = sa.create_engine(_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{sa.make_url(url).database}" WITH (FORCE)')
    admin.dispose()


@contextlib.contextmanager
def scratch_engine(prefix: str) -> Iterator[sa.Engine]:
    """A migrated database of its own (committed work, several connections, the jobs' own
    sessions), its engine disposed and the database dropped afterwards, a failing test too."""
    from app.db import create_db_engine

    url = create_scratch_database(prefix)
    try:
        upgrade(url)
        engine = create_db_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()
    finally:
        drop_scratch_database(url)


@pytest.fixture
def fresh_database_url() -> Iterator[str]:
    """An empty database, dropped afterwards (migration and CLI tests)."""
    url = create_scratch_database("fresh")
    try:
        yield url
    finally:
        drop_scratch_database(url)
