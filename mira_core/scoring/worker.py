"""The scoring worker's loop: a process outside Streamlit that runs queued jobs until told to stop.

It registers as a worker of the database (`worker_lock`), keeps its heartbeat fresh from a thread of its
own (`worker_heartbeat`), picks the oldest runnable job, and keeps a bounded number of its items in flight
(each scored by `job_run.JobRun`), checking the job's status (pause/cancel from a page) as it goes.

It keeps going through endpoint outages: a job whose endpoint stopped answering is paused and probed again
after a wait that doubles up to `pause_max`, and the worker exits on idle only when no job is queued,
running or paused for an outage. On SIGTERM it stops claiming, gives in-flight calls `stop_grace` seconds,
hands the rest back and puts its job back to `queued`.

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
from mira_core.scoring.endpoint_trust import keyed_settings, withheld_note
from mira_core.scoring.endpoints import EndpointStatus
from mira_core.scoring.job_run import JobRun
from mira_core.scoring.jobs import Job, job_settings
from mira_core.scoring.prompt import PromptBuilder
from mira_core.scoring.prompt_template import load_template
from mira_core.scoring.rubric import load_calibration, load_rubric
from mira_core.scoring.settings import ScorerSettings, load_scorer_settings
from mira_core.scoring.worker_heartbeat import HeartbeatThread
from mira_core.scoring.worker_lock import STALE_AFTER, acquire, release
from mira_core.settings import Settings
from mira_core.storage import Engine, jobs_repo, read_conn, scores_repo, write_tx

RECORD_READ_LOCK = threading.Lock()
"""records_repo shares one zstd decompressor per process, which is not thread-safe: one reader at a time."""


@dataclass
class WorkerOptions:
    """How the worker loop behaves."""

    poll: float = 1.0
    """Seconds between looks for work when idle."""
    heartbeat_every: float = 2.0
    idle_exit: float | None = None
    """Exit after this many idle seconds with no open job (None: run until stopped)."""
    control_every: float = 0.5
    """Seconds between checks of the job's status (pause/cancel from the UI)."""
    stop_grace: float = 5.0
    """After a stop request, seconds in-flight calls get to finish; the rest are handed back unfinished."""
    stale_after: float = STALE_AFTER
    """Seconds without a heartbeat after which another worker counts as dead."""
    small_job_max: int = 100
    """Jobs of at most this many items ("Score this record") run ahead of bulk jobs, which yield their slots."""
    bulk_slice: float = 30.0
    """Seconds a bulk job runs before it yields to another runnable bulk job (they take turns)."""
    api_key: str = field(default="", repr=False)
    """The endpoint's key, read once by the process that starts the worker (never stored or logged)."""
    trusted_base_url: str | None = None
    """The Base URL that may receive the key; None: `load_scorer_settings().endpoints`, read at each job start."""


class Worker:
    """The loop: pick the oldest runnable job, run it, repeat (the heartbeat beats in its own thread)."""

    def __init__(self, engine: Engine, settings: Settings, options: WorkerOptions | None = None):
        """`settings` says where the anchors and calibration files are (read at each job start)."""
        self.engine = engine
        self.settings = settings
        self.options = options or WorkerOptions()
        self.token: str | None = None
        self.lost_lock = False
        self._stop = threading.Event()
        self.endpoint_status: list[EndpointStatus] = []
        """The current job run's endpoints, refreshed at each control tick (the heartbeat thread stores it)."""
        self._downs: dict[str, int] = {}
        """Endpoint-down pauses in a row per job (the wait before the next probe doubles with each)."""
        self._outage: Outage | None = None
        """The endpoints of the job last paused for an outage, shown until a job runs or that pause ends."""

    @property
    def stopping(self) -> bool:
        """A stop was asked for (signal, or another worker took this one for dead)."""
        return self._stop.is_set()

    def stop(self) -> None:
        """Stop claiming, let in-flight calls finish (up to `stop_grace`), then exit (SIGTERM/SIGINT call it)."""
        self._stop.set()

    def _lost(self) -> None:
        self.lost_lock = True
        self._stop.set()

    def run(self) -> int:
        """Serve jobs until stopped (or idle for `idle_exit` with no open job); returns how many job runs happened."""
        opts = self.options
        self.token = acquire(self.engine, stale_after=opts.stale_after)
        beat = HeartbeatThread(self.engine, self.token, every=opts.heartbeat_every, on_lost=self._lost,
                               stale_after=opts.stale_after, status=self.shown_status)
        beat.start()
        runs, idle_since = 0, time.monotonic()
        try:
            while not self.stopping:
                job = self._next_job()
                outcome = "idle" if job is None else self._serve(job)
                runs += job is not None
                if outcome in ("idle", "endpoint_down"):  # waiting for an endpoint is idle time, not work
                    self._forget_outage_if_over()
                    if self._may_exit(idle_since):
                        break
                    self._stop.wait(opts.poll)
                else:
                    idle_since = time.monotonic()
        finally:
            beat.stop()
            beat.join(timeout=opts.heartbeat_every + 5)
            if not self.lost_lock:
                release(self.engine, self.token)
        return runs

    def shown_status(self) -> list[EndpointStatus]:
        """What the heartbeat stores: the running job's endpoints, else those of a job waiting out an outage."""
        outage = self._outage
        return outage.statuses(time.monotonic()) if outage is not None and not self.endpoint_status \
            else self.endpoint_status

    def _forget_outage_if_over(self) -> None:
        """Stop showing an outage once its job is no longer paused for it (resumed, cancelled, deleted)."""
        outage = self._outage
        if outage is None:
            return
        with read_conn(self.engine) as conn:
            row = jobs_repo.get_job(conn, outage.job_id)
        if row is None or row["status"] != "paused" or row.get("pause_reason") != "endpoint_down":
            self._outage = None

    def _may_exit(self, idle_since: float) -> bool:
        """Idle long enough, and nothing queued, running or paused for an outage (else keep probing)."""
        idle_exit = self.options.idle_exit
        if idle_exit is None or time.monotonic() - idle_since < idle_exit:
            return False
        with read_conn(self.engine) as conn:
            return not jobs_repo.has_open_jobs(conn)

    def _next_job(self) -> Job | None:
        with read_conn(self.engine) as conn:
            row = jobs_repo.next_runnable_job(conn, scores_repo.utcnow(), small_max=self.options.small_job_max)
        return None if row is None else Job.from_row(row)

    def _serve(self, job: Job) -> str:
        """Run one job (see `_serve_async`)."""
        return asyncio.run(self._serve_async(job))

    async def _serve_async(self, job: Job) -> str:
        """Run one job; a MiraError (e.g. an invalid rubric file) pauses it until a curator looks."""
        try:
            return await self.run_job(job)
        except MiraError as exc:
            with write_tx(self.engine) as conn:
                jobs_repo.set_job_status(conn, job.job_id, "paused", pause_reason="error", event=f"paused: {exc}")
            return "error"

    def keys_for(self, job: Job, settings: ScorerSettings) -> tuple[ScorerSettings, dict[str, str] | None, str]:
        """(the job's settings keyed for its base_url, the key per endpoint, a note for its events).

        No key goes to a Base URL nobody trusted; without an operator key there is nothing to withhold (None).
        """
        key = self.options.api_key
        if not key:
            return settings, None, ""
        trusted = ([self.options.trusted_base_url] if self.options.trusted_base_url
                   else load_scorer_settings().endpoints)
        keyed, keys, trust = keyed_settings(settings, job.settings_json, trusted, key)
        return keyed, keys, "" if trust.trusted else "; " + withheld_note(trust.withheld, trusted)

    async def run_job(self, job: Job) -> str:
        """Run one job until it is finished, paused, cancelled, stopped or every endpoint is down."""
        settings, keys, note = self.keys_for(job, job_settings(job, ""))
        client = ScorerClient(settings, keys=keys)
        try:
            info = await client.probe()
            if info is None:
                self._pause_down(job.job_id, settings, "no endpoint answered /v1/models" + note, client.pool.status())
                return "endpoint_down"
            self._downs.pop(job.job_id, None)
            self._outage = None
            mml = min(settings.max_model_len, info.max_model_len or settings.max_model_len)
            prompts = PromptBuilder(load_rubric(self.settings.anchors_path),
                                    load_calibration(self.settings.calibration_path),
                                    max_model_len=mml, max_tokens=settings.max_tokens,
                                    count_tokens=TokenCounter(settings),
                                    template=load_template(self.settings.prompt_template))
            assert self.token is not None
            run = JobRun(self.engine, job, self.token, client, prompts, RECORD_READ_LOCK, note=note)
            up = [s.url for s in client.pool.status() if s.state != "down"]
            with write_tx(self.engine) as conn:
                jobs_repo.set_job_status(conn, job.job_id, "running",
                                           from_statuses=("queued", "running", "paused"),
                                           event=f"running against {info.id} at {', '.join(up)}{note}")
            return await self._drive(run)
        finally:
            self.endpoint_status = []
            await client.aclose()

    async def _drive(self, run: JobRun) -> str:
        ceiling = run.client.ceiling
        limit = ceiling + max(4, ceiling // 4)  # a few prompts ready ahead
        in_flight: set[asyncio.Task[None]] = set()
        claiming, last_control, status, give_up_at, started = True, 0.0, "running", None, time.monotonic()
        small: asyncio.Task[str] | None = None
        while True:
            now = time.monotonic()
            if now - last_control >= self.options.control_every:
                last_control = now
                self.endpoint_status = run.client.pool.status()
                status, yield_to = await asyncio.to_thread(self._control, run.job, now - started)
                claiming = claiming and status == "running" and yield_to is None
                if yield_to is not None and not run.client.holding:
                    run.client.hold()  # calls still waiting for a slot go back unsent
                    if yield_to.total <= self.options.small_job_max and not self.stopping:
                        # A small job starts now, beside the bulk calls still in flight, not after them.
                        small = asyncio.create_task(self._serve_async(yield_to))
            claiming = claiming and not self.stopping
            if run.client.down or run.endpoint_down:
                run.endpoint_down, claiming = True, False
            free = min(limit, run.client.limit + max(4, run.client.limit // 4)) - len(in_flight)
            if claiming and free >= max(1, min(limit // 8, 16)):
                claimed = await asyncio.to_thread(run.claim, free)
                if not claimed and not in_flight:
                    break
                in_flight.update(asyncio.create_task(run.score(rid, att)) for rid, att in claimed)
            if not in_flight:
                if not claiming:
                    break
                continue
            if self.stopping:
                give_up_at = give_up_at or now + self.options.stop_grace
                if now >= give_up_at:  # hand the rest back (their items are reset with the run)
                    await _cancel(in_flight)
                    break
            done, _ = await asyncio.wait(in_flight, timeout=0.25, return_when=asyncio.FIRST_COMPLETED)
            in_flight -= done
            for t in done:
                t.result()  # surface programming errors instead of losing them
        await run.flush()  # results of cancelled calls' items still being committed land before the hand-back
        if small is not None:
            await small
        return await asyncio.to_thread(self._finish_run, run, status)

    def _control(self, job: Job, ran_for: float) -> tuple[str, Job | None]:
        """(the job's status, the job this run should yield its slots to, if any).

        A bulk job yields at once to a runnable small job, and after `bulk_slice` to another bulk job.
        """
        opts = self.options
        with read_conn(self.engine) as conn:
            row = jobs_repo.get_job(conn, job.job_id)
            if row is None:
                return "cancelled", None
            other = None
            if job.total > opts.small_job_max:
                now = scores_repo.utcnow()
                other = jobs_repo.next_runnable_job(conn, now, small_max=opts.small_job_max, exclude=job.job_id,
                                                      only_small=ran_for < opts.bulk_slice)
        return str(row["status"]), None if other is None else Job.from_row(other)

    def _pause_down(self, job_id: str, settings: ScorerSettings, why: str, seen: list[EndpointStatus]) -> None:
        """Pause for an outage; the wait before the next probe doubles with each pause in a row, up to pause_max.

        `seen` (the run's endpoints) stays on the Scoring page while the job waits, with the time to its probe.
        """
        n = self._downs.get(job_id, 0)
        self._downs[job_id] = n + 1
        seconds = min(settings.pause_max, settings.pause_seconds * 2 ** min(n, 30))
        self._outage = Outage(job_id, seen, time.monotonic() + seconds)
        with write_tx(self.engine) as conn:
            jobs_repo.set_job_status(
                conn, job_id, "paused", from_statuses=("queued", "running", "paused"), pause_reason="endpoint_down",
                resume_after=scores_repo.utcnow() + timedelta(seconds=seconds),
                event=f"endpoint down ({why}); probing again in {seconds:g} s")

    def _finish_run(self, run: JobRun, status: str) -> str:
        job_id = run.job.job_id
        with write_tx(self.engine) as conn:
            handed_back = scores_repo.reset_running(conn, job_id=job_id, token=run.token)
        if run.endpoint_down:
            self._pause_down(job_id, run.client.settings, ("; ".join(run.errors[-1:]) or "no answer") + run.note,
                             run.client.pool.status())
            return "endpoint_down"
        with write_tx(self.engine) as conn:
            counts = scores_repo.item_counts(conn, job_id)
            if status == "running" and counts["pending"] == 0 and counts["running"] == 0:
                jobs_repo.set_job_status(conn, job_id, "done", from_statuses=("running",),
                                           event="finished" + run.note)
                return "done"
            if self.stopping and status == "running" and counts["running"] == 0:
                jobs_repo.set_job_status(conn, job_id, "queued", from_statuses=("running",),
                                           event=f"worker stopped; {handed_back} unfinished items handed back, "
                                                 "waiting for a worker")
                return "stopped"
        return status


@dataclass
class Outage:
    """A job paused because no endpoint answered: its endpoints as last seen, and when they are probed again."""

    job_id: str
    seen: list[EndpointStatus]
    probe_at: float
    """time.monotonic() of the next probe."""

    def statuses(self, now: float) -> list[EndpointStatus]:
        """Every endpoint down, nothing in flight, the next probe counted down from `now`."""
        left = round(max(0.0, self.probe_at - now), 1)
        return [s.model_copy(update={"state": "down", "in_flight": 0, "rate": 0.0, "retry_in": left})
                for s in self.seen]


async def _cancel(tasks: set[asyncio.Task[None]]) -> None:
    """Cancel calls still in flight and wait until they are gone."""
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    tasks.clear()
