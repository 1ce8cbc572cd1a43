"""app.bulk on PostgreSQL: a table filled in one long transaction gets statistics as it grows, so
the foreign-key checks of the rows inserted after it are planned against its real size."""

import pytest
import sqlalchemy as sa

from app import bulk
from tests.conftest import IS_POSTGRES

pytestmark = pytest.mark.skipif(not IS_POSTGRES, reason="PostgreSQL's planner statistics")

scratch = sa.MetaData()
parents = sa.Table("bulk_parents", scratch, sa.Column("id", sa.Integer, primary_key=True))
children = sa.Table(
    "bulk_children",
    scratch,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("parent_id", sa.ForeignKey("bulk_parents.id"), nullable=False),
)


def counted(db, table: str) -> float:
    return db.execute(
        sa.text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:t)"), {"t": table}
    ).scalar_one()


def test_a_growing_table_is_analyzed_at_each_doubling_inside_the_transaction(db):
    scratch.create_all(db.connection())  # rolled back with the test's transaction
    start = bulk.ANALYZE_FROM

    bulk.insert_rows(db, parents, [{"id": i} for i in range(1, start)])
    assert counted(db, "bulk_parents") < 0  # too few rows to bother: never analyzed

    bulk.insert_rows(db, parents, [{"id": start}])
    assert counted(db, "bulk_parents") == start

    bulk.insert_rows(db, parents, [{"id": i} for i in range(start + 1, start + start // 2 + 1)])
    assert counted(db, "bulk_parents") == start  # grown by half: the statistics still hold

    bulk.insert_rows(db, parents, [{"id": i} for i in range(start + start // 2 + 1, 20 * start + 1)])
    assert counted(db, "bulk_parents") == 20 * start

    # What a foreign-key check asks, planned now: the parent's index, not a scan of the table.
    plan = "\n".join(
        db.execute(sa.text("EXPLAIN SELECT 1 FROM ONLY bulk_parents x WHERE id = 4321 FOR KEY SHARE OF x"))
        .scalars()
        .all()
    )
    assert "Index" in plan and "Seq Scan" not in plan
    bulk.insert_rows(db, children, [{"id": i, "parent_id": i} for i in range(1, 2 * start + 1)])
    assert db.execute(sa.text("SELECT count(*) FROM bulk_children")).scalar_one() == 2 * start
