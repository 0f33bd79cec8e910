"""INSERT … ON CONFLICT DO NOTHING of many rows, SQLite's rows handed to the driver as tuples.

An import inserts three rows per record (metadata, bodies, search). Through a compiled SQLAlchemy statement
each row's parameters are rebuilt in Python (`construct_params` and the type processors, per row and
column): ~0.07 ms per record on the 20K benchmark corpus, a third of the parent's CPU there. On SQLite the
same statement is written once per batch and the rows go to `executemany` as tuples, with the columns' own
bind processors applied (so the stored values are the ones SQLAlchemy would store: `DateTime` as its text,
`Boolean` as 0/1). PostgreSQL keeps the compiled statement.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import itemgetter

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql


def insert_ignore(conn: Connection, table: Table, rows: Sequence[Mapping[str, object]],
                  index_elements: Sequence[str]) -> None:
    """Insert `rows` (all with the same keys) into `table`, skipping rows whose `index_elements` exist."""
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        # The statement compiles once and is cached (a multi-row VALUES clause recompiled per batch cost ~40%
        # of import time).
        conn.execute(postgresql.insert(table).on_conflict_do_nothing(index_elements=list(index_elements)), rows)
        return
    cols = list(rows[0])
    sql = (f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) "
           f"ON CONFLICT ({', '.join(index_elements)}) DO NOTHING")
    dialect = conn.dialect
    procs = [(i, p) for i, c in enumerate(cols)
             if (p := table.c[c].type.dialect_impl(dialect).bind_processor(dialect)) is not None]
    values_of = itemgetter(*cols) if len(cols) > 1 else lambda r: (r[cols[0]],)
    if not procs:
        conn.exec_driver_sql(sql, [values_of(r) for r in rows])
        return
    tuples = []
    for r in rows:
        values = list(values_of(r))
        for i, p in procs:
            if values[i] is not None:
                values[i] = p(values[i])
        tuples.append(tuple(values))
    conn.exec_driver_sql(sql, tuples)

