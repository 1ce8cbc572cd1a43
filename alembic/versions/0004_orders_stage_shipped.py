"""ix_orders_stage_shipped: the automatic confirmation's scan (orders shipped or delivered up to a
cutoff) reads a range of the index instead of every shipped and delivered order, sorted

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_orders_stage_shipped", "orders", ["stage", "shipped_at"], unique=False)
    _statistics()


def _statistics() -> None:
    """A database with planner statistics gets them for the new index too (as 0003)."""
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("ANALYZE orders")
    elif bind.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first():
        op.execute("ANALYZE orders")


def downgrade() -> None:
    op.drop_index("ix_orders_stage_shipped", table_name="orders")
