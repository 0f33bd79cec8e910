"""Selection policies: named, saved retention cuts with the mask cells and scorer rule they were made with.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "policies",
        sa.Column("policy_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("criterion", sa.String(20), nullable=False),
        sa.Column("thresholds", sa.Text(), nullable=False),
        sa.Column("mask_version", sa.Integer()),
        sa.Column("mask_cells", sa.Text(), nullable=False),
        sa.Column("scorer_rule", sa.Text(), nullable=False),
        sa.Column("budget_tokens", sa.BigInteger()),
        sa.Column("budget_rule", sa.String(20)),
        sa.Column("weights", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("policy_id", name="pk_policies"),
        sa.UniqueConstraint("name", name="uq_policies_name"),
    )


def downgrade() -> None:
    op.drop_table("policies")
