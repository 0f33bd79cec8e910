"""Full-text index upkeep: SQLite's FTS5 `records_fts` and PostgreSQL's `record_search` tsvector rows.

Rows are written here when records are inserted; on SQLite they share their record's rowid (migration 0007),
and every start checks that they still do (`search_rows_aligned`, `rekey_search`, run by `migrate.upgrade`).
Queries against the index are compiled with the other filters (`record_filter.text_condition`).
"""

from __future__ import annotations

from sqlalchemy import Connection, literal_column, select, text

from mira_core.storage.prepared_rows import SearchRow
from mira_core.storage.tables import records


def index_search(conn: Connection, rows: list[SearchRow]) -> None:
    """Add the search rows of records just inserted (`rows`: record_id, instance_id, issue, patch)."""
    if conn.dialect.name == "sqlite":
        # The search row shares its record's rowid, so a text filter joins on rowids from the FTS index
        # alone instead of reading each match's stored text to get its record id (migration 0007). Rowids
        # are read in one query per batch: an INSERT ... SELECT per row cost 40% more SQLite time.
        ids = [r["record_id"] for r in rows]
        found = conn.execute(select(records.c.record_id, literal_column("records.rowid"))
                             .where(records.c.record_id.in_(ids)))
        rowid_of: dict[str, int] = {rid: int(rowid) for rid, rowid in found}
        # Plain tuples to the driver: SQLAlchemy's per-row parameter building cost more than FTS5's insert.
        conn.exec_driver_sql(
            "INSERT INTO records_fts(rowid, record_id, instance_id, issue, patch) VALUES (?, ?, ?, ?, ?)",
            [(rowid_of[r["record_id"]], r["record_id"], r["instance_id"], r["issue"], r["patch"]) for r in rows],
        )
    else:
        conn.execute(
            text(
                "INSERT INTO record_search(record_id, doc) VALUES (:record_id, "
                "setweight(to_tsvector('simple', :instance_id), 'A') || "
                "to_tsvector('simple', left(:issue, 200000)) || to_tsvector('simple', left(:patch, 200000))) "
                "ON CONFLICT (record_id) DO NOTHING"
            ),
            rows,
        )


def search_rows_aligned(conn: Connection) -> bool:
    """SQLite: whether the search rows still share their records' rowids.

    A sub-millisecond check (as many search rows as records, the newest 100 aligned) that a store edited by
    hand fails: deleted records leave search rows behind, and a VACUUM after a delete renumbers every later
    record.
    """
    n = conn.execute(text("SELECT count(*) FROM records")).scalar()
    if n != conn.execute(text("SELECT count(*) FROM records_fts_docsize")).scalar():
        return False
    newest = conn.execute(text(
        "SELECT count(*) FROM (SELECT rowid AS fts_rowid, record_id FROM records_fts ORDER BY rowid DESC LIMIT 100) f "
        "JOIN records r ON r.record_id = f.record_id AND r.rowid = f.fts_rowid")).scalar()
    return newest == min(int(n or 0), 100)


def rekey_search(conn: Connection) -> None:
    """SQLite: rebuild the search rows keyed by their records' rowids.

    Drops the rows of records that are gone. It re-tokenizes every row (seconds per 100K records), so it runs
    only when `search_rows_aligned` fails.
    """
    conn.execute(text("CREATE VIRTUAL TABLE records_fts_rekeyed USING fts5("
                      "record_id UNINDEXED, instance_id, issue, patch, tokenize='unicode61')"))
    conn.execute(text("INSERT INTO records_fts_rekeyed(rowid, record_id, instance_id, issue, patch) "
                      "SELECT r.rowid, f.record_id, f.instance_id, f.issue, f.patch "
                      "FROM records_fts f JOIN records r ON r.record_id = f.record_id"))
    conn.execute(text("DROP TABLE records_fts"))
    conn.execute(text("ALTER TABLE records_fts_rekeyed RENAME TO records_fts"))
