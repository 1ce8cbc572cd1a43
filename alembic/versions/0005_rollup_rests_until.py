"""metric_rollup_state.rests_until: the rollup's refresh job keeps to a share of one core (a
refresh that took t seconds rests until t / share after its start, across all workers)

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("metric_rollup_state") as batch_op:
        batch_op.add_column(sa.Column("rests_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("metric_rollup_state") as batch_op:
        batch_op.drop_column("rests_until")
