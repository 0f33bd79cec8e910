"""The scoring worker's loop: a process outside Streamlit that runs queued jobs until told to stop.

It holds the database's worker lock (`worker_lock`) and keeps its heartbeat fresh, picks the oldest
runnable job, and keeps a bounded number of its items in flight (each scored by `job_run.JobRun`),
checking the job's status (pause/cancel from a page) as it goes.

The API key goes only to a trusted Base URL (`endpoint_trust`). The trusted URL is read at each job start
(`load_scorer_settings()`: the admin-saved config file, or `MIRA_SCORER_BASE_URL`), so an admin's change of
the settings counts from the next job run without restarting the worker.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta

from mira_core.errors import MiraError
from mira_core.scoring.client import ScorerClient, TokenCounter
from mira_core.scoring.endpoint_trust import job_endpoint_trust, withheld_note
from mira_core.scoring.job_run import JobRun
from mira_core.scoring.jobs import Job, job_settings
from mira_core.scoring.prompt import PromptBuilder
from mira_core.scoring.prompt_template import load_template
from mira_core.scoring.rubric import load_calibration, load_rubric
from mira_core.scoring.settings import load_scorer_settings
from mira_core.scoring.worker_lock import acquire, release
from mira_core.settings import Settings
from mira_core.storage import Engine, read_conn, scores_repo, write_tx


@dataclass
class WorkerOptions:
    """How the worker loop behaves."""

    poll: float = 1.0
    """Seconds between looks for work when idle."""
    heartbeat_every: float = 2.0
    idle_exit: float | None = None
    """Exit after this many idle seconds (None: run until stopped)."""
    control_every: float = 0.5
    """Seconds between checks of the job's status (pause/cancel from the UI)."""
    api_key: str = field(default="", repr=False)
    """The endpoint's key, read once by the process that starts the worker (never stored or logged)."""
    trusted_base_url: str | None = None
    """The Base URL that may receive the key; None: `load_scorer_settings().base_url`, read at each job start."""


class Worker:
    """The loop: heartbeat, pick the oldest runnable job, run it, repeat."""

    def __init__(self, engine: Engine, settings: Settings, options: WorkerOptions | None = None):
        """`settings` says where the anchors and calibration files are (read at each job start)."""
        self.engine = engine
        self.settings = settings
        self.options = options or WorkerOptions()
        self.token: str | None = None
        self.stopping = False
        self.lost_lock = False
        self._last_beat = 0.0
        self._read_lock = threading.Lock()

    def stop(self) -> None:
        """Finish in-flight calls, then exit (`worker_process.run_worker` calls it on SIGTERM/SIGINT)."""
        self.stopping = True

    def beat(self, force: bool = False) -> None:
        """Refresh the heartbeat; notice when another worker took over."""
        now = time.monotonic()
        if not force and now - self._last_beat < self.options.heartbeat_every:
            return
        self._last_beat = now
        assert self.token is not None
        with write_tx(self.engine) as conn:
            if not scores_repo.heartbeat(conn, self.token):
                self.lost_lock = True
                self.stopping = True

    def run(self) -> int:
        """Serve jobs until stopped (or idle for `idle_exit`); returns how many job runs happened."""
        self.token = acquire(self.engine)
        runs, idle_since = 0, time.monotonic()
        try:
            while not self.stopping:
                self.beat()
                job = self._next_job()
                if job is None:
                    outcome = "idle"
                else:
                    outcome = self._serve(job)
                    runs += 1
                if outcome in ("idle", "endpoint_down"):  # waiting for an endpoint is idle time, not work
                    if self.options.idle_exit is not None and time.monotonic() - idle_since > self.options.idle_exit:
                        break
                    time.sleep(self.options.poll)
                else:
                    idle_since = time.monotonic()
        finally:
            if not self.lost_lock:
                release(self.engine, self.token)
        return runs

    def _next_job(self) -> Job | None:
        with read_conn(self.engine) as conn:
            row = scores_repo.next_runnable_job(conn, scores_repo.utcnow())
        return None if row is None else Job.from_row(row)

    def _serve(self, job: Job) -> str:
        """Run one job; a MiraError (e.g. an invalid rubric file) pauses it until a curator looks."""
        try:
            return asyncio.run(self.run_job(job))
        except MiraError as exc:
            with write_tx(self.engine) as conn:
                scores_repo.set_job_status(conn, job.job_id, "paused", pause_reason="error", event=f"paused: {exc}")
            return "error"

    def key_for(self, job: Job) -> tuple[str, str]:
        """(the key to send for this job, a note for its events): no key for a Base URL nobody trusted."""
        key = self.options.api_key
        if not key:
            return "", ""
        trusted_url = self.options.trusted_base_url or load_scorer_settings().base_url
        trust = job_endpoint_trust(job.settings_json, trusted_url)
        return (key, "") if trust.trusted else ("", "; " + withheld_note(trust.base_url, trusted_url))

    async def run_job(self, job: Job) -> str:
        """Run one job until it is finished, paused, cancelled or the endpoint goes down."""
        key, note = self.key_for(job)
        settings = job_settings(job, key)
        client = ScorerClient(settings)
        try:
            info = await client.probe()
            if info is None:
                self._pause_down(job.job_id, settings.pause_seconds, "endpoint did not answer /v1/models" + note)
                return "endpoint_down"
            mml = min(settings.max_model_len, info.max_model_len or settings.max_model_len)
            prompts = PromptBuilder(load_rubric(self.settings.anchors_path),
                                    load_calibration(self.settings.calibration_path),
                                    max_model_len=mml, max_tokens=settings.max_tokens,
                                    count_tokens=TokenCounter(settings),
                                    template=load_template(self.settings.prompt_template))
            assert self.token is not None
            run = JobRun(self.engine, job, self.token, client, prompts, self._read_lock, note=note)
            with write_tx(self.engine) as conn:
                scores_repo.set_job_status(conn, job.job_id, "running",
                                           from_statuses=("queued", "running", "paused"),
                                           event=f"running against {info.id}{note}")
            return await self._drive(run)
        finally:
            await client.aclose()

    async def _drive(self, run: JobRun) -> str:
        job_id, settings = run.job.job_id, run.client.settings
        limit = settings.concurrency + max(4, settings.concurrency // 4)  # a few prompts ready ahead
        in_flight: set[asyncio.Task[None]] = set()
        claiming, last_control, status = True, 0.0, "running"
        while True:
            now = time.monotonic()
            if now - last_control >= self.options.control_every:
                last_control = now
                status = await asyncio.to_thread(self._control, job_id)
                claiming = claiming and status == "running" and not self.stopping
            if run.client.down or run.endpoint_down:
                run.endpoint_down, claiming = True, False
            free = limit - len(in_flight)
            if claiming and free >= max(1, min(limit // 8, 16)):
                claimed = await asyncio.to_thread(run.claim, free)
                if not claimed and not in_flight:
                    break
                in_flight.update(asyncio.create_task(run.score(rid, att)) for rid, att in claimed)
            if not in_flight:
                if not claiming:
                    break
                continue
            done, _ = await asyncio.wait(in_flight, timeout=0.25, return_when=asyncio.FIRST_COMPLETED)
            in_flight -= done
            for t in done:
                t.result()  # surface programming errors instead of losing them
        return await asyncio.to_thread(self._finish_run, run, status)

    def _control(self, job_id: str) -> str:
        self.beat()
        with read_conn(self.engine) as conn:
            job = scores_repo.get_job(conn, job_id)
        return "cancelled" if job is None else str(job["status"])

    def _pause_down(self, job_id: str, seconds: float, why: str) -> None:
        with write_tx(self.engine) as conn:
            scores_repo.set_job_status(
                conn, job_id, "paused", from_statuses=("queued", "running", "paused"), pause_reason="endpoint_down",
                resume_after=scores_repo.utcnow() + timedelta(seconds=seconds),
                event=f"endpoint down ({why}); retrying in {seconds:g} s")

    def _finish_run(self, run: JobRun, status: str) -> str:
        job_id = run.job.job_id
        with write_tx(self.engine) as conn:
            scores_repo.reset_running(conn, job_id=job_id, token=run.token)
        if run.endpoint_down:
            self._pause_down(job_id, run.client.settings.pause_seconds,
                             ("; ".join(run.errors[-1:]) or "no answer") + run.note)
            return "endpoint_down"
        with write_tx(self.engine) as conn:
            counts = scores_repo.item_counts(conn, job_id)
            if status == "running" and counts["pending"] == 0 and counts["running"] == 0:
                scores_repo.set_job_status(conn, job_id, "done", from_statuses=("running",),
                                           event="finished" + run.note)
                return "done"
        return status
