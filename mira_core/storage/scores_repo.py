"""Scores, scoring jobs and their items, the worker heartbeat: all SQL of the scoring runtime.

Every write is safe to repeat. A result is stored only by the worker that claimed the item (its
`claim_token`), in the same transaction that marks the item finished, and `scores` has a unique
(job_id, record_id): a killed or duplicated worker can never store a record twice for one job.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import cache

from sqlalchemy import (
    Connection,
    Executable,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from mira_core.dimensions import COLUMNS, SLOTS
from mira_core.storage import revisions_repo
from mira_core.storage.overall_keys import refresh_overall_keys
from mira_core.storage.packed_slots import with_packed
from mira_core.storage.rows import as_utc, utcnow
from mira_core.storage.tables import score_job_items, score_jobs, scores

ITEM_STATUSES = ("pending", "running", "done", "partial", "failed", "too_long", "incomplete")
"""`partial`: a score is stored but some dimensions were missing or invalid (it can be re-queued)."""
FINAL_STATUSES = ("done", "partial", "failed", "too_long", "incomplete")
JOB_STATUSES = ("preparing", "queued", "running", "paused", "cancelled", "done")


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
    usage_prompt_tokens: int | None = None
    """The endpoint's own count of the prompt (`usage.prompt_tokens`)."""
    record_tokens: int | None = None
    """The record's tokens measured from the usage count (see the `scores` table)."""

    def row(self) -> dict[str, object]:
        """The `scores` row for this score."""
        data = asdict(self)
        slots = data.pop("slots")
        data["parsed"] = data.pop("parsed_json")
        data["created_at"] = utcnow()
        for slot, col in zip(SLOTS, COLUMNS, strict=True):
            data[col] = slots.get(slot)
        return data


def insert_score(conn: Connection, score: NewScore) -> bool:
    """Store a score; False when this job already stored a complete one for the record (a no-op).

    A stored *incomplete* score of the same job is replaced (a re-queued partial item scored again); the
    scores revision is bumped then, since counts and max ids cannot see a change in place.
    """
    if score.job_id is not None:
        old = conn.execute(select(scores.c.score_id, scores.c.complete)
                           .where(scores.c.job_id == score.job_id, scores.c.record_id == score.record_id)).first()
        if old is not None:
            if old.complete:
                return False
            values = with_packed(score.row(), conn.dialect.name)
            conn.execute(update(scores).where(scores.c.score_id == old.score_id).values(values))
            revisions_repo.bump(conn, revisions_repo.SCORES)
            refresh_overall_keys(conn, [score.record_id])
            return True
    stored = conn.execute(_insert_new_score(conn.dialect.name), score.row()).first() is not None
    if stored and score.judge_kind == "student":
        refresh_overall_keys(conn, [score.record_id])
    return stored


# ----------------------------------------------------------------------------- items


def claim_items(conn: Connection, job_id: str, n: int, token: str) -> list[tuple[str, int]]:
    """Mark up to `n` pending items of the job running under `token`; returns (record id, attempt number).

    On PostgreSQL the rows are taken `FOR UPDATE SKIP LOCKED`, so workers claiming at the same moment get
    disjoint items; SQLite's write transaction already admits one claimer at a time (the clause is omitted).
    Only rows this statement actually moved are returned.
    """
    item = score_job_items.c
    ids = list(conn.execute(
        select(item.record_id).where(item.job_id == job_id, item.status == "pending")
        .order_by(item.record_id).limit(n).with_for_update(skip_locked=True)
    ).scalars())
    if not ids:
        return []
    rows = conn.execute(
        update(score_job_items).where(item.job_id == job_id, item.record_id.in_(ids), item.status == "pending")
        .values(status="running", claim_token=token, attempts=item.attempts + 1, updated_at=utcnow())
        .returning(item.record_id, item.attempts)
    ).all()
    return sorted((str(rid), int(att)) for rid, att in rows)


@cache
def _insert_new_score(dialect: str) -> Executable:
    """INSERT of one score unless its (job, record) is stored; built once (per result it cost ~0.5 ms of CPU)."""
    insert_for = sqlite.insert if dialect == "sqlite" else postgresql.insert
    return insert_for(scores).on_conflict_do_nothing(index_elements=["job_id", "record_id"]).returning(
        scores.c.score_id)


@cache
def _finish_claimed() -> Executable:
    """UPDATE of one claimed item to its final state, built once (the worker runs it for every result)."""
    item = score_job_items.c
    return update(score_job_items).where(
        item.job_id == bindparam("k_job"), item.record_id == bindparam("k_record"), item.status == "running",
        item.claim_token == bindparam("k_token"),
    ).values(status=bindparam("v_status"), error_kind=bindparam("v_kind"), last_error=bindparam("v_error"),
             last_output=bindparam("v_output"), updated_at=bindparam("v_at"))


def finish_item(conn: Connection, job_id: str, record_id: str, token: str, *, status: str,
                error_kind: str | None = None, last_error: str | None = None, last_output: str | None = None,
                score: NewScore | None = None) -> bool:
    """Record an item's final state (and its score) if `token` still holds it; False = result discarded."""
    res = conn.execute(_finish_claimed(), {
        "k_job": job_id, "k_record": record_id, "k_token": token, "v_status": status, "v_kind": error_kind,
        "v_error": last_error, "v_output": last_output, "v_at": utcnow()})
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
    """Running items back to pending: all worker jobs' (a new worker took over), one job's, or one claimer's.

    Without a job or a token, items of Ray jobs are left alone: a Ray run holds them, not a worker.
    """
    cond = [score_job_items.c.status == "running"]
    if job_id is not None:
        cond.append(score_job_items.c.job_id == job_id)
    elif token is None:
        cond.append(score_job_items.c.job_id.in_(select(score_jobs.c.job_id).where(score_jobs.c.runner == "worker")))
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
               score_job_items.c.status.in_(list(FINAL_STATUSES)),
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
        values = with_packed({k: v for k, v in u.items() if k != "score_id"}, conn.dialect.name)
        conn.execute(update(scores).where(scores.c.score_id == u["score_id"]).values(values))
    if updates:
        revisions_repo.bump(conn, revisions_repo.SCORES)  # counts and max ids cannot see this change
        ids = [u["score_id"] for u in updates]
        refresh_overall_keys(conn, conn.scalars(select(scores.c.record_id).where(scores.c.score_id.in_(ids))))


def loads_json(text: str | None) -> dict:
    """Parse a stored JSON column, {} when empty."""
    return json.loads(text) if text else {}


IN_FLIGHT_JOBS = ("preparing", "queued", "running")


def record_job_in_flight(conn: Connection, record_id: str) -> str | None:
    """The id of a live job (preparing, queued or running) that has yet to score `record_id`, else None.

    The few live jobs are found by status first, so the item lookup uses the (job_id, record_id) key.
    """
    live = select(score_jobs.c.job_id).where(score_jobs.c.status.in_(IN_FLIGHT_JOBS))
    return conn.execute(select(score_job_items.c.job_id).where(
        score_job_items.c.job_id.in_(live), score_job_items.c.record_id == record_id,
        score_job_items.c.status.in_(["pending", "running"])).limit(1)).scalar()


def insert_scores(conn: Connection, new: Sequence[NewScore], *, batch: int = 5000) -> int:
    """Store many scores in batches (benchmark corpora; a job stores its results one by one with `insert_score`).

    Plain INSERTs: the caller gives each (job_id, record_id) once. Returns the rows stored.
    """
    for start in range(0, len(new), batch):
        conn.execute(insert(scores), [s.row() for s in new[start:start + batch]])
    refresh_overall_keys(conn, [s.record_id for s in new if s.judge_kind == "student"])
    return len(new)
