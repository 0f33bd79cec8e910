"""The activity log: one append-only row per change, read newest first (rows only)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Connection, insert, select

from mira_core.storage.tables import activity
from mira_core.timeutil import as_utc, utcnow


class ActivityRow(NamedTuple):
    """One change: who, when, through what, what kind, on what, and the JSON detail."""

    activity_id: int
    at: datetime
    actor: str
    via: str
    kind: str
    target_kind: str
    target_id: str | None
    record_id: str | None
    detail: str


def insert_activity(conn: Connection, *, actor: str, via: str, kind: str, target_kind: str,
                    target_id: str | None, record_id: str | None, detail: str) -> None:
    """Append one change in the caller's transaction (so the change and its record commit together)."""
    conn.execute(insert(activity).values(at=utcnow(), actor=actor, via=via, kind=kind, target_kind=target_kind,
                                         target_id=target_id, record_id=record_id, detail=detail))


def list_activity(conn: Connection, *, actors: Sequence[str] = (), kinds: Sequence[str] = (),
                  record_id: str | None = None, limit: int = 100, before_id: int | None = None) -> list[ActivityRow]:
    """Changes newest first, filtered by person, kind and record; `before_id` pages back (keyset)."""
    stmt = select(*activity.c)
    if actors:
        stmt = stmt.where(activity.c.actor.in_(list(actors)))
    if kinds:
        stmt = stmt.where(activity.c.kind.in_(list(kinds)))
    if record_id:
        stmt = stmt.where(activity.c.record_id == record_id)
    if before_id is not None:
        stmt = stmt.where(activity.c.activity_id < before_id)
    stmt = stmt.order_by(activity.c.activity_id.desc()).limit(limit)
    return [ActivityRow(r[0], as_utc(r[1]) or r[1], *r[2:]) for r in conn.execute(stmt)]


def distinct_values(conn: Connection, column: str) -> list[str]:
    """The distinct people (`actor`) or kinds (`kind`) in the log, sorted (for the Activity filters)."""
    if column not in ("actor", "kind"):
        raise ValueError(f"activity has no filter column {column!r}")
    col = activity.c[column]
    return [str(v) for v in conn.execute(select(col).distinct().order_by(col)).scalars()]
