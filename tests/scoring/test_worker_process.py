"""How worker processes are started: the app's own worker runs below the app's priority."""

from __future__ import annotations

import os
import signal
import time

import pytest

from mira_core.scoring.worker_process import APP_WORKER_NICENESS, lower_priority, spawn_worker


def _niceness(pid: int) -> int | None:
    try:
        return os.getpriority(os.PRIO_PROCESS, pid)
    except ProcessLookupError:
        return None


def test_a_worker_the_app_starts_runs_niced(sqlite_engine):
    expected = min(os.nice(0) + APP_WORKER_NICENESS, 19)
    pid = spawn_worker(str(sqlite_engine.url), idle_exit=60)
    try:
        seen = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            seen = _niceness(pid)
            if seen is None or seen == expected:
                break
            time.sleep(0.1)
        assert seen == expected
    finally:
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            try:
                if os.waitpid(pid, os.WNOHANG)[0]:
                    break
            except ChildProcessError:
                break
            time.sleep(0.1)


def test_lowering_the_priority_never_raises_it():
    with pytest.raises(ValueError, match="-1"):
        lower_priority(-1)
    assert lower_priority(0) == os.nice(0)  # 0 leaves the process as it is
