"""ix_tickets_queue in queue order (rank descending) and carrying team and assignee: a queue's
rows come out of the index in order, its filters and counts read the index only

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = ["status", "kind", "queue_rank", "due_at"]
NEW = ["status", "kind", sa.text("queue_rank DESC"), "due_at", "team_id", "assignee_id"]


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.drop_index("ix_tickets_queue")
        batch_op.create_index("ix_tickets_queue", NEW, unique=False)
    _statistics()


def _statistics() -> None:
    """A database with planner statistics gets them for the new index too: SQLite would
    otherwise guess it selective and read all solved tickets through it for a day's metrics."""
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("ANALYZE tickets")
    elif bind.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first():
        op.execute("ANALYZE tickets")


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.drop_index("ix_tickets_queue")
        batch_op.create_index("ix_tickets_queue", OLD, unique=False)
