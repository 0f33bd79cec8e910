"""SQLite: full-text rows share their record's rowid (text filters then join on rowids from the index).

Stores imported before this kept the two rowids in step in practice (both tables got the same fresh rows
in the same order); any store where they differ gets its FTS table rebuilt keyed by `records.rowid`.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

FTS_COLUMNS = "record_id UNINDEXED, instance_id, issue, patch, tokenize='unicode61'"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    off = bind.exec_driver_sql(
        "SELECT count(*) FROM records_fts f LEFT JOIN records r ON r.record_id = f.record_id "
        "WHERE r.rowid IS NULL OR r.rowid != f.rowid"
    ).scalar()
    if not off:
        return
    op.execute(f"CREATE VIRTUAL TABLE records_fts_rekeyed USING fts5({FTS_COLUMNS})")
    op.execute(
        "INSERT INTO records_fts_rekeyed(rowid, record_id, instance_id, issue, patch) "
        "SELECT r.rowid, f.record_id, f.instance_id, f.issue, f.patch "
        "FROM records_fts f JOIN records r ON r.record_id = f.record_id"
    )
    op.execute("DROP TABLE records_fts")
    op.execute("ALTER TABLE records_fts_rekeyed RENAME TO records_fts")


def downgrade() -> None:
    """Nothing to undo: rowid-keyed rows are valid for the previous code too."""
