"""Who serves a database: each scoring worker has a heartbeat row, and its claims last as long as that row.

On SQLite one worker per database is the rule (one writer at a time is all SQLite offers): `acquire` refuses
while another live worker has a row, and runs in SQLite's `BEGIN IMMEDIATE` write transaction, so two
workers starting together cannot both pass the check. On PostgreSQL any number of workers (on any machines)
may run: each registers its own row, claims are `FOR UPDATE SKIP LOCKED`, and whoever notices a dead worker
(stale heartbeat, or a vanished pid on the same host) deletes its row and takes its items back
(`sweep`, run at start and from every worker's heartbeat thread).
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, field

from mira_core.errors import MiraError
from mira_core.scoring.endpoints import EndpointStatus, combine_statuses, parse_statuses
from mira_core.storage import Connection, Engine, is_sqlite, read_conn, workers_repo, write_tx
from mira_core.timeutil import utcnow

STALE_AFTER = 20.0
"""Seconds without a heartbeat after which a worker counts as dead (its items are taken back)."""


class WorkerBusy(MiraError):
    """Another live worker already serves this (SQLite) database."""


@dataclass
class WorkerState:
    """Whether a worker is alive, for the Scoring page (the freshest live worker's details)."""

    alive: bool
    pid: int | None = None
    host: str | None = None
    heartbeat_age: float | None = None
    count: int = 0
    """Live workers serving the database (more than one only on PostgreSQL)."""
    endpoints: list[EndpointStatus] = field(default_factory=list)
    """The scorer endpoints as the live workers see them now, one row per Base URL (empty when idle)."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _alive(row: dict, stale_after: float) -> bool:
    age = (utcnow() - row["heartbeat_at"]).total_seconds()
    if age > stale_after:
        return False
    return row["host"] != socket.gethostname() or _pid_alive(int(row["pid"]))


def worker_state(engine: Engine, *, stale_after: float = STALE_AFTER) -> WorkerState:
    """Whether a worker serves this database now (without one: the last worker's details, alive=False)."""
    with read_conn(engine) as conn:
        rows = workers_repo.worker_rows(conn)
    live = [r for r in rows if _alive(r, stale_after)]
    if not rows:
        return WorkerState(alive=False)
    shown = (live or rows)[0]
    age = (utcnow() - shown["heartbeat_at"]).total_seconds()
    endpoints = combine_statuses([parse_statuses(r.get("endpoints_json")) for r in live])
    return WorkerState(alive=bool(live), pid=shown["pid"], host=shown["host"], heartbeat_age=age, count=len(live),
                       endpoints=endpoints)


def _sweep(conn: Connection, stale_after: float) -> list[dict]:
    """Delete dead workers' rows and take back their items; returns the live rows."""
    rows = workers_repo.worker_rows(conn)
    live = [r for r in rows if _alive(r, stale_after)]
    workers_repo.delete_workers(conn, [r["token"] for r in rows if r not in live])
    workers_repo.reclaim_orphans(conn)
    return live


def sweep(engine: Engine, *, stale_after: float = STALE_AFTER) -> None:
    """Take back the items of workers that died (their leases expired)."""
    with write_tx(engine) as conn:
        _sweep(conn, stale_after)


def acquire(engine: Engine, *, stale_after: float = STALE_AFTER) -> str:
    """Register as a worker of this database and take back dead workers' items; returns the worker's token.

    Raises WorkerBusy on SQLite when another worker is alive.
    """
    token = uuid.uuid4().hex
    with write_tx(engine) as conn:
        live = _sweep(conn, stale_after)
        if live and is_sqlite(engine):
            raise WorkerBusy(f"a scoring worker is already running (pid {live[0]['pid']} on {live[0]['host']}); "
                             "stop it first or let it carry on (one worker per SQLite database)")
        workers_repo.register_worker(conn, token=token, pid=os.getpid(), host=socket.gethostname())
    return token


def release(engine: Engine, token: str) -> None:
    """Stop being a worker (a clean exit): our claimed items back to pending, our row gone."""
    with write_tx(engine) as conn:
        workers_repo.delete_workers(conn, [token])
        workers_repo.reclaim_orphans(conn)
