"""Browse indexes: filtered+sorted record pages, and the latest complete student score of a record.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_records_source_token_estimate_record_id", "records", ["source", "token_estimate", "record_id"])
    op.create_index("ix_records_source_imported_at_record_id", "records", ["source", "imported_at", "record_id"])
    op.create_index(
        "ix_scores_record_id_judge_kind_complete_created_at_score_id",
        "scores",
        ["record_id", "judge_kind", "complete", "created_at", "score_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_scores_record_id_judge_kind_complete_created_at_score_id", table_name="scores")
    op.drop_index("ix_records_source_imported_at_record_id", table_name="records")
    op.drop_index("ix_records_source_token_estimate_record_id", table_name="records")
