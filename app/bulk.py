"""Fast bulk inserts for seeding large databases (`huitou seed-demo` at scale, benchmarks).

`insert_rows` writes plain row dicts inside the session's transaction, converting each value with
its column's own type (aware UTC times, money as cents, enums, JSON) exactly as an ORM or Core
insert would — but without SQLAlchemy's per-row statement machinery: PostgreSQL gets one COPY per
call (psycopg's `cursor.copy`), SQLite one `executemany` of tuples. Measured on ticket messages
(indexes and foreign keys on): 1.4× the rows per second of Core's executemany on SQLite, 1.8× on
PostgreSQL — what is left is the database's own work (index entries, foreign-key checks).

Rows carry explicit values for the columns they name; a column a row leaves out gets its
client-side default (as SQLAlchemy's insert would) or, with none, the database's (NULL, or the
next id). Every row of one call must name the same columns. Explicit ids do not advance a
PostgreSQL sequence: call `fix_sequences` after inserting them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from app.db import UTCDateTime

_SQLITE_TIME = "%04d-%02d-%02d %02d:%02d:%02d.%06d"


def _sqlite_time(value: datetime) -> str:
    """UTCDateTime on SQLite, as its bind processor writes it (naive UTC, always with microseconds)
    — one call instead of two processors and a format with a dict, on millions of values."""
    if value.tzinfo is not UTC:
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; pass an aware datetime")
        value = value.astimezone(UTC)
    return _SQLITE_TIME % (
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond,
    )


def _writer(session: Session, table: sa.Table, keys: Sequence[str]) -> tuple[list[str], Callable]:
    """The columns to write and a function turning a row dict into a tuple of database values."""
    dialect = session.get_bind().dialect
    names = list(keys)
    defaults: dict[str, Any] = {}
    for column in table.columns:
        default = column.default
        if column.name in keys or default is None or not (default.is_scalar or default.is_callable):
            continue
        names.append(column.name)
        defaults[column.name] = default
    processors: list[Callable[[Any], Any] | None] = []
    for name in names:
        column_type = table.c[name].type
        if isinstance(column_type, UTCDateTime) and dialect.name == "sqlite":
            processors.append(_sqlite_time)
        else:  # what SQLAlchemy itself binds with: the dialect's implementation of the type
            processors.append(column_type.dialect_impl(dialect).bind_processor(dialect))
    given = itemgetter(*keys) if len(keys) > 1 else lambda row: (row[keys[0]],)
    steps = [(i, process) for i, process in enumerate(processors) if process is not None]

    def convert(row: dict[str, Any]) -> list[Any]:
        values = list(given(row))
        for default in defaults.values():
            values.append(default.arg if default.is_scalar else default.arg(None))
        for i, process in steps:
            if values[i] is not None:
                values[i] = process(values[i])
        return values

    return names, convert


def insert_rows(session: Session, table: sa.Table, rows: Iterable[dict[str, Any]]) -> int:
    """Insert `rows` (dicts) into `table` in the session's transaction; returns how many."""
    rows = list(rows)
    if not rows:
        return 0
    names, convert = _writer(session, table, list(rows[0]))
    connection = session.connection()
    driver = connection.connection.driver_connection
    quote = connection.dialect.identifier_preparer.quote
    columns = ", ".join(quote(n) for n in names)
    target = quote(table.name)
    if connection.dialect.name == "postgresql":
        with driver.cursor() as cursor, cursor.copy(f"COPY {target} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(convert(row))
    else:
        marks = ", ".join("?" for _ in names)
        cursor = driver.cursor()
        try:
            cursor.executemany(f"INSERT INTO {target} ({columns}) VALUES ({marks})", map(convert, rows))  # noqa: S608
        finally:
            cursor.close()
    return len(rows)


def fix_sequences(session: Session, tables: Iterable[str]) -> None:
    """After inserting explicit ids on PostgreSQL: move each table's id sequence past its highest id."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        # Table names come from the caller's code, never from input.
        sequence = f"pg_get_serial_sequence('{table}', 'id')"
        session.execute(sa.text(f"SELECT setval({sequence}, (SELECT COALESCE(MAX(id), 1) FROM {table}))"))  # noqa: S608
