"""One scoring worker per database: the `scoring_workers` heartbeat row says who it is.

A new worker takes over when the heartbeat is stale or the holder's pid is gone (same host), and then puts
every `running` item back to `pending` (only a dead worker can have left them).
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass

from mira_core.errors import MiraError
from mira_core.storage import Engine, read_conn, scores_repo, write_tx

STALE_AFTER = 20.0
"""Seconds without a heartbeat after which a worker counts as dead."""


class WorkerBusy(MiraError):
    """Another live worker already serves this database."""


@dataclass
class WorkerState:
    """Whether a worker is alive, for the Scoring page."""

    alive: bool
    pid: int | None = None
    host: str | None = None
    heartbeat_age: float | None = None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _holder_alive(row: dict | None, stale_after: float) -> bool:
    if row is None:
        return False
    age = (scores_repo.utcnow() - row["heartbeat_at"]).total_seconds()
    if age > stale_after:
        return False
    return row["host"] != socket.gethostname() or _pid_alive(int(row["pid"]))


def worker_state(engine: Engine, *, stale_after: float = STALE_AFTER) -> WorkerState:
    """Is a worker serving this database right now?"""
    with read_conn(engine) as conn:
        row = scores_repo.worker_row(conn)
    if row is None:
        return WorkerState(alive=False)
    age = (scores_repo.utcnow() - row["heartbeat_at"]).total_seconds()
    return WorkerState(alive=_holder_alive(row, stale_after), pid=row["pid"], host=row["host"], heartbeat_age=age)


def acquire(engine: Engine, *, stale_after: float = STALE_AFTER) -> str:
    """Become the worker of this database (reset orphaned items); raises WorkerBusy if one is alive."""
    token = uuid.uuid4().hex
    with write_tx(engine) as conn:
        row = scores_repo.worker_row(conn)
        if _holder_alive(row, stale_after):
            assert row is not None
            raise WorkerBusy(f"a scoring worker is already running (pid {row['pid']} on {row['host']}); "
                             "stop it first or let it carry on")
        scores_repo.take_worker_lock(conn, token=token, pid=os.getpid(), host=socket.gethostname())
        scores_repo.reset_running(conn)
    return token


def release(engine: Engine, token: str) -> None:
    """Stop being the worker (a clean exit): our claimed items back to pending, the next worker starts at once."""
    with write_tx(engine) as conn:
        scores_repo.reset_running(conn, token=token)
        scores_repo.release_worker_lock(conn, token)
