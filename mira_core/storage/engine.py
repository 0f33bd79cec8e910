"""Engine creation with the per-connection settings SQLite needs, checked on every connection.

WAL lets readers (pages) run beside one writer (an import or a scoring worker); `busy_timeout` waits
instead of failing; `BEGIN IMMEDIATE` takes the write lock up front, because a read-then-write
transaction otherwise fails at once with "database is locked" when another connection committed between.
Writers of one process also queue on a lock of their own before `BEGIN IMMEDIATE`: SQLite's busy handler
sleeps (1, 2, 5 … 100 ms) between tries, so threads contending through it (a worker storing 100 results a
second from several threads) waited tens of milliseconds for a lock that was free after one; a Python lock
hands it over at once. Other processes still meet at SQLite's lock and its busy timeout.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from mira_core.errors import StorageError

if TYPE_CHECKING:
    import sqlite3

    from sqlalchemy.pool import ConnectionPoolEntry

SQLITE_PRAGMAS = (
    # 8 KiB pages: records' bodies are ~15 KB of compressed blobs; bulk inserts ran ~15% faster than with
    # 4 KiB (docs/BENCHMARKS.md). Only takes effect when the file is created, so it comes before WAL.
    ("page_size", "8192"),
    ("journal_mode", "wal"),
    ("foreign_keys", "1"),
    ("busy_timeout", "30000"),
    ("synchronous", "NORMAL"),
    # Imports write ~10 MB per transaction: a 64 MiB page cache (allocated only as pages are used) and a
    # checkpoint every ~80 MB of WAL instead of every 8 MB cut their commit time by about a fifth.
    ("cache_size", "-65536"),
    ("wal_autocheckpoint", "10000"),
)
POOL = {"pool_size": 12, "max_overflow": 24}
"""Connections kept open per engine, and extra ones opened (and closed again) at peaks. A server process
runs one script thread per curator's rerun; with SQLAlchemy's default of 5 kept, a sixth concurrent rerun
opened and closed a PostgreSQL connection (a new backend process) for each read."""


_WRITE_LOCKS: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()
"""One lock per SQLite engine: this process's writers queue here, not in SQLite's sleeping busy handler."""


def is_sqlite(engine: Engine) -> bool:
    """True for SQLite engines; the dialect-aware code paths branch on this."""
    return engine.dialect.name == "sqlite"


def _install_sqlite_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (pysqlite's own is deferred)
        cur = dbapi_conn.cursor()
        for name, value in SQLITE_PRAGMAS:
            cur.execute(f"PRAGMA {name}={value}")
        cur.execute("PRAGMA journal_mode")
        mode = cur.fetchone()[0]
        if mode != "wal" and not str(engine.url.database or "").startswith(":memory:"):
            raise RuntimeError(f"SQLite refused WAL mode (got {mode!r}); is the database on a network filesystem?")
        cur.execute("PRAGMA foreign_keys")
        if cur.fetchone()[0] != 1:
            raise RuntimeError("SQLite foreign keys could not be enabled")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the lock up front; readers stay deferred so pages never queue behind an import.
        write = conn.get_execution_options().get("mira_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def make_engine(url: str) -> Engine:
    """A new engine for `url`; SQLite parent folders are created so a fresh checkout just works."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database or ""
        if db and not db.startswith(":memory:") and not db.startswith("file:"):
            Path(db).parent.mkdir(parents=True, exist_ok=True)
        in_memory = not db or db.startswith(":memory:") or "mode=memory" in db
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False},
                               **({} if in_memory else POOL))  # in-memory databases use one connection per thread
        _install_sqlite_hooks(engine)
        _WRITE_LOCKS[engine] = threading.RLock()  # re-entrant: a nested write_tx fails in SQLite, not here
        return engine
    return create_engine(url, pool_pre_ping=True, **POOL)


@lru_cache(maxsize=8)
def shared_engine(url: str) -> Engine:
    """One engine per URL per process (pages and CLI reuse its pool)."""
    return make_engine(url)


def storage_error(exc: SQLAlchemyError) -> StorageError:
    """The driver's first line as a `StorageError`, so callers above storage never see SQLAlchemy."""
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    return StorageError(lines[0] if lines else type(orig).__name__)


@contextmanager
def write_tx(engine: Engine, *, journal_in_memory: bool = False) -> Iterator[Connection]:
    """A write transaction (BEGIN IMMEDIATE on SQLite); commits on success, rolls back on error.

    `journal_in_memory` (SQLite; for many small statements such as an import's batch inserts): statement
    journals stay in memory instead of SQLite's temporary files. Each inserted record journals the ~15 index
    pages it touches (8 KiB each) and SQLite spills past 64 KiB, so an import wrote ~120 KB per record to
    temp files (600K `pwrite` calls for 20K records, ~0.8 CPU-s of system time). Not for statements that
    change whole tables: their journal would then be held in memory.
    SQLAlchemy errors leave as `StorageError`; every other exception passes through unchanged.
    """
    try:
        with _WRITE_LOCKS.get(engine) or nullcontext(), engine.connect() as conn:
            conn.execution_options(mira_write=True)
            with _temp_store_in_memory(conn, journal_in_memory and is_sqlite(engine)), conn.begin():
                yield conn
    except SQLAlchemyError as exc:
        raise storage_error(exc) from exc


@contextmanager
def _temp_store_in_memory(conn: Connection, on: bool) -> Iterator[None]:
    """SQLite's `temp_store` MEMORY for the block (when `on`), and back to the default after (pooled connection).

    Set on the driver's connection outside any transaction (SQLAlchemy would begin one around a PRAGMA).
    """
    if not on:
        yield
        return
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    dbapi.execute("PRAGMA temp_store=MEMORY")
    try:
        yield
    finally:
        dbapi.execute("PRAGMA temp_store=DEFAULT")


@contextmanager
def read_conn(engine: Engine) -> Iterator[Connection]:
    """A read-only use of a connection (deferred transaction, rolled back at the end); errors as in `write_tx`."""
    try:
        with engine.connect() as conn:
            yield conn
    except SQLAlchemyError as exc:
        raise storage_error(exc) from exc
