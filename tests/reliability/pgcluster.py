"""A private PostgreSQL cluster for one test: initdb into a temporary directory, a free TCP port
and a socket directory of its own, so it can be stopped and started without touching the shared
server other tests use. Runs as the `postgres` OS user when the tests run as root."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.live import free_port


def server_binaries() -> Path | None:
    """The directory holding initdb and pg_ctl (Debian keeps them out of PATH), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path and shutil.which("initdb") else None


class Cluster:
    def __init__(self, bin_dir: Path, root: Path) -> None:
        self.bin_dir = bin_dir
        self.data = root / "data"
        self.sockets = root / "sockets"
        self.log_path = root / "postgres.log"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/huitou"

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(self.bin_dir / tool), *args]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if check and done.returncode != 0:
            log = self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""
            pytest.fail(f"{tool} {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}\n{log}")
        return done

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log_path), "-o", options, "-w", "start")

    def stop(self) -> None:
        """`-m fast`: open sessions are disconnected, running transactions rolled back."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def create_database(self) -> None:
        self._run("createdb", "-h", str(self.sockets), "-p", str(self.port), "-U", "postgres", "huitou")

    def halt(self) -> None:
        """Clean-up: stop at once if still running, whatever state the test left it in."""
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)


@contextmanager
def private_cluster() -> Iterator[Cluster]:
    """A started cluster with an empty `huitou` database; stopped and deleted afterwards."""
    bin_dir = server_binaries()
    if bin_dir is None:
        reason = "the PostgreSQL server binaries (initdb, pg_ctl) are not installed"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI must have them")
        pytest.skip(reason)
    root = Path(tempfile.mkdtemp(prefix="huitou-pg-"))  # short: socket paths are limited to 107 bytes
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(root, owner.pw_uid, owner.pw_gid)
    cluster = Cluster(bin_dir, root)
    try:
        cluster.init()
        cluster.sockets.mkdir()
        if os.geteuid() == 0:
            os.chown(cluster.sockets, owner.pw_uid, owner.pw_gid)
        cluster.start()
        cluster.create_database()
        yield cluster
    finally:
        cluster.halt()
        shutil.rmtree(root, ignore_errors=True)
