"""Worker processes: run one here with SIGTERM/SIGINT as a graceful stop, or start one detached for the app.

A detached worker runs `python -m mira_core.scoring.worker_main` (the worker without the whole CLI) and
writes its log to one file per database, so it outlives a Streamlit rerun or a closed tab.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from mira_core.scoring.worker import Worker, WorkerOptions
from mira_core.scoring.worker_lock import worker_state
from mira_core.settings import Settings
from mira_core.storage import Engine, jobs_repo, read_conn

ENTRY_MODULE = "mira_core.scoring.worker_main"
APP_WORKER_NICENESS = 10
"""The niceness of a worker the app starts: it shares the app's machine, and a curator's click should not wait
behind its parsing and commits. In `bench load` (browsers on the same box) it made no difference beyond noise;
it matters where the worker, not ten browsers, is what competes with the app."""


def lower_priority(increment: int) -> int:
    """Raise this process's niceness by `increment` (0: unchanged); returns the niceness now.

    Scoring is background work measured in days; the pages a curator is waiting on are not.
    """
    if increment < 0:
        raise ValueError(f"niceness increment must be 0 or more, not {increment}")
    return os.nice(increment)


def run_worker(engine: Engine, settings: Settings, options: WorkerOptions | None = None) -> int:
    """Run a worker in this process with SIGTERM/SIGINT handled as a graceful stop; returns its job runs."""
    worker = Worker(engine, settings, options)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda _signum, _frame: worker.stop())
    return worker.run()


def worker_log_path(database_url: str) -> Path:
    """Where an app-started worker writes its output (one file per database)."""
    tag = hashlib.sha1(database_url.encode()).hexdigest()[:10]
    return Path(tempfile.gettempdir()) / f"mira-worker-{tag}.log"


def spawn_worker(database_url: str, *, idle_exit: float = 600.0, nice: int = APP_WORKER_NICENESS) -> int:
    """Start a worker detached (it outlives the page that asked for it), `nice` steps below the app; its pid."""
    log = worker_log_path(database_url).open("ab")
    env = {**os.environ, "MIRA_DATABASE_URL": database_url}
    proc = subprocess.Popen(
        [sys.executable, "-m", ENTRY_MODULE, "--idle-exit", str(idle_exit), "--nice", str(nice)],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=True,
    )
    log.close()
    return proc.pid


def ensure_worker(engine: Engine, database_url: str) -> int | None:
    """Start a worker unless one is alive; returns the new pid (a second one would exit with WorkerBusy)."""
    if worker_state(engine).alive:
        return None
    return spawn_worker(database_url)


def worker_for_open_jobs(engine: Engine, database_url: str) -> int | None:
    """Start a worker when a job is queued, running or paused for an outage and none is alive; the new pid.

    The Scoring page (with autostart on) and every `jobs`/`job` CLI call use this, so runnable work is never
    left without a worker for longer than it takes someone to look.
    """
    with read_conn(engine) as conn:
        if not jobs_repo.has_open_jobs(conn):
            return None
    return ensure_worker(engine, database_url)
