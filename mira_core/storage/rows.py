"""Small helpers every repository shares: fast row fetching (UTC times come from `timeutil`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from sqlalchemy import Connection, Select

from mira_core.timeutil import as_utc, utcnow

__all__ = ["as_utc", "fetch_tuples", "stream_tuples", "utcnow"]


def _compiled(conn: Connection, stmt: Select) -> tuple[str, Mapping[str, object] | Sequence[object]]:
    """The statement's SQL text and parameters for the DB-API cursor of `conn`."""
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params: Mapping[str, object] | Sequence[object] = compiled.params
    if compiled.positional:
        params = tuple(compiled.params[k] for k in compiled.positiontup or ())
    return str(compiled), params


def fetch_tuples(conn: Connection, stmt: Select) -> list[tuple]:
    """Rows as plain tuples straight from the DB-API cursor, on the same connection and transaction.

    SQLAlchemy's per-row objects cost about 40% of the load time when reading 232K score rows.
    """
    sql, params = _compiled(conn, stmt)
    cur = conn.connection.cursor()
    try:
        cur.execute(sql, params)
        return list(cur.fetchall())
    finally:
        cur.close()


def stream_tuples(conn: Connection, stmt: Select, batch: int = 50_000) -> Iterator[list[tuple]]:
    """Rows in batches of plain tuples from the DB-API cursor, never the whole result at once.

    On PostgreSQL the cursor is a server-side (named) one: a plain psycopg cursor receives the whole result
    into client memory on `execute`. Exhaust the iterator (or close it) inside the caller's transaction.
    """
    sql, params = _compiled(conn, stmt)
    raw = conn.connection.dbapi_connection
    assert raw is not None
    cur = raw.cursor(name="mira_stream") if conn.dialect.name == "postgresql" else raw.cursor()
    try:
        cur.execute(sql, params)
        while rows := cur.fetchmany(batch):
            yield list(rows)
    finally:
        cur.close()
