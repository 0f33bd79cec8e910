"""Scoring jobs: start (freeze the selection), control (pause/resume/cancel/requeue), progress, reparse.

Every change names its person: a curator starts, pauses, resumes and re-queues jobs; cancelling is the
curator's own job or an admin's decision; re-parsing rewrites every stored score, so it is an admin's. Each
change is appended to the activity log in the transaction that makes it.

A job's selection is the filter at the time it started, frozen to record ids as its items, so records
imported later never slip in. Items are written in batches in their own transactions (a 232K-record
selection never holds the write lock for long); the job stays `preparing` until all are in.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from mira_core.errors import ConfigError, NotFoundError
from mira_core.identity import Actor, Role, normalize_user_id, require
from mira_core.query import RecordFilter
from mira_core.scoring.endpoint_trust import CONFIRMED_KEY, job_endpoint_trust
from mira_core.scoring.settings import ScorerSettings, checked_settings
from mira_core.scoring.simulator import is_simulated
from mira_core.storage import Connection, Engine, jobs_repo, read_conn, records_repo, scores_repo, write_tx
from mira_core.team import record_change

FREEZE_BATCH = 5000
FINAL = scores_repo.FINAL_STATUSES
THROUGHPUT_WINDOW = 60.0


class JobError(ConfigError):
    """A job operation was refused (unknown job, wrong state)."""


class Job(BaseModel):
    """A scoring job as the worker and `summarize` read it: one `score_jobs` row."""

    model_config = ConfigDict(frozen=True)

    job_id: str
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None
    status: str = Field(description="preparing / queued / running / paused / cancelled / done.")
    pause_reason: str | None = Field(default=None, description="'user', 'error' or 'endpoint_down'.")
    resume_after: datetime | None = Field(default=None, description="When an endpoint_down pause may resume.")
    label: str
    filter_json: str = Field(description="The RecordFilter at start (the selection is the items).")
    settings_json: str = Field(description="ScorerSettings without the API key.")
    total: int
    created_by: str
    last_event: str | None = None
    runner: str = Field(default="worker", description="'worker' (built-in workers) or 'ray' (score --engine ray).")

    @classmethod
    def from_row(cls, row: Mapping[str, object]) -> Job:
        """The job of a row from `scores_repo` (`get_job`, `next_runnable_job`, `list_jobs`)."""
        return cls.model_validate(dict(row))


class ErrorGroup(BaseModel):
    """Errors of one kind in a job."""

    error_kind: str
    n: int
    example: str | None = Field(default=None, description="The latest message of this kind.")


class JobProgress(BaseModel):
    """What the Scoring page and `mira-curator jobs` show for a job."""

    job_id: str
    label: str
    status: str
    pause_reason: str | None = None
    total: int
    counts: dict[str, int]
    done: int = Field(description="Items with a stored complete score.")
    partial: int = Field(default=0, description="Items with a stored score missing or invalid dimensions (re-queueable).")
    failed: int = Field(description="failed + too_long + incomplete (no score).")
    remaining: int = Field(description="pending + running.")
    throughput_per_s: float = Field(description="Items finished per second over the last minute.")
    eta_seconds: float | None = Field(description="remaining / throughput; None when nothing moves.")
    errors: list[ErrorGroup]
    created_at: datetime
    finished_at: datetime | None = None
    last_event: str | None = None
    created_by: str = Field(default="", description="Who started the job.")
    model: str
    base_url: str
    endpoint_confirmed_by: str | None = Field(
        default=None, description="The admin who confirmed this job's Base URL for the API key (None: not confirmed).")
    judge: str | None = Field(default=None, description="The model name the endpoint reported, once scores exist.")
    simulated: bool = Field(default=False, description="The scores come from the SIMULATED scorer.")
    runner: str = Field(default="worker", description="'worker' or 'ray' (a Ray run, not a worker, serves it).")


def status_text(p: JobProgress, *, worker_alive: bool) -> str:
    """A job's status as the Scoring page and `mira-curator jobs` show it (with the reason for a pause).

    A worker job still marked running while no worker is alive (its worker was killed) says so: its claimed
    items go back to pending when the next worker starts.
    """
    if p.status == "running" and p.runner == "worker" and not worker_alive:
        return "running (no worker alive: waiting for one)"
    return p.status + (f" ({p.pause_reason})" if p.pause_reason else "")


def new_job_id() -> str:
    """A short random job id."""
    return uuid.uuid4().hex[:16]


def start_job(engine: Engine, settings: ScorerSettings, *, actor: Actor,
              record_filter: RecordFilter | None = None, record_ids: list[str] | None = None,
              label: str | None = None, job_id: str | None = None, runner: str = "worker") -> str:
    """Create a job over a filter or explicit ids (frozen now) and queue it; returns the job id (curator).

    `runner` 'ray' marks a job that `ray_engine.run_job_on_ray` runs; the built-in workers leave it alone.

    With `job_id` the call is idempotent: a page that replays a click after a reconnect passes the same id,
    gets the same job back, and an interrupted freeze (job still `preparing`) is completed, not duplicated;
    only the call that creates the job records `job.start`.
    """
    require(actor, Role.curator, "starting scoring jobs")
    if record_ids is not None:
        record_filter = RecordFilter(record_ids=list(dict.fromkeys(record_ids)))
    record_filter = record_filter or RecordFilter()
    job_id = job_id or new_job_id()
    label = label or _label(record_filter)
    with write_tx(engine) as conn:
        existing = jobs_repo.get_job(conn, job_id)
        if existing is None:
            jobs_repo.create_job(conn, job_id=job_id, label=label, filter_json=record_filter.model_dump_json(),
                                   settings_json=json.dumps(settings.public_dict()), created_by=actor.user_id,
                                   runner=runner)
            record_change(conn, actor, "job.start", target_kind="job", target_id=job_id, label=label,
                          model=settings.model, base_url=settings.base_url,
                          **({"runner": runner} if runner != "worker" else {}))
        elif existing["status"] != "preparing":
            return job_id
        else:
            record_filter = RecordFilter.model_validate_json(existing["filter_json"])
    batch: list[str] = []
    with read_conn(engine) as rconn:
        for meta in records_repo.iter_record_metadata(rconn, record_filter, batch=FREEZE_BATCH):
            batch.append(meta["record_id"])
            if len(batch) >= FREEZE_BATCH:
                _add(engine, job_id, batch)
                batch = []
    _add(engine, job_id, batch)
    with write_tx(engine) as conn:
        total = jobs_repo.finish_job_prep(conn, job_id)
        if total == 0:
            jobs_repo.set_job_status(conn, job_id, "done", event="no records matched the selection")
    return job_id


def _add(engine: Engine, job_id: str, ids: list[str]) -> None:
    if ids:
        with write_tx(engine) as conn:
            jobs_repo.add_job_items(conn, job_id, ids)


def _label(f: RecordFilter) -> str:
    if f.record_ids is not None:
        n = len(f.record_ids)
        return f"record {f.record_ids[0]}" if n == 1 else f"{n} chosen records"
    parts = [f"{k}={v}" for k, v in f.model_dump(exclude_defaults=True).items()]
    return "all records" if not parts else "filter " + ", ".join(parts)


def _require(conn: Connection, job_id: str) -> Job:
    row = jobs_repo.get_job(conn, job_id)
    if row is None:
        raise NotFoundError(f"job {job_id} not found: `mira-curator jobs` lists the jobs")
    return Job.from_row(row)


def pause_job(engine: Engine, job_id: str, *, actor: Actor) -> None:
    """Stop claiming new items (in-flight ones finish and are kept); a curator's decision."""
    require(actor, Role.curator, "pausing scoring jobs")
    with write_tx(engine) as conn:
        job = _require(conn, job_id)
        if not jobs_repo.set_job_status(conn, job_id, "paused", from_statuses=("queued", "running", "paused"),
                                          pause_reason="user", event=f"paused by {actor.label}"):
            raise JobError(f"job {job_id} is {job.status}: only queued or running jobs can be paused")
        record_change(conn, actor, "job.pause", target_kind="job", target_id=job_id, from_status=job.status)


def resume_job(engine: Engine, job_id: str, *, actor: Actor) -> None:
    """Queue a paused job again (whatever paused it); a curator's decision."""
    require(actor, Role.curator, "resuming scoring jobs")
    with write_tx(engine) as conn:
        job = _require(conn, job_id)
        if not jobs_repo.set_job_status(conn, job_id, "queued", from_statuses=("paused",),
                                          event=f"resumed by {actor.label}"):
            raise JobError(f"job {job_id} is {job.status}: only a paused job can be resumed")
        record_change(conn, actor, "job.resume", target_kind="job", target_id=job_id,
                      pause_reason=job.pause_reason)


def cancel_job(engine: Engine, job_id: str, *, actor: Actor) -> None:
    """Stop the job for good; stored scores stay, pending items are left unscored.

    A curator cancels the jobs they started; someone else's job needs an admin, and the refusal names the
    person who started it.
    """
    require(actor, Role.curator, "cancelling scoring jobs")
    with write_tx(engine) as conn:
        job = _require(conn, job_id)
        if normalize_user_id(job.created_by) != normalize_user_id(actor.user_id):
            require(actor, Role.admin, f"cancelling {job.created_by}'s job {job_id}")
        if not jobs_repo.set_job_status(conn, job_id, "cancelled",
                                          from_statuses=("preparing", "queued", "running", "paused"),
                                          event=f"cancelled by {actor.label}"):
            raise JobError(f"job {job_id} is already {job.status}")
        record_change(conn, actor, "job.cancel", target_kind="job", target_id=job_id, from_status=job.status,
                      started_by=job.created_by)


def requeue_failed(engine: Engine, job_id: str, *, actor: Actor, include_too_long: bool = False) -> int:
    """Failed and incomplete items (and too_long if asked) back to pending; the job is queued again (curator).

    Returns how many items went back; nothing is recorded when there were none.
    """
    require(actor, Role.curator, "re-queueing failed items")
    statuses = ["failed", "incomplete"] + (["too_long"] if include_too_long else [])
    with write_tx(engine) as conn:
        _require(conn, job_id)
        n = scores_repo.requeue(conn, job_id, statuses)
        if n:
            jobs_repo.set_job_status(conn, job_id, "queued", from_statuses=("done", "paused", "cancelled"),
                                       event=f"{n} items re-queued by {actor.label}")
            record_change(conn, actor, "job.requeue", target_kind="job", target_id=job_id, items=n,
                          include_too_long=include_too_long)
    return n


def requeue_partial(engine: Engine, job_id: str, *, actor: Actor) -> int:
    """Partial items (a score missing or invalid dimensions) back to pending; the job is queued again (curator).

    Their new answers replace the partial scores (a complete score is never replaced). Returns how many items
    went back; nothing is recorded when there were none.
    """
    require(actor, Role.curator, "re-queueing partial items")
    with write_tx(engine) as conn:
        _require(conn, job_id)
        n = scores_repo.requeue(conn, job_id, ["partial"])
        if n:
            jobs_repo.set_job_status(conn, job_id, "queued", from_statuses=("done", "paused", "cancelled"),
                                       event=f"{n} partial items re-queued by {actor.label}")
            record_change(conn, actor, "job.requeue_partial", target_kind="job", target_id=job_id, items=n)
    return n


def job_progress(engine: Engine, job_id: str, *, now: datetime | None = None) -> JobProgress:
    """Counts, throughput over the last minute, ETA and error groups of one job."""
    now = now or scores_repo.utcnow()
    with read_conn(engine) as conn:
        job = _require(conn, job_id)
        counts = scores_repo.item_counts(conn, job_id)
        window = max(1.0, min(THROUGHPUT_WINDOW, (now - job.created_at).total_seconds()))
        recent = scores_repo.finished_since(conn, job_id, now - timedelta(seconds=window))
        errors = [ErrorGroup(error_kind=e["error_kind"], n=e["n"], example=e["example"])
                  for e in scores_repo.error_groups(conn, job_id)]
        judge = scores_repo.job_judge(conn, job_id)
    return summarize(job, counts, recent / window, errors, judge)


def summarize(job: Job, counts: dict[str, int], throughput: float, errors: list[ErrorGroup],
              judge: str | None = None) -> JobProgress:
    """Pure: a JobProgress from a job, its item counts and a throughput."""
    remaining = counts.get("pending", 0) + counts.get("running", 0)
    settings = json.loads(job.settings_json or "{}")
    active = job.status in ("queued", "running")
    return JobProgress(
        job_id=job.job_id, label=job.label, status=job.status, pause_reason=job.pause_reason,
        total=job.total, counts=counts, done=counts.get("done", 0), partial=counts.get("partial", 0),
        failed=sum(counts.get(k, 0) for k in ("failed", "too_long", "incomplete")), remaining=remaining,
        throughput_per_s=throughput,
        eta_seconds=remaining / throughput if throughput > 0 and active and remaining else None,
        errors=errors, created_at=job.created_at, finished_at=job.finished_at, last_event=job.last_event,
        created_by=job.created_by,
        model=str(settings.get("model", "")), base_url=str(settings.get("base_url", "")), judge=judge,
        endpoint_confirmed_by=job_endpoint_trust(job.settings_json, "").confirmed_by,
        simulated=is_simulated(judge), runner=job.runner,
    )


def list_progress(engine: Engine, *, limit: int = 20) -> list[JobProgress]:
    """Progress of the most recent jobs."""
    with read_conn(engine) as conn:
        ids = [j["job_id"] for j in jobs_repo.list_jobs(conn, limit=limit)]
    return [job_progress(engine, i) for i in ids]


def job_settings(job: Job, api_key: str) -> ScorerSettings:
    """The settings frozen in the job, with the API key the worker decided to send (keys are never stored).

    A stored value today's rules refuse (a Base URL without a host) is a JobError naming the job and field,
    so the worker pauses the job instead of crashing.
    """
    data = json.loads(job.settings_json)
    data.pop(CONFIRMED_KEY, None)
    try:
        settings = checked_settings(data)
    except ConfigError as exc:
        raise JobError(f"job {job.job_id}: {exc}; start a new job with valid settings") from exc
    settings.api_key = api_key
    return settings


@dataclass
class ReparseSummary:
    """What `reparse` changed."""

    scores: int
    complete_before: int
    complete_after: int


def reparse_scores(engine: Engine, *, actor: Actor, batch: int = 500,
                   names: Mapping[str, str] | None = None) -> ReparseSummary:
    """Re-apply the current parser to every stored raw output, a batch per transaction (no model calls; admin).

    The batches commit one by one (a long rewrite never holds the write lock), so `scores.reparse` is recorded
    once at the end with the counts; an interrupted run leaves rows the current parser would write anyway,
    and running it again completes it and records it. `names` ({slot: name}) are what the parser checks
    slot lines against (default: the project's anchors file).
    """
    require(actor, Role.admin, "re-parsing stored scores")
    from mira_core.scoring.parse import parse_scorer_output
    from mira_core.scoring.results import parsed_columns

    after, seen, before, now_complete = 0, 0, 0, 0
    while True:
        with read_conn(engine) as conn:
            rows = scores_repo.raw_output_batch(conn, after_id=after, limit=batch)
            old = scores_repo.complete_flags(conn, [i for i, _ in rows])
        if not rows:
            break
        updates = []
        for score_id, raw in rows:
            cols = parsed_columns(parse_scorer_output(raw, names=names))
            updates.append({"score_id": score_id, **cols})
            before += int(bool(old.get(score_id)))
            now_complete += int(bool(cols["complete"]))
        with write_tx(engine) as conn:
            scores_repo.update_parsed(conn, updates)
        seen += len(rows)
        after = rows[-1][0]
    summary = ReparseSummary(scores=seen, complete_before=before, complete_after=now_complete)
    if seen:
        with write_tx(engine) as conn:
            record_change(conn, actor, "scores.reparse", target_kind="scores", scores=seen,
                          complete_before=before, complete_after=now_complete)
    return summary
