"""Scoring jobs name what runs them: the built-in workers, or a Ray Data run (`score --engine ray`).

Revision ID: 0015
Revises: 0011
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("score_jobs") as batch:
        batch.add_column(sa.Column("runner", sa.String(10), nullable=False, server_default="worker"))


def downgrade() -> None:
    with op.batch_alter_table("score_jobs") as batch:
        batch.drop_column("runner")
