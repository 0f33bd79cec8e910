"""Records, bodies, outcome reports and full-text search.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "records",
        sa.Column("record_id", sa.String(32), nullable=False),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("format", sa.String(40), nullable=False),
        sa.Column("instance_id", sa.String(300)),
        sa.Column("run_id", sa.String(300)),
        sa.Column("repo", sa.String(300)),
        sa.Column("agent", sa.String(200)),
        sa.Column("model", sa.String(300)),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("f2p_success", sa.Integer()),
        sa.Column("f2p_failure", sa.Integer()),
        sa.Column("p2p_success", sa.Integer()),
        sa.Column("p2p_failure", sa.Integer()),
        sa.Column("report_file", sa.Text()),
        sa.Column("exit_status", sa.Text()),
        sa.Column("n_steps", sa.Integer(), nullable=False),
        sa.Column("n_errors", sa.Integer(), nullable=False),
        sa.Column("token_estimate", sa.Integer(), nullable=False),
        sa.Column("patch_files", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("altered_fields", sa.Text(), nullable=False),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("record_id", name="pk_records"),
    )
    op.create_index("ix_records_source_outcome", "records", ["source", "outcome"])
    op.create_index("ix_records_instance_id", "records", ["instance_id"])
    op.create_index("ix_records_token_estimate", "records", ["token_estimate"])
    op.create_index("ix_records_imported_at_record_id", "records", ["imported_at", "record_id"])
    op.create_table(
        "record_bodies",
        sa.Column("record_id", sa.String(32), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("raw_bytes", sa.Integer(), nullable=False),
        sa.Column("raw_sha256", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"], ["records.record_id"], name="fk_record_bodies_record_id_records", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("record_id", name="pk_record_bodies"),
    )
    op.create_table(
        "outcome_reports",
        sa.Column("instance_id", sa.String(300), nullable=False),
        sa.Column("resolved", sa.Boolean()),
        sa.Column("f2p_success", sa.Integer()),
        sa.Column("f2p_failure", sa.Integer()),
        sa.Column("p2p_success", sa.Integer()),
        sa.Column("p2p_failure", sa.Integer()),
        sa.Column("model", sa.String(300)),
        sa.Column("report_file", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("instance_id", name="pk_outcome_reports"),
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE records_fts USING fts5("
            "record_id UNINDEXED, instance_id, issue, patch, tokenize='unicode61')"
        )
    else:
        op.execute(
            "CREATE TABLE record_search (record_id VARCHAR(32) PRIMARY KEY "
            "REFERENCES records(record_id) ON DELETE CASCADE, doc TSVECTOR NOT NULL)"
        )
        op.execute("CREATE INDEX ix_record_search_doc ON record_search USING GIN (doc)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE records_fts")
    else:
        op.execute("DROP TABLE record_search")
    op.drop_table("outcome_reports")
    op.drop_table("record_bodies")
    op.drop_table("records")
