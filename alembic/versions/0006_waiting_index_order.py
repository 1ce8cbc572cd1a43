"""ix_tickets_waiting in queue order (rank descending, due, no due last, id): "next ticket" reads
its candidate from one index scan instead of probing the index once per rank

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WAITING = sa.text("status = 'open' AND assignee_id IS NULL")
OLD = ["queue_rank", "due_at", "id"]
NEW = [sa.text("queue_rank DESC"), sa.text("(due_at IS NULL)"), "due_at", "id"]


def _replace(columns: list) -> None:
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.drop_index("ix_tickets_waiting", postgresql_where=WAITING, sqlite_where=WAITING)
        batch_op.create_index(
            "ix_tickets_waiting", columns, unique=False, postgresql_where=WAITING, sqlite_where=WAITING
        )


def upgrade() -> None:
    _replace(NEW)
    _statistics()


def _statistics() -> None:
    """A database with planner statistics gets them for the new index too (as in 0003)."""
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("ANALYZE tickets")
    elif bind.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first():
        op.execute("ANALYZE tickets")


def downgrade() -> None:
    _replace(OLD)
