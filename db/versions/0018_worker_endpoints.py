"""Workers store what they see of each scorer endpoint (state, in flight, throughput) with their heartbeat.

Revision ID: 0018
Revises: 0016
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scoring_workers") as batch:
        batch.add_column(sa.Column("endpoints_json", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("scoring_workers") as batch:
        batch.drop_column("endpoints_json")
