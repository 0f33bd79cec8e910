"""The worker's heartbeat in a thread of its own, so requests, probes and slow writes never delay it.

A worker that is busy (a probe hanging on an endpoint that accepts and never answers, a request near its
timeout) must still look alive, or a second worker would be started beside it. Every few beats the thread
also sweeps dead workers' leases (`worker_lock.sweep`), so on PostgreSQL the items of a worker that died
are taken back by the others without anyone restarting.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence

from mira_core.errors import MiraError
from mira_core.scoring.endpoints import EndpointStatus
from mira_core.scoring.worker_lock import STALE_AFTER, sweep
from mira_core.storage import Engine, workers_repo, write_tx

logger = logging.getLogger(__name__)


class HeartbeatThread(threading.Thread):
    """Beats every `every` seconds until `stop()`; calls `on_lost` once if the worker's row disappeared."""

    def __init__(self, engine: Engine, token: str, *, every: float, on_lost: Callable[[], None],
                 stale_after: float = STALE_AFTER, status: Callable[[], Sequence[EndpointStatus]] = list):
        """`on_lost` is called (from this thread) when another worker took this one for dead.

        `status` gives the endpoints' latest snapshot (a list the worker replaces, never changes in place),
        stored with each beat.
        """
        super().__init__(name="mira-heartbeat", daemon=True)
        self.engine, self.token, self.every, self.on_lost = engine, token, every, on_lost
        self.status = status
        self.stale_after = stale_after
        self._stop_event = threading.Event()
        self.beats = 0

    def stop(self) -> None:
        """End the thread (it finishes its current beat)."""
        self._stop_event.set()

    def run(self) -> None:
        """Beat, and sweep dead workers about twice per stale period."""
        sweep_every = max(1, int(self.stale_after / 2 / max(self.every, 1e-3)))
        while not self._stop_event.wait(self.every):
            try:
                endpoints = json.dumps([s.model_dump() for s in self.status()])
                with write_tx(self.engine) as conn:
                    alive = workers_repo.heartbeat(conn, self.token, endpoints_json=endpoints)
                if not alive:
                    self.on_lost()
                    return
                self.beats += 1
                if self.beats % sweep_every == 0:
                    sweep(self.engine, stale_after=self.stale_after)
            except MiraError as exc:  # a busy database: the next beat tries again
                logger.warning("heartbeat: %s", exc)
