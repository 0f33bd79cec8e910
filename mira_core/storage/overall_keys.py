"""Each record's latest complete student score, kept on its `records` row as two sort keys (migration 0016).

Browse sorts and filters by that score. Computed from `scores` per query, the sort joined every latest score
and sorted the whole store (1-2 s at 2.3M records; 160 ms at 232K on PostgreSQL), and a score bound probed
every score above it. `overall_desc_key` is the overall or -1 (no score: last when sorted high to low),
`overall_asc_key` the overall or 101 (last when sorted low to high): both never NULL, so a plain index on
(key, record_id) serves either direction and keyset steps, and `key >= n` / `key <= n` are range scans.
Every write of a student score calls `refresh_overall_keys` in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from sqlalchemy import Connection, Update, bindparam, func, update

from mira_core.storage.record_filter import latest_overall_scalar
from mira_core.storage.tables import records

NO_SCORE_DESC = -1
NO_SCORE_ASC = 101
_CHUNK = 2000


@cache
def _one_record_update() -> Update:
    """The refresh of one record, built once: the worker runs it for every score (building it cost ~2 ms)."""
    return update(records).where(records.c.record_id == bindparam("rid")).values(
        overall_desc_key=func.coalesce(latest_overall_scalar(), NO_SCORE_DESC),
        overall_asc_key=func.coalesce(latest_overall_scalar(), NO_SCORE_ASC))


def refresh_overall_keys(conn: Connection, record_ids: Iterable[str]) -> None:
    """Recompute both keys of these records from their scores (a no-op for an empty list)."""
    ids = sorted(set(record_ids))
    if len(ids) == 1:
        conn.execute(_one_record_update(), {"rid": ids[0]})
        return
    for start in range(0, len(ids), _CHUNK):
        latest = latest_overall_scalar()
        conn.execute(update(records).where(records.c.record_id.in_(ids[start:start + _CHUNK])).values(
            overall_desc_key=func.coalesce(latest, NO_SCORE_DESC),
            overall_asc_key=func.coalesce(latest_overall_scalar(), NO_SCORE_ASC)))
