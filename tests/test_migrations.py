"""Alembic owns the schema: the migrations build exactly the models' schema, and unwind cleanly."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import app.models  # noqa: F401
from app.db import create_db_engine
from app.migrations import compare_type, downgrade, upgrade


def test_upgrade_head_gives_exactly_the_models_schema_and_downgrade_base_works(fresh_database_url):
    upgrade(fresh_database_url)
    engine = create_db_engine(fresh_database_url, poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": compare_type, "target_metadata": SQLModel.metadata}
            )
            diff = compare_metadata(context, SQLModel.metadata)
            assert diff == [], f"models and migrations differ: {diff}"
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
