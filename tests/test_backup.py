"""`huitou backup` / `huitou restore` as real processes: the demo data round-trips on both engines."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

HUITOU = str(Path(sys.executable).with_name("huitou"))
TABLES = ("agents", "customers", "orders", "order_items", "inquiries", "reviews", "followups")


@pytest.fixture
def run(fresh_database_url):
    env = os.environ | {"HUITOU_DATABASE_URL": fresh_database_url, "COLUMNS": "300", "NO_COLOR": "1"}

    def _run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([HUITOU, *args], env=env, capture_output=True, text=True, timeout=300)

    assert _run("migrate").returncode == 0
    return _run


def _counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"), poolclass=sa.NullPool)
    with engine.connect() as conn:
        counts = {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}  # noqa: S608
    engine.dispose()
    return counts


def _execute(url: str, sql: str) -> None:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"), poolclass=sa.NullPool)
    with engine.begin() as conn:
        conn.execute(sa.text(sql))
    engine.dispose()


def test_backup_then_restore_brings_back_the_demo_data(run, fresh_database_url, tmp_path):
    seeded = run("seed-demo", "--customers", "20", "--orders", "40")
    assert seeded.returncode == 0, seeded.stderr
    before = _counts(fresh_database_url)
    assert before["orders"] == 40 and before["customers"] == 20

    target = tmp_path / "nightly.backup"
    made = run("backup", str(target))
    assert made.returncode == 0, made.stderr
    assert target.is_file() and target.stat().st_size > 0
    assert not target.with_name(target.name + ".partial").exists()

    # Damage after the backup: rows lost and rows added; the restore must undo both.
    _execute(fresh_database_url, "DELETE FROM reviews")
    _execute(fresh_database_url, "DELETE FROM followups")
    assert run("create-user", "late-comer", "--password", "late-comer-pw").returncode == 0
    assert _counts(fresh_database_url) != before

    refused = run("restore", str(target))
    assert refused.returncode != 0 and "--yes" in refused.stdout + refused.stderr
    restored = run("restore", str(target), "--yes")
    assert restored.returncode == 0, restored.stderr
    assert _counts(fresh_database_url) == before
    # The restored database is a working one: migrations see it current, and it takes new writes.
    assert run("migrate").returncode == 0
    assert run("create-user", "after-restore", "--password", "after-restore-pw").returncode == 0


def test_backup_refuses_to_overwrite_and_restore_refuses_foreign_files(run, tmp_path):
    target = tmp_path / "one.backup"
    assert run("backup", str(target)).returncode == 0
    again = run("backup", str(target))
    assert again.returncode != 0 and "already exists" in again.stderr
    assert run("backup", str(target), "--overwrite").returncode == 0

    junk = tmp_path / "notes.txt"
    junk.write_text("not a database")
    for path, message in ((junk, "not a Huitou backup"), (tmp_path / "missing.backup", "no backup file")):
        result = run("restore", str(path), "--yes")
        assert result.returncode != 0
        assert message in " ".join((result.stdout + result.stderr).split())
        assert "Traceback" not in result.stderr
