"""Scores (student scores and teacher labels), scoring jobs with per-item state, the worker heartbeat.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SLOTS = [f"a{i}" for i in range(1, 16)]


def upgrade() -> None:
    op.create_table(
        "scores",
        sa.Column("score_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("record_id", sa.String(32), nullable=False),
        sa.Column("judge_kind", sa.String(10), nullable=False),
        sa.Column("judge", sa.String(300), nullable=False),
        sa.Column("job_id", sa.String(32)),
        sa.Column("prompt_version", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("raw_output", sa.Text(), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("overall", sa.Integer()),
        sa.Column("recommendation", sa.String(20)),
        sa.Column("domain_tag", sa.Text()),
        sa.Column("brief", sa.Text()),
        sa.Column("shortened", sa.Boolean(), nullable=False),
        sa.Column("elided_tokens", sa.Integer(), nullable=False),
        sa.Column("prompt_tokens", sa.Integer()),
        *[sa.Column(slot, sa.Float()) for slot in SLOTS],
        sa.Column("parsed", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"], ["records.record_id"], name="fk_scores_record_id_records", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("score_id", name="pk_scores"),
        sa.UniqueConstraint("job_id", "record_id", name="uq_scores_job_id_record_id"),
    )
    op.create_index("ix_scores_record_id", "scores", ["record_id"])
    op.create_index("ix_scores_judge_kind_record_id", "scores", ["judge_kind", "record_id"])
    op.create_table(
        "score_jobs",
        sa.Column("job_id", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("pause_reason", sa.String(40)),
        sa.Column("resume_after", sa.DateTime(timezone=True)),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("filter_json", sa.Text(), nullable=False),
        sa.Column("settings_json", sa.Text(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("last_event", sa.Text()),
        sa.PrimaryKeyConstraint("job_id", name="pk_score_jobs"),
    )
    op.create_index("ix_score_jobs_status_created_at", "score_jobs", ["status", "created_at"])
    op.create_table(
        "score_job_items",
        sa.Column("job_id", sa.String(32), nullable=False),
        sa.Column("record_id", sa.String(32), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claim_token", sa.String(32)),
        sa.Column("last_error", sa.Text()),
        sa.Column("error_kind", sa.String(40)),
        sa.Column("last_output", sa.Text()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["score_jobs.job_id"], name="fk_score_job_items_job_id_score_jobs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("job_id", "record_id", name="pk_score_job_items"),
    )
    op.create_index("ix_score_job_items_job_id_status", "score_job_items", ["job_id", "status"])
    op.create_index("ix_score_job_items_job_id_updated_at", "score_job_items", ["job_id", "updated_at"])
    op.create_table(
        "scoring_workers",
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("token", sa.String(32), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(200), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_scoring_workers"),
    )


def downgrade() -> None:
    op.drop_table("scoring_workers")
    op.drop_index("ix_score_job_items_job_id_updated_at", table_name="score_job_items")
    op.drop_index("ix_score_job_items_job_id_status", table_name="score_job_items")
    op.drop_table("score_job_items")
    op.drop_index("ix_score_jobs_status_created_at", table_name="score_jobs")
    op.drop_table("score_jobs")
    op.drop_index("ix_scores_judge_kind_record_id", table_name="scores")
    op.drop_index("ix_scores_record_id", table_name="scores")
    op.drop_table("scores")
