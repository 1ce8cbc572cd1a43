"""ix_tickets_waiting in queue order (rank descending, due, no due last, id): "next ticket" reads
its candidate from one index scan instead of probing the index once per rank

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.migrations import analyze_if_analyzed

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
    analyze_if_analyzed("tickets")


def downgrade() -> None:
    _replace(OLD)
