"""Alembic glue: the config, `upgrade`, and how our column types render and compare."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from app.config import PROJECT_ROOT
from app.db import Money, UTCDateTime


def _migrations_root() -> Path:
    # A source checkout (editable install) has them beside app/; an installed package (Docker)
    # runs from a directory that holds alembic.ini and alembic/.
    for root in (PROJECT_ROOT, Path.cwd()):
        if (root / "alembic.ini").is_file() and (root / "alembic").is_dir():
            return root
    raise RuntimeError("alembic.ini and alembic/ not found beside the app or in the working directory")


def alembic_config(url: str | None = None) -> Config:
    root = _migrations_root()
    config = Config(str(root / "alembic.ini"))
    config.set_main_option("script_location", str(root / "alembic"))
    config.attributes["configure_logger"] = False
    if url:
        config.attributes["url"] = url
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Our TypeDecorators are plain columns in the database; migrations name the plain type."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, Money):
        return "sa.BigInteger()"
    return False


def compare_type(
    context: Any, inspected_column: Any, metadata_column: Any, inspected_type: Any, metadata_type: Any
) -> bool | None:
    if isinstance(metadata_type, Money):
        return not isinstance(inspected_type, sa.BigInteger)
    if isinstance(metadata_type, UTCDateTime):
        return not isinstance(inspected_type, sa.DateTime)
    return None  # Alembic's own comparison


def analyze_if_analyzed(table: str) -> None:
    """In a migration that adds an index: a database with planner statistics gets them for the new
    index too (PostgreSQL's ANALYZE samples; SQLite's reads the table, once). Without them SQLite
    guesses a new index selective (0003: it read all solved tickets through it for a day's
    metrics)."""
    from alembic import op

    bind = op.get_bind()
    if (
        bind.dialect.name == "postgresql"
        or bind.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first()
    ):
        op.execute(f"ANALYZE {table}")


# Indexes with a descending column or an expression: reflection loses the direction (on SQLite)
# or cannot read the expression, so autogenerate would report them changed on every run. They
# are left out of its comparison; the migrations test checks their definition in the database.
DESCENDING_INDEXES = frozenset({"ix_tickets_queue", "ix_tickets_waiting"})


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    return not (type_ == "index" and name in DESCENDING_INDEXES)
