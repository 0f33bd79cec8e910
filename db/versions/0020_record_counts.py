"""How many records each source holds, kept by triggers on `records` (storage.record_counts).

Browse's unfiltered views and its last page counted the whole store with `count(*)` on every rerun, a scan
of an index over every record (111 ms at 700K on SQLite, 210-265 ms at 1M on PostgreSQL). The counts are
kept by the database itself, in the writing statement's transaction, so every path that adds or removes
records (the import, `bench scale`'s INSERT ... SELECT copies, a cascade or a delete by hand) keeps them
exact. SQLite: row triggers (one small upsert per record, ~µs). PostgreSQL: statement triggers over the
transition tables (one grouped upsert per statement), so a bulk copy does not rewrite the counter row once
per record.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_SQLITE = [
    "CREATE TRIGGER record_counts_insert AFTER INSERT ON records BEGIN "
    "INSERT INTO record_counts(source, n) VALUES (NEW.source, 1) ON CONFLICT(source) DO UPDATE SET n = n + 1; END",
    "CREATE TRIGGER record_counts_delete AFTER DELETE ON records BEGIN "
    "UPDATE record_counts SET n = n - 1 WHERE source = OLD.source; END",
    "CREATE TRIGGER record_counts_source AFTER UPDATE OF source ON records WHEN OLD.source IS NOT NEW.source BEGIN "
    "UPDATE record_counts SET n = n - 1 WHERE source = OLD.source; "
    "INSERT INTO record_counts(source, n) VALUES (NEW.source, 1) ON CONFLICT(source) DO UPDATE SET n = n + 1; END",
]
_PG_ADD = ("INSERT INTO record_counts(source, n) SELECT source, count(*) FROM {rows} GROUP BY source ORDER BY source "
           "ON CONFLICT (source) DO UPDATE SET n = record_counts.n + excluded.n")
_PG_REMOVE = ("UPDATE record_counts c SET n = c.n - g.n FROM "
              "(SELECT source, count(*) AS n FROM {rows} GROUP BY source) g WHERE c.source = g.source")


def _pg_function(name: str, body: str) -> str:
    return (f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body}; RETURN NULL; END $$")


_PG = [
    _pg_function("record_counts_added", _PG_ADD.format(rows="added")),
    _pg_function("record_counts_removed", _PG_REMOVE.format(rows="gone")),
    _pg_function("record_counts_moved", _PG_REMOVE.format(rows="(SELECT OLD.source AS source) o") + "; "
                 + _PG_ADD.format(rows="(SELECT NEW.source AS source) m")),
    _pg_function("record_counts_cleared", "DELETE FROM record_counts"),
    "CREATE TRIGGER record_counts_insert AFTER INSERT ON records REFERENCING NEW TABLE AS added "
    "FOR EACH STATEMENT EXECUTE FUNCTION record_counts_added()",
    "CREATE TRIGGER record_counts_delete AFTER DELETE ON records REFERENCING OLD TABLE AS gone "
    "FOR EACH STATEMENT EXECUTE FUNCTION record_counts_removed()",
    "CREATE TRIGGER record_counts_source AFTER UPDATE OF source ON records FOR EACH ROW "
    "WHEN (OLD.source IS DISTINCT FROM NEW.source) EXECUTE FUNCTION record_counts_moved()",
    "CREATE TRIGGER record_counts_truncate AFTER TRUNCATE ON records "
    "FOR EACH STATEMENT EXECUTE FUNCTION record_counts_cleared()",
]
TRIGGERS = ("record_counts_insert", "record_counts_delete", "record_counts_source", "record_counts_truncate")
FUNCTIONS = ("record_counts_added", "record_counts_removed", "record_counts_moved", "record_counts_cleared")


def upgrade() -> None:
    op.create_table("record_counts", sa.Column("source", sa.String(100), primary_key=True),
                    sa.Column("n", sa.BigInteger, nullable=False))
    op.execute("INSERT INTO record_counts(source, n) SELECT source, count(*) FROM records GROUP BY source")
    for stmt in _SQLITE if op.get_bind().dialect.name == "sqlite" else _PG:
        op.execute(stmt)


def downgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (" ON records" if pg else ""))
    if pg:
        for name in FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    op.drop_table("record_counts")
