"""A PostgreSQL 15 server for a benchmark run, as `tests/support/with_postgres.sh` starts one for the tests.

The server process lives only for the run; its data folder may be kept in the benchmark's work folder so a
232K-record store is built once and reused (the server refuses to run as root, so then it runs as the
`postgres` user, and the folder is handed to that user).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from mira_core.bench.processes import free_port
from mira_core.errors import MiraError

PGBIN = Path("/usr/lib/postgresql/15/bin")


class PgServer(NamedTuple):
    """A running server: its SQLAlchemy URL and the postmaster's process id (its backends are children)."""

    url: str
    pid: int


def _as_pg(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _run(cmd: list[str]) -> None:
    done = subprocess.run(_as_pg(cmd), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise MiraError(f"{Path(cmd[0]).name} failed: {(done.stderr or done.stdout).strip()[-1500:]}")


@contextmanager
def postgres_server(folder: Path) -> Iterator[PgServer]:
    """A server on `folder/db` (initdb when new) on a free loopback port, stopped (fast) when the block ends.

    `fsync=off` as in the tests: the store is rebuilt if the machine crashes; what is measured is the app.
    """
    if not (PGBIN / "pg_ctl").exists():
        raise MiraError(f"PostgreSQL 15 not found in {PGBIN}: apt-get install postgresql-15 (or pass --backend sqlite)")
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    data = folder / "db"
    if not (data / "PG_VERSION").exists():
        _run([str(PGBIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"])
    port = free_port()
    opts = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    _run([str(PGBIN / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-w", "-o", opts, "start"])
    try:
        pid = int((data / "postmaster.pid").read_text().split()[0])
        yield PgServer(f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", pid)
    finally:
        _run([str(PGBIN / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"])
