"""Scores keep the endpoint's own prompt token count (`usage.prompt_tokens`) and the record's tokens measured
from it, so Retention's token figures and the budget solver can use measured counts instead of chars / 4.

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-09
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scores") as batch:
        batch.add_column(sa.Column("usage_prompt_tokens", sa.Integer()))
        batch.add_column(sa.Column("record_tokens", sa.Integer()))


def downgrade() -> None:
    with op.batch_alter_table("scores") as batch:
        batch.drop_column("record_tokens")
        batch.drop_column("usage_prompt_tokens")
