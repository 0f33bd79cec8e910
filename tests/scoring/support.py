"""Helpers the scoring tests share: a worker in a thread, waiting for a condition, worker subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from mira_core.scoring.worker import Worker, WorkerOptions
from mira_core.settings import Settings

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def wait_for(cond: Callable[[], object], timeout: float = 30.0, every: float = 0.02) -> None:
    """Poll `cond` until true; fail after `timeout` (a bound for a hung test, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(every)


def fast_options(**kw: object) -> WorkerOptions:
    """Worker options with test-sized timings."""
    base: dict = {"idle_exit": None, "poll": 0.01, "control_every": 0.05, "heartbeat_every": 0.1}
    return WorkerOptions(**{**base, **kw})


class WorkerThread(threading.Thread):
    """A worker running in this process (stopped with `worker.stop()`)."""

    def __init__(self, engine, options: WorkerOptions, barrier: threading.Barrier | None = None):
        super().__init__(daemon=True)
        self.worker = Worker(engine, Settings(), options)
        self.error: BaseException | None = None
        self.runs = 0
        self.barrier = barrier
        """Wait here before starting, so several workers start at the same instant."""

    def run(self) -> None:
        if self.barrier is not None:
            self.barrier.wait()
        try:
            self.runs = self.worker.run()
        except BaseException as exc:  # reported by the test
            self.error = exc


@contextmanager
def running_worker(engine, **kw: object) -> Iterator[WorkerThread]:
    """A worker thread for the duration of the block; stopped and joined at the end."""
    t = WorkerThread(engine, fast_options(**kw))
    t.start()
    try:
        yield t
    finally:
        t.worker.stop()
        t.join(timeout=30)
        assert not t.is_alive(), "worker did not stop"
        if t.error is not None:
            raise t.error


def db_url(engine) -> str:
    """The engine's URL with its password (a subprocess needs it)."""
    return engine.url.render_as_string(hide_password=False)


def worker_process(engine, *args: str) -> subprocess.Popen:
    """`python -m mira_core.scoring.worker_main ARGS` against the engine's database."""
    env = {**os.environ, "MIRA_DATABASE_URL": db_url(engine)}
    cmd = [sys.executable, "-m", "mira_core.scoring.worker_main", *args]
    return subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
