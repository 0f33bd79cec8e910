"""Scoring jobs as rows: create, freeze, read, move between states, and pick the next one a worker serves.

Their items (claims, results) and the scores live in `scores_repo`; this module holds the job rows only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    Connection,
    RowMapping,
    Table,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from mira_core.storage.rows import as_utc, utcnow
from mira_core.storage.tables import score_job_items, score_jobs


def _upsert_nothing(conn: Connection, table: Table, rows: Sequence[Mapping[str, object]],
                    keys: Sequence[str]) -> Insert:
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    return dialect.insert(table).values(rows).on_conflict_do_nothing(index_elements=list(keys))


def create_job(conn: Connection, *, job_id: str, label: str, filter_json: str, settings_json: str,
               created_by: str, runner: str = "worker") -> None:
    """A job in 'preparing' state; the worker ignores it until `finish_job_prep` freezes its items."""
    now = utcnow()
    conn.execute(insert(score_jobs).values(
        job_id=job_id, created_at=now, updated_at=now, status="preparing", label=label,
        filter_json=filter_json, settings_json=settings_json, total=0, created_by=created_by, runner=runner,
    ))


def set_job_settings(conn: Connection, job_id: str, settings_json: str) -> None:
    """Replace a job's stored settings JSON (an admin's endpoint confirmation is kept there)."""
    conn.execute(update(score_jobs).where(score_jobs.c.job_id == job_id)
                 .values(settings_json=settings_json, updated_at=utcnow()))


def add_job_items(conn: Connection, job_id: str, record_ids: Iterable[str]) -> None:
    """Freeze record ids into the job as pending items (repeat-safe)."""
    now = utcnow()
    rows = [{"job_id": job_id, "record_id": rid, "status": "pending", "attempts": 0, "updated_at": now}
            for rid in record_ids]
    if rows:
        conn.execute(_upsert_nothing(conn, score_job_items, rows, ["job_id", "record_id"]))


def finish_job_prep(conn: Connection, job_id: str) -> int:
    """Set the job's total from its items and queue it; returns the total."""
    total = int(conn.execute(select(func.count()).select_from(score_job_items)
                             .where(score_job_items.c.job_id == job_id)).scalar_one())
    conn.execute(update(score_jobs).where(score_jobs.c.job_id == job_id, score_jobs.c.status == "preparing")
                 .values(total=total, status="queued", updated_at=utcnow()))
    return total


def get_job(conn: Connection, job_id: str) -> dict | None:
    """The job row as a dict (times UTC-aware), or None."""
    row = conn.execute(select(score_jobs).where(score_jobs.c.job_id == job_id)).mappings().first()
    return _job_dict(row) if row else None


def _job_dict(row: RowMapping) -> dict[str, object]:
    d = dict(row)
    for k in ("created_at", "updated_at", "finished_at", "resume_after"):
        d[k] = as_utc(d[k])
    return d


def list_jobs(conn: Connection, *, limit: int = 50) -> list[dict]:
    """Most recent jobs first."""
    rows = conn.execute(select(score_jobs).order_by(score_jobs.c.created_at.desc()).limit(limit)).mappings()
    return [_job_dict(r) for r in rows]


def set_job_status(conn: Connection, job_id: str, status: str, *, from_statuses: Sequence[str] | None = None,
                   pause_reason: str | None = None, resume_after: datetime | None = None,
                   event: str | None = None) -> bool:
    """Move a job to `status` (only from `from_statuses` when given); False when nothing changed."""
    now = utcnow()
    values: dict[str, object] = {"status": status, "updated_at": now, "pause_reason": pause_reason, "resume_after": resume_after}
    if event is not None:
        values["last_event"] = event
    if status == "done":
        values["finished_at"] = now
    cond = [score_jobs.c.job_id == job_id]
    if from_statuses is not None:
        cond.append(score_jobs.c.status.in_(list(from_statuses)))
    return bool(conn.execute(update(score_jobs).where(*cond).values(values)).rowcount)


def next_runnable_job(conn: Connection, now: datetime, *, small_max: int = 0, exclude: str | None = None,
                      only_small: bool = False) -> dict | None:
    """The next queued/running job (or one the endpoint paused whose wait is over) that has work to hand out.

    Jobs of at most `small_max` items come first, oldest first ("Score this record" never waits behind a
    corpus); bulk jobs take turns: the one whose last run started longest ago (`updated_at`) goes next. A job
    whose unfinished items are all claimed by other workers is skipped; one with nothing left at all is
    returned, so the worker that gets it marks it done. Jobs a Ray run owns (`runner = 'ray'`) are never returned.
    """
    jobs_, item = score_jobs.c, score_job_items.c
    runnable = jobs_.status.in_(["queued", "running"])
    auto = and_(jobs_.status == "paused", jobs_.pause_reason == "endpoint_down", jobs_.resume_after <= now)
    pending = exists().where(item.job_id == jobs_.job_id, item.status == "pending")
    running = exists().where(item.job_id == jobs_.job_id, item.status == "running")
    bulk = jobs_.total > small_max
    cond: list[ColumnElement[bool]] = [runnable | auto, pending | ~running, jobs_.runner == "worker"]
    if exclude is not None:
        cond.append(jobs_.job_id != exclude)
    if only_small:
        cond.append(~bulk)
    order = (case((bulk, 1), else_=0), case((bulk, jobs_.updated_at), else_=jobs_.created_at), jobs_.created_at)
    found = conn.execute(select(score_jobs).where(*cond).order_by(*order).limit(1)).mappings().first()
    return _job_dict(found) if found else None


def has_open_jobs(conn: Connection) -> bool:
    """Whether any worker job is queued, running, or paused for an endpoint outage (a worker must not go idle).

    Ray jobs do not count: a Ray run, not a worker, serves them.
    """
    open_ = score_jobs.c.status.in_(["queued", "running"]) | and_(
        score_jobs.c.status == "paused", score_jobs.c.pause_reason == "endpoint_down")
    return conn.execute(select(exists().where(open_, score_jobs.c.runner == "worker"))).scalar() is True


def delete_job(conn: Connection, job_id: str) -> None:
    """Remove a job and its items (scores it produced stay)."""
    conn.execute(delete(score_job_items).where(score_job_items.c.job_id == job_id))
    conn.execute(delete(score_jobs).where(score_jobs.c.job_id == job_id))


