"""The scoring job that runs under `bench load`: SIMULATED scorer and worker processes, and its progress.

The job covers the whole store and is frozen at start; when it is finished a new one is started, so the
worker never runs dry during a long run. Progress is sampled every `every` seconds from the database (items
no longer pending or running), so a rate can be read for any window, and the slowest stretch of it too.
"""

from __future__ import annotations

import bisect
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from mira_core.bench.browser_corpus import BENCH_ACTOR
from mira_core.bench.processes import stop
from mira_core.bench.scoring import _start_simulator
from mira_core.query import RecordFilter
from mira_core.scoring import jobs
from mira_core.scoring.settings import ScorerSettings
from mira_core.storage import Engine


class ScoringLoad:
    """Simulator + worker + a job kept open; `finished(t)` is the number of items settled by time `t`."""

    def __init__(self, engine: Engine, url: str, log: Path, *, latency: float, concurrency: int, every: float = 1.0,
                 worker_nice: int = 0, simulator_nice: int = 0):
        self.engine, self.every = engine, every
        self.simulator, base = _start_simulator(latency, concurrency, simulator_nice)
        self.settings = ScorerSettings(base_url=base, concurrency=concurrency, request_timeout=60)
        self.job_ids: list[str] = [self._new_job()]
        env = {**os.environ, "MIRA_DATABASE_URL": url, "MIRA_SCORER_BASE_URL": base, "MIRA_WORKER_AUTOSTART": "0"}
        self._log = open(log, "wb")  # noqa: SIM115 - closed in close()
        self.worker = subprocess.Popen([sys.executable, "-m", "mira_core.cli", "worker", "--poll", "0.2",
                                        "--nice", str(worker_nice)], env=env,
                                       stdout=self._log, stderr=subprocess.STDOUT)
        self.times: list[float] = []
        self.counts: list[int] = []
        self.failed = 0
        self._settled_before = 0  # items of finished jobs
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _new_job(self) -> str:
        return jobs.start_job(self.engine, self.settings, actor=BENCH_ACTOR, record_filter=RecordFilter(),
                              label="bench load (SIMULATED scorer)")

    def _sample(self) -> None:
        while not self._stop.wait(self.every):
            prog = jobs.job_progress(self.engine, self.job_ids[-1])
            settled = prog.total - prog.remaining
            self.times.append(time.monotonic())
            self.counts.append(self._settled_before + settled)
            if prog.remaining == 0:
                self.failed += prog.failed
                self._settled_before += settled
                self.job_ids.append(self._new_job())

    def finished(self, t: float) -> int:
        """Items settled at the last sample taken at or before monotonic time `t`."""
        i = bisect.bisect_right(self.times, t) - 1
        return self.counts[i] if i >= 0 else 0

    def rate(self, t0: float, t1: float) -> float:
        """Items per second between two monotonic times (sample resolution)."""
        return (self.finished(t1) - self.finished(t0)) / max(t1 - t0, 1e-9)

    def slowest(self, t0: float, t1: float, window: float = 10.0) -> float:
        """The lowest rate over any `window` seconds between t0 and t1 (0 means it stalled)."""
        starts = [t for t in self.times if t0 <= t <= t1 - window]
        return min((self.rate(t, t + window) for t in starts), default=self.rate(t0, t1))

    def wait_running(self, timeout: float = 120.0) -> None:
        """Until the worker has settled a first item (start-up is not throughput)."""
        deadline = time.monotonic() + timeout
        while not self.counts or self.counts[-1] == 0:
            if time.monotonic() > deadline or self.worker.poll() is not None:
                raise RuntimeError(f"the scoring worker settled nothing in {timeout:.0f} s (see {self._log.name})")
            time.sleep(0.2)

    def close(self) -> None:
        """Cancel the open job, stop the sampler, the worker and the simulator."""
        self._stop.set()
        self._thread.join()
        jobs.cancel_job(self.engine, self.job_ids[-1], actor=BENCH_ACTOR)
        stop(self.worker)
        stop(self.simulator)
        self._log.close()
