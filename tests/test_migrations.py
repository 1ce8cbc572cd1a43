"""Alembic owns the schema: the migrations build exactly the models' schema, and unwind cleanly."""

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import app.models  # noqa: F401
from app.db import create_db_engine
from app.migrations import DESCENDING_INDEXES, compare_type, downgrade, include_object, upgrade


# SQLite's dialect cannot reflect an expression index (ix_tickets_waiting): it says so, and the
# comparison leaves that index to the SQL check below.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
def test_upgrade_head_gives_exactly_the_models_schema_and_downgrade_base_works(fresh_database_url):
    upgrade(fresh_database_url)
    engine = create_db_engine(fresh_database_url, poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={
                    "compare_type": compare_type,
                    "include_object": include_object,
                    "target_metadata": SQLModel.metadata,
                },
            )
            diff = compare_metadata(context, SQLModel.metadata)
            assert diff == [], f"models and migrations differ: {diff}"
            for name in DESCENDING_INDEXES:  # what the comparison leaves out, checked as SQL
                assert _index_sql(conn, name) == _index_sql_of_models(conn, name)
            tables = set(sa.inspect(conn).get_table_names())
        assert set(SQLModel.metadata.tables) <= tables
        downgrade(fresh_database_url, "base")
        with engine.connect() as conn:
            assert set(sa.inspect(conn).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()


def test_constraint_names_follow_the_convention():
    for table in SQLModel.metadata.tables.values():
        assert table.primary_key.name == f"pk_{table.name}" or table.primary_key.name is None
        for fk in table.foreign_keys:
            assert fk.constraint.name is None or fk.constraint.name.startswith("fk_")


def _normal(sql: str) -> str:
    return " ".join(sql.replace('"', "").split()).lower()


def _index_sql(conn, name: str) -> str:
    if conn.dialect.name == "sqlite":
        sql = conn.execute(sa.text("SELECT sql FROM sqlite_master WHERE name = :n"), {"n": name}).scalar_one()
    else:
        sql = conn.execute(
            sa.text("SELECT indexdef FROM pg_indexes WHERE indexname = :n"), {"n": name}
        ).scalar_one()
        sql = sql.replace(" USING btree", "").replace("public.", "")
    return _normal(sql)


def _index_sql_of_models(conn, name: str) -> str:
    """The models' definition of the index as the database states it: on PostgreSQL, which
    rewrites a definition (a partial index's condition, say), the models' index is created under
    another name in a savepoint that is rolled back, and its stored definition read."""
    from sqlalchemy.schema import CreateIndex

    index = next(i for t in SQLModel.metadata.tables.values() for i in t.indexes if i.name == name)
    sql = str(CreateIndex(index).compile(dialect=conn.dialect))
    if conn.dialect.name == "sqlite":
        return _normal(sql)
    probe = f"{name}_models_probe"
    savepoint = conn.begin_nested()
    conn.exec_driver_sql(sql.replace(name, probe, 1))
    stored = _index_sql(conn, probe)
    savepoint.rollback()
    return stored.replace(probe, name)


@pytest.mark.parametrize("analyzed", [True, False])
def test_an_index_migration_gives_an_analyzed_database_statistics_for_the_new_index(
    fresh_database_url, analyzed
):
    """0006 (like 0003) analyzes `tickets` where the planner keeps statistics, so its new index is
    not guessed selective: on PostgreSQL always, on SQLite when the database was analyzed before
    (it has sqlite_stat1); one never analyzed is left so."""
    upgrade(fresh_database_url, "0005")
    engine = create_db_engine(fresh_database_url, poolclass=sa.NullPool)
    sqlite = engine.dialect.name == "sqlite"
    analyses = (
        "SELECT count(*) FROM sqlite_stat1 WHERE idx = 'ix_tickets_waiting'"
        if sqlite
        else "SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'tickets'"
    )
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO tickets (kind, status, priority, priority_rank, queue_rank, sla_risk, subject,"
                " tags, reopened_count, created_at, updated_at) VALUES ('buyer_message', 'open', 'normal',"
                " 1, 2, FALSE, '在吗', '[]', 0, '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00')"
            )
        if analyzed:
            with engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
        with engine.connect() as conn:
            before = None if sqlite else conn.exec_driver_sql(analyses).scalar_one()
        upgrade(fresh_database_url, "0006")
        with engine.connect() as conn:
            if sqlite and not analyzed:
                assert not conn.exec_driver_sql(
                    "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'"
                ).first(), "a database never analyzed is left so"
            elif sqlite:  # dropping the old index dropped its row; the new one has its own
                assert conn.exec_driver_sql(analyses).scalar_one() == 1
            else:
                assert conn.exec_driver_sql(analyses).scalar_one() > before
    finally:
        engine.dispose()


@pytest.mark.postgres_only
def test_webhook_bodies_are_stored_with_lz4_on_postgresql(db):
    """0007: where the server has lz4, a large webhook body is compressed with it (not pglz, which
    took over twice as long per INSERT of a Shopify order); small ones stay uncompressed."""
    from tests.factories import T0, make_store

    supported = db.execute(
        sa.text("SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")
    ).scalar_one()
    if not supported:
        pytest.skip("this PostgreSQL was built without lz4: 0007 leaves pglz")
    store = make_store(db)
    body = b'{"note": "' + "亲，请问什么时候发货？".encode() * 400 + b'"}'
    ids = [
        db.execute(
            sa.text(
                "INSERT INTO webhook_inbox (store_id, platform, dedupe_key, topic, headers, body, status,"
                " retryable, error, note, subject, customer_ref, attempts, received_at, updated_at)"
                " VALUES (:store, 'shopify', :key, 'orders/create', '{}', :body, 'received', TRUE, '', '',"
                " '', '', 0, :now, :now) RETURNING id"
            ),
            {"store": store.id, "key": key, "body": data, "now": T0},
        ).scalar_one()
        for key, data in (("large", body), ("small", b"{}"))
    ]
    methods = db.execute(
        sa.text("SELECT id, pg_column_compression(body) FROM webhook_inbox WHERE id = ANY(:ids)"),
        {"ids": ids},
    ).all()
    assert dict(methods) == {ids[0]: "lz4", ids[1]: None}
    stored = db.execute(sa.text("SELECT body FROM webhook_inbox WHERE id = :id"), {"id": ids[0]})
    assert bytes(stored.scalar_one()) == body
