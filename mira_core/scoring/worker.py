"""The scoring worker: a process outside Streamlit that runs queued jobs until told to stop.

One worker per database: it holds the `scoring_workers` heartbeat row. A new worker takes over when
the heartbeat is stale or the holder's pid is gone (same host), and then puts every `running` item
back to `pending` (only a dead worker can have left them). Each result is committed on its own,
together with its item's final state, so a kill at any moment loses at most the calls in flight.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from mira_core.dimensions import COLUMNS, SLOTS
from mira_core.errors import MiraError, NotFoundError
from mira_core.scoring.client import CallResult, ScorerClient, TokenCounter
from mira_core.scoring.jobs import Job, job_settings
from mira_core.scoring.prompt import Prompt, PromptBuilder
from mira_core.scoring.rubric import load_calibration, load_rubric
from mira_core.scoring.settings import api_key_source
from mira_core.scoring.simulator import SIMULATED_SUFFIX
from mira_core.settings import Settings, load_settings
from mira_core.storage import records_repo, scores_repo
from mira_core.storage.engine import read_conn, write_tx

TRANSIENT = ("rate_limited", "server_error", "timeout", "connection")
STALE_AFTER = 20.0
"""Seconds without a heartbeat after which a worker counts as dead."""


class WorkerBusy(MiraError):
    """Another live worker already serves this database."""


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


@dataclass
class _Run:
    """State of one job run inside the worker."""

    engine: Engine
    job: Job
    token: str
    client: ScorerClient
    prompts: PromptBuilder
    endpoint_down: bool = False
    errors: list[str] = field(default_factory=list)


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

    def stop(self, *_: Any) -> None:
        """Finish in-flight calls, then exit (SIGTERM/SIGINT)."""
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
                with read_conn(self.engine) as conn:
                    row = scores_repo.next_runnable_job(conn, scores_repo.utcnow())
                if row is None:
                    if self.options.idle_exit is not None and time.monotonic() - idle_since > self.options.idle_exit:
                        break
                    time.sleep(self.options.poll)
                    continue
                job = Job.from_row(row)
                try:
                    outcome = asyncio.run(self.run_job(job))
                except MiraError as exc:  # e.g. an invalid rubric file: the job waits for a curator
                    outcome = "error"
                    with write_tx(self.engine) as conn:
                        scores_repo.set_job_status(conn, job.job_id, "paused", pause_reason="error",
                                                   event=f"paused: {exc}")
                runs += 1
                if outcome == "endpoint_down":  # waiting for an endpoint is idle time, not work
                    if self.options.idle_exit is not None and time.monotonic() - idle_since > self.options.idle_exit:
                        break
                    time.sleep(self.options.poll)
                else:
                    idle_since = time.monotonic()
        finally:
            if not self.lost_lock:
                with write_tx(self.engine) as conn:
                    scores_repo.reset_running(conn, token=self.token)
                    scores_repo.release_worker_lock(conn, self.token)
        return runs

    async def run_job(self, job: Job) -> str:
        """Run one job until it is finished, paused, cancelled or the endpoint goes down."""
        settings = job_settings(job, api_key_source()[0])
        client = ScorerClient(settings)
        try:
            info = await client.probe()
            if info is None:
                self._pause_down(job.job_id, settings.pause_seconds, "endpoint did not answer /v1/models")
                return "endpoint_down"
            mml = min(settings.max_model_len, info.max_model_len or settings.max_model_len)
            counter = TokenCounter(settings, exact_above=(mml - settings.max_tokens) // 2)
            prompts = PromptBuilder(load_rubric(self.settings.anchors_path),
                                    load_calibration(self.settings.calibration_path),
                                    max_model_len=mml, max_tokens=settings.max_tokens, count_tokens=counter)
            run = _Run(self.engine, job, self.token or "", client, prompts)
            with write_tx(self.engine) as conn:
                scores_repo.set_job_status(conn, job.job_id, "running",
                                           from_statuses=("queued", "running", "paused"),
                                           event=f"running against {info.id}")
            return await self._drive(run)
        finally:
            await client.aclose()

    async def _drive(self, run: _Run) -> str:
        job_id, settings = run.job.job_id, run.client.settings
        limit = settings.concurrency + max(4, settings.concurrency // 4)  # a few prompts ready ahead
        in_flight: set[asyncio.Task] = set()
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
                claimed = await asyncio.to_thread(self._claim, job_id, free)
                if not claimed and not in_flight:
                    break
                in_flight.update(asyncio.create_task(self._item(run, rid, att)) for rid, att in claimed)
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

    def _claim(self, job_id: str, n: int) -> list[tuple[str, int]]:
        assert self.token is not None
        with write_tx(self.engine) as conn:
            return scores_repo.claim_items(conn, job_id, n, self.token)

    def _pause_down(self, job_id: str, seconds: float, why: str) -> None:
        with write_tx(self.engine) as conn:
            scores_repo.set_job_status(
                conn, job_id, "paused", from_statuses=("queued", "running", "paused"), pause_reason="endpoint_down",
                resume_after=scores_repo.utcnow() + timedelta(seconds=seconds),
                event=f"endpoint down ({why}); retrying in {seconds:g} s")

    def _finish_run(self, run: _Run, status: str) -> str:
        job_id = run.job.job_id
        with write_tx(self.engine) as conn:
            scores_repo.reset_running(conn, job_id=job_id, token=self.token)
        if run.endpoint_down:
            self._pause_down(job_id, run.client.settings.pause_seconds, "; ".join(run.errors[-1:]) or "no answer")
            return "endpoint_down"
        with write_tx(self.engine) as conn:
            counts = scores_repo.item_counts(conn, job_id)
            if status == "running" and counts["pending"] == 0 and counts["running"] == 0:
                scores_repo.set_job_status(conn, job_id, "done", from_statuses=("running",), event="finished")
                return "done"
        return status

    async def _item(self, run: _Run, record_id: str, attempt: int) -> None:
        try:
            await self._score_one(run, record_id, attempt)
        except Exception as exc:  # noqa: BLE001 - a storage hiccup must not kill the other 63 calls
            # The item stays claimed and goes back to pending when the run ends.
            run.errors.append(f"{type(exc).__name__}: {exc}")
            print(f"worker: record {record_id}: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)

    async def _score_one(self, run: _Run, record_id: str, attempt: int) -> None:
        try:
            prompt = await asyncio.to_thread(self._prepare, run, record_id)
        except NotFoundError as exc:
            await asyncio.to_thread(self._finish, run, record_id, "failed", "missing_record", str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - a record the prompt builder cannot render fails alone
            await asyncio.to_thread(self._finish, run, record_id, "failed", "prompt_error",
                                    f"{type(exc).__name__}: {exc}")
            return
        result = await run.client.complete(prompt.system, prompt.user)
        await asyncio.to_thread(self._store, run, record_id, attempt, prompt, result)

    def _prepare(self, run: _Run, record_id: str) -> Prompt:
        # records_repo shares one zstd decompressor, which is not thread-safe: one reader at a time.
        with self._read_lock, read_conn(self.engine) as conn:
            record = records_repo.get_record(conn, record_id)
        return run.prompts.build(record)

    def _finish(self, run: _Run, record_id: str, status: str, kind: str | None, error: str | None,
                output: str | None = None, score: scores_repo.NewScore | None = None) -> None:
        assert self.token is not None
        with write_tx(self.engine) as conn:
            scores_repo.finish_item(conn, run.job.job_id, record_id, self.token, status=status, error_kind=kind,
                                    last_error=error, last_output=output, score=score)

    def _store(self, run: _Run, record_id: str, attempt: int, prompt: Prompt, result: CallResult) -> None:
        job_id = run.job.job_id
        if result.status == "ok":
            score = new_score(record_id, job_id, prompt, result, run.client.settings.model)
            self._finish(run, record_id, "done", None, None, score=score)
        elif result.status in ("incomplete", "too_long"):
            self._finish(run, record_id, result.status, result.error_kind, result.error, output=result.text)
        elif result.status == "endpoint_down" or (result.error_kind in TRANSIENT and run.client.down):
            run.endpoint_down = True
            run.errors.append(f"{result.error_kind}: {result.error}")
            with write_tx(self.engine) as conn:
                scores_repo.release_item(conn, job_id, record_id, self.token or "", error_kind=result.error_kind,
                                         last_error=result.error, count_attempt=False)
        elif result.error_kind in TRANSIENT and attempt < run.client.settings.max_item_attempts:
            with write_tx(self.engine) as conn:
                scores_repo.release_item(conn, job_id, record_id, self.token or "", error_kind=result.error_kind,
                                         last_error=result.error, count_attempt=True)
        else:
            self._finish(run, record_id, "failed", result.error_kind, result.error)


def new_score(record_id: str, job_id: str, prompt: Prompt, result: CallResult,
              fallback_model: str) -> scores_repo.NewScore:
    """The score row for a successful call: parse the output, keep the raw text, label simulated judges."""
    from mira_core.scoring.parse import parse_scorer_output
    from mira_core.scoring.results import parsed_columns

    text = result.text or ""
    cols = parsed_columns(parse_scorer_output(text))
    judge = result.model or fallback_model
    if result.simulated and not judge.endswith(SIMULATED_SUFFIX):
        judge += SIMULATED_SUFFIX
    slots = {slot: cols.pop(col) for slot, col in zip(SLOTS, COLUMNS, strict=True)}
    return scores_repo.NewScore(
        record_id=record_id, judge_kind="student", judge=judge, job_id=job_id,
        prompt_version=prompt.prompt_version, raw_output=text, complete=cols["complete"],
        overall=cols["overall"], recommendation=cols["recommendation"], domain_tag=cols["domain_tag"],
        brief=cols["brief"], shortened=prompt.shortened, elided_tokens=prompt.elided_tokens,
        prompt_tokens=result.prompt_tokens or prompt.prompt_tokens,
        parsed_json=cols["parsed"], slots=slots,
    )


def run_worker(engine: Engine, settings: Settings, options: WorkerOptions | None = None) -> int:
    """Run a worker in this process with SIGTERM/SIGINT handled as a graceful stop."""
    worker = Worker(engine, settings, options)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, worker.stop)
    return worker.run()


def worker_log_path(database_url: str) -> Path:
    """Where an app-started worker writes its output (one file per database)."""
    import hashlib

    tag = hashlib.sha1(database_url.encode()).hexdigest()[:10]
    return Path(tempfile.gettempdir()) / f"mira-worker-{tag}.log"


def spawn_worker(database_url: str, *, idle_exit: float = 600.0) -> int:
    """Start `mira-curator worker` detached (it outlives a Streamlit rerun or a closed tab); returns its pid."""
    log = worker_log_path(database_url).open("ab")
    env = {**os.environ, "MIRA_DATABASE_URL": database_url}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mira_core.scoring.worker", "--idle-exit", str(idle_exit)],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=True,
    )
    log.close()
    return proc.pid


def ensure_worker(engine: Engine, database_url: str) -> int | None:
    """Start a worker unless one is alive; returns the new pid (a second one would exit with WorkerBusy)."""
    if worker_state(engine).alive:
        return None
    return spawn_worker(database_url)


def main(argv: list[str] | None = None) -> int:
    """`python -m mira_core.scoring.worker`: the worker without the whole CLI (starts faster when spawned)."""
    import argparse

    from mira_core.storage import migrate
    from mira_core.storage.engine import make_engine

    parser = argparse.ArgumentParser(prog="mira_core.scoring.worker", description="the MIRA scoring worker")
    parser.add_argument("--idle-exit", type=float, default=None)
    parser.add_argument("--poll", type=float, default=1.0)
    args = parser.parse_args(argv)
    settings = load_settings()
    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    try:
        runs = run_worker(engine, settings, WorkerOptions(idle_exit=args.idle_exit, poll=args.poll))
    except WorkerBusy as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"scoring worker stopped after {runs} job runs", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
