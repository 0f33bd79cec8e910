"""Plain reads for benchmark baselines: what the simplest code would read, to set a measured figure against.

`export_baseline_rows` is the export benchmark's baseline: the same number of rows and the list's text and
count columns, read in table order straight from the cursor, with no scores and no selection behind them.
Never used by the app.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlalchemy import Connection, select

from mira_core.storage.rows import stream_tuples
from mira_core.storage.tables import records


def export_baseline_rows(conn: Connection, limit: int) -> Iterator[Sequence[tuple]]:
    """(record_id, source, instance_id, token_estimate) of `limit` records, in batches, in table order."""
    stmt = select(records.c.record_id, records.c.source, records.c.instance_id, records.c.token_estimate)
    return stream_tuples(conn, stmt.limit(limit))
