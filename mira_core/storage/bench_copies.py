"""Copies of the stored records under new ids, for benchmarks at sizes too large to generate and import.

`bench scale` imports a base corpus through the real pipeline, then calls `copy_records` once per copy:
every base record (a 24-character id) is copied with a two-digit suffix on its id, with its student and
teacher scores and its full-text row, in one INSERT ... SELECT per table. Bodies are not copied: the pages
list, filter, sort and search `records`, `scores` and the search index, which then hold the full row count,
and read one body by primary key when a record is opened (a base record). Never used on real data.
"""

from __future__ import annotations

from sqlalchemy import Connection, func, insert, literal, select, text

from mira_core.storage.tables import records, scores

BASE_ID_LENGTH = 24


def copy_records(conn: Connection, copy: int) -> int:
    """Insert copy number `copy` (1-99) of every base record, its scores and search row; returns records added."""
    if not 1 <= copy <= 99:
        raise ValueError("copy must be 1..99")
    suffix = f"{copy:02d}"
    base = func.length(records.c.record_id) == BASE_ID_LENGTH
    cols = [c.name for c in records.columns]
    picked = [(records.c.record_id + literal(suffix)) if c == "record_id" else records.c[c] for c in cols]
    added = conn.execute(insert(records).from_select(cols, select(*picked).where(base))).rowcount
    score_cols = [c.name for c in scores.columns if c.name != "score_id"]
    score_pick = [(scores.c.record_id + literal(suffix)) if c == "record_id" else scores.c[c] for c in score_cols]
    conn.execute(insert(scores).from_select(
        score_cols, select(*score_pick).where(func.length(scores.c.record_id) == BASE_ID_LENGTH)))
    if conn.dialect.name == "sqlite":  # the search row shares its record's rowid (migration 0007)
        conn.execute(text(
            "INSERT INTO records_fts(rowid, record_id, instance_id, issue, patch) "
            "SELECT c.rowid, c.record_id, f.instance_id, f.issue, f.patch FROM records_fts f "
            "JOIN records c ON c.record_id = f.record_id || :suffix WHERE length(f.record_id) = :n"),
            {"suffix": suffix, "n": BASE_ID_LENGTH})
    else:
        conn.execute(text("INSERT INTO record_search (record_id, doc) SELECT record_id || :suffix, doc "
                          "FROM record_search WHERE length(record_id) = :n"), {"suffix": suffix, "n": BASE_ID_LENGTH})
    return int(added or 0)


def analyze(conn: Connection) -> None:
    """Refresh the planner's statistics after a bulk load (what PostgreSQL's autovacuum does soon after)."""
    conn.execute(text("ANALYZE"))
