"""Record counts the database keeps per source (`record_counts`, maintained by migration 0020's triggers).

An unfiltered Browse view, a view filtered by source alone and the last page need the number of matches on
every rerun; `count(*)` over `records` scans an index of every record (hundreds of ms at millions of
records), while these rows answer at once. The triggers run inside the statement that inserts or deletes
records, so the counts are exact in every transaction that reads them.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, func, select

from mira_core.query import RecordFilter, search_words
from mira_core.storage.tables import record_counts


def counted_sources(f: RecordFilter) -> list[str] | None:
    """The sources whose kept counts answer `f` ([] for every source), or None when `f` filters on more."""
    rest = f.model_copy(update={"sources": [], "text": " ".join(search_words(f.text))})
    return list(f.sources) if rest == RecordFilter() else None


def kept_count(conn: Connection, sources: Sequence[str]) -> int:
    """Records of `sources` (every record when empty), from the kept counts."""
    stmt = select(func.coalesce(func.sum(record_counts.c.n), 0))
    if sources:
        stmt = stmt.where(record_counts.c.source.in_(list(dict.fromkeys(sources))))
    return int(conn.execute(stmt).scalar_one())
