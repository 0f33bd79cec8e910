"""An index on scores (judge_kind, judge, prompt_version): the scorer and teacher choices read it alone.

The Retention and Reliability pages list the distinct student models, prompt versions and teachers on
their first run. Without this index each list was a scan of every score row (raw outputs and parsed JSON
included): about a second at 300K scores, growing with the store; the index holds only the three short
columns.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_scores_judge_kind_judge_prompt_version", "scores", ["judge_kind", "judge", "prompt_version"])


def downgrade() -> None:
    op.drop_index("ix_scores_judge_kind_judge_prompt_version", table_name="scores")
