"""ix_tickets_queue in queue order (rank descending) and carrying team and assignee: a queue's
rows come out of the index in order, its filters and counts read the index only

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.migrations import analyze_if_analyzed

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
    analyze_if_analyzed("tickets")


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.drop_index("ix_tickets_queue")
        batch_op.create_index("ix_tickets_queue", OLD, unique=False)
