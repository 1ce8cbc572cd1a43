"""`huitou backup` and `huitou restore`: a consistent copy of the whole database, and back.

SQLite uses the online backup API (a consistent snapshot while the server keeps writing); the
restore copies the snapshot back page by page through the same API, so open connections see
either the old database or the restored one. PostgreSQL uses pg_dump's custom format and
pg_restore (--clean --if-exists, one transaction), so a failed restore changes nothing.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message says what to do."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    engine: str
    size: int


def _sqlite_path(url: sa.URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("An in-memory SQLite database cannot be backed up or restored.")
    return Path(url.database)


def _libpq_url(url: sa.URL) -> str:
    """The URL pg_dump and pg_restore understand (no SQLAlchemy driver suffix)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} was not found. Install the PostgreSQL client tools (Debian: postgresql-client) "
            "of the same major version as the server."
        )
    return found


def _run(args: list[str], what: str) -> None:
    # The arguments are ours (tool path, our file names, the configured URL), never a shell string.
    result = subprocess.run(args, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise BackupError(f"{what} failed: {detail[-1] if detail else f'exit code {result.returncode}'}")


def backup(database_url: str, destination: Path, *, overwrite: bool = False) -> BackupResult:
    url = sa.make_url(database_url)
    if destination.exists() and not overwrite:
        raise BackupError(f"{destination} already exists; choose a new file or pass --overwrite.")
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    partial.unlink(missing_ok=True)
    if url.get_backend_name() == "sqlite":
        source_path = _sqlite_path(url)
        if not source_path.exists():
            raise BackupError(f"There is no database at {source_path}.")
        source = sqlite3.connect(source_path)
        target = sqlite3.connect(partial)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        engine = "sqlite"
    elif url.get_backend_name() == "postgresql":
        _run(
            [_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={partial}", _libpq_url(url)],
            "pg_dump",
        )
        engine = "postgresql"
    else:
        raise BackupError(f"Backups of {url.get_backend_name()} databases are not supported.")
    # Only a complete file takes the chosen name: a crash mid-backup leaves no half backup behind.
    partial.replace(destination)
    return BackupResult(path=destination, engine=engine, size=destination.stat().st_size)


def _kind_of(path: Path) -> str:
    with path.open("rb") as f:
        head = f.read(16)
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PGDUMP_MAGIC):
        return "postgresql"
    raise BackupError(f"{path} is not a Huitou backup (neither a SQLite file nor a pg_dump archive).")


def _check_sqlite_file(path: Path) -> None:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        status = conn.execute("PRAGMA integrity_check").fetchone()[0]
        has_schema = conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
        ).fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is damaged: {exc}") from exc
    finally:
        conn.close()
    if status != "ok":
        raise BackupError(f"{path} is damaged: {status}")
    if not has_schema:
        raise BackupError(f"{path} is a SQLite file but not a Huitou database (no alembic_version table).")


def restore(database_url: str, source: Path) -> str:
    """Replace the database's contents with the backup. Returns the engine name."""
    if not source.is_file():
        raise BackupError(f"There is no backup file at {source}.")
    url = sa.make_url(database_url)
    backend, kind = url.get_backend_name(), _kind_of(source)
    if backend != kind:
        raise BackupError(f"{source} is a {kind} backup; the configured database is {backend}.")
    if backend == "sqlite":
        _check_sqlite_file(source)
        target_path = _sqlite_path(url)
        target_path.parent.mkdir(parents=True, exist_ok=True)
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        dst = sqlite3.connect(target_path, timeout=30)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
    else:
        _run(
            [
                _tool("pg_restore"),
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                "--exit-on-error",
                f"--dbname={_libpq_url(url)}",
                str(source),
            ],
            "pg_restore",
        )
    return backend
