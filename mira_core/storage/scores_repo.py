"""Scores, scoring jobs and their items, the worker heartbeat: all SQL of the scoring runtime.

Every write is safe to repeat. A result is stored only by the worker that claimed the item (its
`claim_token`), in the same transaction that marks the item finished, and `scores` has a unique
(job_id, record_id): a killed or duplicated worker can never store a record twice for one job.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, Insert, RowMapping, Table, and_, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from mira_core.dimensions import COLUMNS, SLOTS
from mira_core.storage import revisions_repo
from mira_core.storage.rows import as_utc, utcnow
from mira_core.storage.tables import score_job_items, score_jobs, scores, scoring_workers

ITEM_STATUSES = ("pending", "running", "done", "failed", "too_long", "incomplete")
JOB_STATUSES = ("preparing", "queued", "running", "paused", "cancelled", "done")
WORKER_LOCK = "scoring"




@dataclass
class NewScore:
    """One score to store; `slots` maps 'A1'..'A15' to a number or None."""

    record_id: str
    judge_kind: str
    judge: str
    job_id: str | None
    prompt_version: str
    raw_output: str
    complete: bool
    overall: int | None
    recommendation: str | None
    domain_tag: str | None
    brief: str | None
    shortened: bool
    elided_tokens: int
    prompt_tokens: int | None
    parsed_json: str
    slots: dict[str, float | None] = field(default_factory=dict)

    def row(self) -> dict[str, object]:
        """The `scores` row for this score."""
        data = asdict(self)
        slots = data.pop("slots")
        data["parsed"] = data.pop("parsed_json")
        data["created_at"] = utcnow()
        for slot, col in zip(SLOTS, COLUMNS, strict=True):
            data[col] = slots.get(slot)
        return data


def _upsert_nothing(conn: Connection, table: Table, rows: Sequence[Mapping[str, object]],
                    keys: Sequence[str]) -> Insert:
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    return dialect.insert(table).values(rows).on_conflict_do_nothing(index_elements=list(keys))


def insert_score(conn: Connection, score: NewScore) -> bool:
    """Store a score; False when this job already stored one for the record (a no-op)."""
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    stmt = dialect.insert(scores).values(score.row()).on_conflict_do_nothing(index_elements=["job_id", "record_id"])
    res = conn.execute(stmt.returning(scores.c.score_id))
    return res.first() is not None


# ----------------------------------------------------------------------------- jobs


def create_job(conn: Connection, *, job_id: str, label: str, filter_json: str, settings_json: str,
               created_by: str) -> None:
    """A job in 'preparing' state; the worker ignores it until `finish_job_prep` freezes its items."""
    now = utcnow()
    conn.execute(insert(score_jobs).values(
        job_id=job_id, created_at=now, updated_at=now, status="preparing", label=label,
        filter_json=filter_json, settings_json=settings_json, total=0, created_by=created_by,
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


def next_runnable_job(conn: Connection, now: datetime) -> dict | None:
    """The oldest queued/running job, or a job the endpoint paused whose wait is over."""
    runnable = score_jobs.c.status.in_(["queued", "running"])
    auto = and_(score_jobs.c.status == "paused", score_jobs.c.pause_reason == "endpoint_down",
                score_jobs.c.resume_after <= now)
    row = conn.execute(select(score_jobs).where(runnable | auto).order_by(score_jobs.c.created_at).limit(1))
    found = row.mappings().first()
    return _job_dict(found) if found else None


def delete_job(conn: Connection, job_id: str) -> None:
    """Remove a job and its items (scores it produced stay)."""
    conn.execute(delete(score_job_items).where(score_job_items.c.job_id == job_id))
    conn.execute(delete(score_jobs).where(score_jobs.c.job_id == job_id))


# ----------------------------------------------------------------------------- items


def claim_items(conn: Connection, job_id: str, n: int, token: str) -> list[tuple[str, int]]:
    """Mark up to `n` pending items of the job running under `token`; returns (record id, attempt number)."""
    rows = conn.execute(
        select(score_job_items.c.record_id, score_job_items.c.attempts)
        .where(score_job_items.c.job_id == job_id, score_job_items.c.status == "pending")
        .order_by(score_job_items.c.record_id).limit(n)
    ).all()
    ids = [r[0] for r in rows]
    if ids:
        conn.execute(
            update(score_job_items)
            .where(score_job_items.c.job_id == job_id, score_job_items.c.record_id.in_(ids),
                   score_job_items.c.status == "pending")
            .values(status="running", claim_token=token, attempts=score_job_items.c.attempts + 1,
                    updated_at=utcnow())
        )
    return [(str(rid), int(att) + 1) for rid, att in rows]


def finish_item(conn: Connection, job_id: str, record_id: str, token: str, *, status: str,
                error_kind: str | None = None, last_error: str | None = None, last_output: str | None = None,
                score: NewScore | None = None) -> bool:
    """Record an item's final state (and its score) if `token` still holds it; False = result discarded."""
    res = conn.execute(
        update(score_job_items)
        .where(score_job_items.c.job_id == job_id, score_job_items.c.record_id == record_id,
               score_job_items.c.status == "running", score_job_items.c.claim_token == token)
        .values(status=status, error_kind=error_kind, last_error=last_error, last_output=last_output,
                updated_at=utcnow())
    )
    if not res.rowcount:
        return False
    if score is not None:
        insert_score(conn, score)
    return True


def release_item(conn: Connection, job_id: str, record_id: str, token: str, *, error_kind: str | None,
                 last_error: str | None, count_attempt: bool) -> bool:
    """Put a claimed item back to pending (endpoint down or a retryable error)."""
    attempts = score_job_items.c.attempts if count_attempt else score_job_items.c.attempts - 1
    res = conn.execute(
        update(score_job_items)
        .where(score_job_items.c.job_id == job_id, score_job_items.c.record_id == record_id,
               score_job_items.c.status == "running", score_job_items.c.claim_token == token)
        .values(status="pending", claim_token=None, attempts=attempts, error_kind=error_kind,
                last_error=last_error, updated_at=utcnow())
    )
    return bool(res.rowcount)


def reset_running(conn: Connection, *, job_id: str | None = None, token: str | None = None) -> int:
    """Running items back to pending: all (a new worker took over), one job's, or one claimer's."""
    cond = [score_job_items.c.status == "running"]
    if job_id is not None:
        cond.append(score_job_items.c.job_id == job_id)
    if token is not None:
        cond.append(score_job_items.c.claim_token == token)
    res = conn.execute(update(score_job_items).where(*cond).values(
        status="pending", claim_token=None, attempts=score_job_items.c.attempts - 1, updated_at=utcnow()))
    return int(res.rowcount or 0)


def requeue(conn: Connection, job_id: str, statuses: Sequence[str]) -> int:
    """Items in `statuses` back to pending with fresh attempts; returns how many."""
    res = conn.execute(
        update(score_job_items)
        .where(score_job_items.c.job_id == job_id, score_job_items.c.status.in_(list(statuses)))
        .values(status="pending", attempts=0, claim_token=None, updated_at=utcnow())
    )
    return int(res.rowcount or 0)


def item_counts(conn: Connection, job_id: str) -> dict[str, int]:
    """{status: n} over the job's items (every status present, zeros included)."""
    rows = conn.execute(
        select(score_job_items.c.status, func.count()).where(score_job_items.c.job_id == job_id)
        .group_by(score_job_items.c.status)
    ).all()
    counts = dict.fromkeys(ITEM_STATUSES, 0)
    counts.update({s: int(n) for s, n in rows})
    return counts


def finished_since(conn: Connection, job_id: str, since: datetime) -> int:
    """Items of the job that reached a final state after `since` (for throughput and ETA)."""
    return int(conn.execute(
        select(func.count()).select_from(score_job_items)
        .where(score_job_items.c.job_id == job_id,
               score_job_items.c.status.in_(["done", "failed", "too_long", "incomplete"]),
               score_job_items.c.updated_at >= since)
    ).scalar_one())


def error_groups(conn: Connection, job_id: str) -> list[dict]:
    """Errors of the job's items grouped by kind: [{error_kind, n, example, last_at}] largest first."""
    rows = conn.execute(
        select(score_job_items.c.error_kind, func.count().label("n"), func.max(score_job_items.c.last_error),
               func.max(score_job_items.c.updated_at))
        .where(score_job_items.c.job_id == job_id, score_job_items.c.error_kind.is_not(None))
        .group_by(score_job_items.c.error_kind).order_by(func.count().desc())
    ).all()
    return [{"error_kind": k, "n": int(n), "example": ex, "last_at": as_utc(at)} for k, n, ex, at in rows]


def job_items(conn: Connection, job_id: str, *, statuses: Sequence[str] | None = None, limit: int = 100) -> list[dict]:
    """Some items of a job (for the page's failure list), most recently updated first."""
    cond = [score_job_items.c.job_id == job_id]
    if statuses:
        cond.append(score_job_items.c.status.in_(list(statuses)))
    rows = conn.execute(select(score_job_items).where(*cond)
                        .order_by(score_job_items.c.updated_at.desc()).limit(limit)).mappings()
    return [dict(r) for r in rows]


# ----------------------------------------------------------------------------- reading scores


def scores_for_record(conn: Connection, record_id: str, *, judge_kind: str | None = None) -> list[dict]:
    """Every score of a record, newest first (a handful per record)."""
    cond = [scores.c.record_id == record_id]
    if judge_kind:
        cond.append(scores.c.judge_kind == judge_kind)
    rows = conn.execute(select(scores).where(*cond)
                        .order_by(scores.c.created_at.desc(), scores.c.score_id.desc())).mappings()
    out = []
    for r in rows:
        d = dict(r)
        d["created_at"] = as_utc(d["created_at"])
        out.append(d)
    return out


def count_scores(conn: Connection, *, job_id: str | None = None) -> int:
    """Stored scores (of one job, or all)."""
    stmt = select(func.count()).select_from(scores)
    if job_id is not None:
        stmt = stmt.where(scores.c.job_id == job_id)
    return int(conn.execute(stmt).scalar_one())


def job_judge(conn: Connection, job_id: str) -> str | None:
    """The judge name of one score of the job (what the endpoint said it was), None before the first."""
    return conn.execute(select(scores.c.judge).where(scores.c.job_id == job_id).limit(1)).scalar()


def raw_output_batch(conn: Connection, *, after_id: int, limit: int) -> list[tuple[int, str]]:
    """(score_id, raw_output) of the next `limit` scores after `after_id` (reparse pages through these)."""
    rows = conn.execute(select(scores.c.score_id, scores.c.raw_output).where(scores.c.score_id > after_id)
                        .order_by(scores.c.score_id).limit(limit)).all()
    return [(int(i), str(t)) for i, t in rows]


def complete_flags(conn: Connection, score_ids: list[int]) -> dict[int, bool]:
    """{score_id: complete} for some scores (reparse reports what changed)."""
    if not score_ids:
        return {}
    rows = conn.execute(select(scores.c.score_id, scores.c.complete).where(scores.c.score_id.in_(score_ids)))
    return {int(i): bool(c) for i, c in rows}


def update_parsed(conn: Connection, updates: list[dict]) -> None:
    """Apply re-parsed fields: each dict has score_id and the parsed columns (complete, overall, a1..)."""
    for u in updates:
        values = {k: v for k, v in u.items() if k != "score_id"}
        conn.execute(update(scores).where(scores.c.score_id == u["score_id"]).values(values))
    if updates:
        revisions_repo.bump(conn, revisions_repo.SCORES)  # counts and max ids cannot see this change


# ----------------------------------------------------------------------------- worker heartbeat


def worker_row(conn: Connection) -> dict | None:
    """The heartbeat row of the scoring worker, if one ever ran."""
    row = conn.execute(select(scoring_workers).where(scoring_workers.c.name == WORKER_LOCK)).mappings().first()
    if row is None:
        return None
    d = dict(row)
    d["started_at"], d["heartbeat_at"] = as_utc(d["started_at"]), as_utc(d["heartbeat_at"])
    return d


def take_worker_lock(conn: Connection, *, token: str, pid: int, host: str) -> None:
    """Write this worker into the heartbeat row (the caller decided the previous holder is gone)."""
    now = utcnow()
    values = {"token": token, "pid": pid, "host": host, "started_at": now, "heartbeat_at": now}
    if worker_row(conn) is None:
        conn.execute(insert(scoring_workers).values(name=WORKER_LOCK, **values))
    else:
        conn.execute(update(scoring_workers).where(scoring_workers.c.name == WORKER_LOCK).values(values))


def heartbeat(conn: Connection, token: str) -> bool:
    """Refresh the heartbeat; False when another worker has taken over (this one must stop)."""
    res = conn.execute(update(scoring_workers)
                       .where(scoring_workers.c.name == WORKER_LOCK, scoring_workers.c.token == token)
                       .values(heartbeat_at=utcnow()))
    return bool(res.rowcount)


def release_worker_lock(conn: Connection, token: str) -> None:
    """Age the heartbeat so the next worker starts at once (on a clean exit)."""
    conn.execute(update(scoring_workers)
                 .where(scoring_workers.c.name == WORKER_LOCK, scoring_workers.c.token == token)
                 .values(heartbeat_at=utcnow() - timedelta(days=1)))


def loads_json(text: str | None) -> dict:
    """Parse a stored JSON column, {} when empty."""
    return json.loads(text) if text else {}


def insert_scores(conn: Connection, new: Sequence[NewScore], *, batch: int = 5000) -> int:
    """Store many scores in batches (benchmark corpora; a job stores its results one by one with `insert_score`).

    Plain INSERTs: the caller gives each (job_id, record_id) once. Returns the rows stored.
    """
    for start in range(0, len(new), batch):
        conn.execute(insert(scores), [s.row() for s in new[start:start + batch]])
    return len(new)
