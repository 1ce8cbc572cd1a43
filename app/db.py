"""Engine, naming convention, column types (aware UTC times, exact money) and sessions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, Request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, SQLModel

from app.config import get_settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every engine (SQLite stores them naive)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; pass an aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


CENTS = Decimal("0.01")


class Money(TypeDecorator):
    """Money as Decimal in Python, integer minor units (cents) in the database.

    Integers keep sums exact on SQLite too, where NUMERIC would pass through float.
    """

    impl = sa.BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | int | str | None, dialect: Any) -> int | None:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("money must be Decimal, never float")
        try:
            amount = Decimal(value)
        except InvalidOperation as exc:
            raise ValueError(f"not an amount of money: {value!r}") from exc
        if amount != amount.quantize(CENTS):
            raise ValueError(f"money has at most 2 decimal places: {value!r}")
        return int((amount * 100).to_integral_value(rounding=ROUND_HALF_UP))

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        if value is None:
            return None
        return (Decimal(int(value)) / 100).quantize(CENTS)

    @property
    def python_type(self) -> type:
        return Decimal


def utc_now(now: datetime | None = None) -> datetime:
    """The edge's clock: routes and jobs call this and pass the result down."""
    return now if now is not None else datetime.now(UTC)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy emit BEGIN itself (pysqlite's own transaction handling breaks SAVEPOINT).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(conn: sa.Connection) -> None:
    # Writers take the write lock up front so a read-then-write never fails with SQLITE_BUSY
    # halfway; readers use a deferred transaction and never block writers (WAL).
    if conn.get_execution_options().get("sqlite_immediate"):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    settings = get_settings()
    # A database error's message would otherwise carry the statement's values (a buyer's phone,
    # address, message text) into logs and tracebacks.
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 10}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", settings.db_pool_size)
        kwargs.setdefault("max_overflow", settings.db_max_overflow)
        kwargs.setdefault("pool_pre_ping", True)
        # A database host that stops answering (rather than refusing) must not hang requests.
        kwargs.setdefault("connect_args", {"connect_timeout": 5})
    return sa.create_engine(url, **kwargs)


@lru_cache
def get_engine() -> Engine:
    return create_db_engine(get_settings().database_url)


def new_session(engine: Engine | None = None, *, write: bool = False) -> Session:
    session = Session(engine or get_engine(), expire_on_commit=False)
    if write:
        session.connection(execution_options={"sqlite_immediate": True})
    return session


@contextmanager
def session_scope(engine: Engine | None = None, *, write: bool = True) -> Iterator[Session]:
    """A unit of work for jobs and the CLI: commit on success, roll back on error."""
    session = new_session(engine, write=write)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def get_session(request: Request) -> Iterator[Session]:
    """The request's unit of work: committed before the response is sent, rolled back on error."""
    session = new_session(write=request.method in UNSAFE_METHODS)
    try:
        yield session
        session.commit()
    except BaseException:
        # The error page is rendered after this, with the agent the request loaded (nav, name,
        # access log): detach it as loaded, or the rollback expires it and reading it fails (500).
        session.expunge_all()
        session.rollback()
        raise
    finally:
        session.close()


# scope="function": the commit runs when the route returns, before the response goes out.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def str_enum(enum_cls: type[Any], length: int = 24) -> sa.Enum:
    """A StrEnum stored as VARCHAR (no native ENUM type: adding values needs no migration dance)."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
    )
