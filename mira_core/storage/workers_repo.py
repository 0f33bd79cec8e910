"""Scoring workers' heartbeat rows and the leases they hold on job items: all SQL of "who is working".

Each worker writes its own row (keyed by its token) and refreshes it; an item it claims carries the same
token, so a claim is a lease that lasts as long as the claimer's row. Rows of dead workers are deleted by
whoever notices (`delete_workers`), and `reclaim_orphans` then hands back every running item whose token has
no row. Because a row is written before its worker claims anything, this needs no snapshot of who is alive:
two workers starting together never take back each other's fresh claims.

Whether several workers may run at once is the caller's rule (`scoring.worker_lock`): one per SQLite
database, any number on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, delete, exists, insert, select, update

from mira_core.storage.rows import as_utc, utcnow
from mira_core.storage.tables import score_job_items, score_jobs, scoring_workers


def worker_rows(conn: Connection) -> list[dict]:
    """Every worker row (live or not), freshest heartbeat first; times UTC-aware."""
    rows = conn.execute(select(scoring_workers).order_by(scoring_workers.c.heartbeat_at.desc())).mappings()
    out = []
    for r in rows:
        d = dict(r)
        d["started_at"], d["heartbeat_at"] = as_utc(d["started_at"]), as_utc(d["heartbeat_at"])
        out.append(d)
    return out


def register_worker(conn: Connection, *, token: str, pid: int, host: str) -> None:
    """Write this worker's own row (its token is unique, so simultaneous starts never collide)."""
    now = utcnow()
    conn.execute(insert(scoring_workers).values(name=token, token=token, pid=pid, host=host, started_at=now,
                                                heartbeat_at=now))


def heartbeat(conn: Connection, token: str, *, endpoints_json: str | None = None) -> bool:
    """Refresh the heartbeat (and what the worker sees of its endpoints); False when its row is gone.

    A missing row means another worker took this one for dead: it must stop.
    """
    values: dict[str, object] = {"heartbeat_at": utcnow()}
    if endpoints_json is not None:
        values["endpoints_json"] = endpoints_json
    res = conn.execute(update(scoring_workers).where(scoring_workers.c.token == token).values(**values))
    return bool(res.rowcount)


def delete_workers(conn: Connection, tokens: Sequence[str]) -> int:
    """Remove the rows of workers found dead (or of one that exits cleanly); returns how many went."""
    if not tokens:
        return 0
    res = conn.execute(delete(scoring_workers).where(scoring_workers.c.token.in_(list(tokens))))
    return int(res.rowcount or 0)


def reclaim_orphans(conn: Connection) -> int:
    """Running items whose claimer has no row back to pending (the attempt did not count); returns how many.

    Items of Ray jobs are left alone: their claimer is a Ray run's driver, which has no worker row (the next
    `job run-ray` takes back a dead run's claims).
    """
    has_row = exists().where(scoring_workers.c.token == score_job_items.c.claim_token)
    worker_jobs = select(score_jobs.c.job_id).where(score_jobs.c.runner == "worker")
    res = conn.execute(update(score_job_items).where(score_job_items.c.status == "running", ~has_row,
                                                     score_job_items.c.job_id.in_(worker_jobs)).values(
        status="pending", claim_token=None, attempts=score_job_items.c.attempts - 1, updated_at=utcnow()))
    return int(res.rowcount or 0)
