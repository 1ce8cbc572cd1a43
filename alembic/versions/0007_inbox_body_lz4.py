"""Webhook intake writes less per delivery: on PostgreSQL the stored body is compressed with lz4
instead of pglz, which costs the database more per INSERT of a Shopify order body than the rest
of the row (docs/performance.md, stop 25), and ix_webhook_inbox_store_id goes: the unique
(store_id, platform, dedupe_key) and ix_webhook_inbox_store_subject both begin with store_id.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _lz4_available() -> bool:
    """PostgreSQL 14 or later, built with lz4 (the setting lists only the methods it supports)."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    return bool(
        bind.execute(
            sa.text(
                "SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' "
                "AND 'lz4' = ANY(enumvals)"
            )
        ).first()
    )


def upgrade() -> None:
    # New rows only: rows already stored keep their pglz compression (both are read alike).
    if _lz4_available():
        op.execute("ALTER TABLE webhook_inbox ALTER COLUMN body SET COMPRESSION lz4")
    with op.batch_alter_table("webhook_inbox") as batch_op:
        batch_op.drop_index("ix_webhook_inbox_store_id")


def downgrade() -> None:
    with op.batch_alter_table("webhook_inbox") as batch_op:
        batch_op.create_index("ix_webhook_inbox_store_id", ["store_id"], unique=False)
    if _lz4_available():
        op.execute("ALTER TABLE webhook_inbox ALTER COLUMN body SET COMPRESSION DEFAULT")
