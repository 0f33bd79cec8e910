"""A covering index on records for the selection load: (record_id, source, outcome, token_estimate, instance_id).

The Retention page's first run and every `mira-curator export` read these columns of every record. From the
table, SQLite walks each wide record row (title, origin, report file, ...) and the ids come back in rowid
order, to be sorted; from this index it reads the narrow entries alone, already in record-id order. At 2.3M
records the selection load went from 8.6-9.4 s to 7.1-7.4 s (docs/BENCHMARKS.md, "Cold export at 2.3M").
The instance id is in it so an export names each kept record's instance in the same pass.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-02
"""

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

COLUMNS = ["record_id", "source", "outcome", "token_estimate", "instance_id"]


def upgrade() -> None:
    op.create_index("ix_records_selection_covering", "records", COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_records_selection_covering", table_name="records")
