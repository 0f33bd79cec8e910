"""The import benchmark's baseline: the same stored rows written with plain `sqlite3` `executemany`.

It copies `records` (metadata) and `record_bodies` (compressed normalized body + compressed raw) from the
database the real pipeline built into a fresh database with the same schema, one transaction per batch as
the pipeline does. Only the writes are timed, so the figure is the floor of what storing these rows costs
on this machine, without reading, parsing, normalizing, compressing or search indexing.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

TABLES = ("records", "record_bodies")


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


def copy_rows_seconds(src: Path, dst: Path, batch: int = 500) -> tuple[float, int]:
    """(seconds spent writing, rows of `records` written) copying TABLES from `src` into migrated `dst`."""
    read = sqlite3.connect(src)
    write = sqlite3.connect(dst, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
        write.execute(f"PRAGMA {pragma}")
    spent, copied = 0.0, 0
    try:
        ids = read.execute("SELECT record_id FROM records ORDER BY rowid")
        while True:
            chunk = [r[0] for r in ids.fetchmany(batch)]
            if not chunk:
                break
            marks = ",".join("?" * len(chunk))
            loaded = {}
            for table in TABLES:
                cols = _columns(read, table)
                rows = read.cursor().execute(f"SELECT {', '.join(cols)} FROM {table} WHERE record_id IN ({marks})", chunk).fetchall()
                loaded[table] = (cols, rows)
            t = time.perf_counter()
            write.execute("BEGIN IMMEDIATE")
            for table, (cols, rows) in loaded.items():
                write.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", rows)
            write.execute("COMMIT")
            spent += time.perf_counter() - t
            copied += len(chunk)
    finally:
        read.close()
        write.close()
    return spent, copied
