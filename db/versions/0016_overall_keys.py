"""Each record's latest complete student overall on its row, as two indexed sort keys (storage.overall_keys).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_LATEST = ("(SELECT s.overall FROM scores s WHERE s.record_id = records.record_id AND s.judge_kind = 'student' "
           "AND s.complete = {true} ORDER BY s.created_at DESC, s.score_id DESC LIMIT 1)")


def upgrade() -> None:
    # Plain ALTER TABLE ADD COLUMN on both: a batch copy would renumber SQLite rowids (the search index's keys).
    op.add_column("records", sa.Column("overall_desc_key", sa.Integer, nullable=False, server_default="-1"))
    op.add_column("records", sa.Column("overall_asc_key", sa.Integer, nullable=False, server_default="101"))
    true = "true" if op.get_bind().dialect.name == "postgresql" else "1"
    latest = _LATEST.format(true=true)
    op.execute(f"UPDATE records SET overall_desc_key = COALESCE({latest}, -1), "
               f"overall_asc_key = COALESCE({latest}, 101) WHERE record_id IN "
               f"(SELECT record_id FROM scores WHERE judge_kind = 'student' AND complete = {true})")
    op.create_index("ix_records_overall_desc_key_record_id", "records", ["overall_desc_key", "record_id"])
    op.create_index("ix_records_overall_asc_key_record_id", "records", ["overall_asc_key", "record_id"])
    op.create_index("ix_records_source_outcome_overall_desc_key_record_id", "records",
                    ["source", "outcome", "overall_desc_key", "record_id"])


def downgrade() -> None:
    op.drop_index("ix_records_source_outcome_overall_desc_key_record_id", table_name="records")
    op.drop_index("ix_records_overall_asc_key_record_id", table_name="records")
    op.drop_index("ix_records_overall_desc_key_record_id", table_name="records")
    # Native DROP COLUMN (SQLite >= 3.35): a batch copy of `records` would cascade-delete scores and bodies.
    op.drop_column("records", "overall_asc_key")
    op.drop_column("records", "overall_desc_key")
