"""Review by several curators: spot-check answers move to their own table, one row per answer.

Each reviewer keeps their own answer to an item, and changing it adds a revision instead of overwriting,
so the history stays. Existing answers (one per item) become revision 1 of their reviewer.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_ANSWER_COLUMNS = ("human_score", "skipped", "note", "reviewer", "reviewed_at")


def _items() -> sa.TableClause:
    return sa.table("spot_check_items", sa.column("spot_check_id"), sa.column("position"),
                    sa.column("human_score"), sa.column("skipped"), sa.column("note"), sa.column("reviewer"),
                    sa.column("reviewed_at"))


def _answers() -> sa.TableClause:
    return sa.table("spot_check_answers", sa.column("spot_check_id"), sa.column("position"), sa.column("reviewer"),
                    sa.column("revision"), sa.column("is_current"), sa.column("human_score"), sa.column("skipped"),
                    sa.column("note"), sa.column("reviewed_at"))


def _create_answers() -> None:
    op.create_table(
        "spot_check_answers",
        sa.Column("answer_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("spot_check_id", sa.String(32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("reviewer", sa.String(100), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("human_score", sa.Integer(), nullable=True),
        sa.Column("skipped", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["spot_check_id", "position"],
                                ["spot_check_items.spot_check_id", "spot_check_items.position"],
                                name=op.f("fk_spot_check_answers_spot_check_id_spot_check_items"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("answer_id", name=op.f("pk_spot_check_answers")),
        sa.UniqueConstraint("spot_check_id", "position", "reviewer", "revision",
                            name=op.f("uq_spot_check_answers_spot_check_id_position_reviewer_revision")),
    )
    op.create_index(op.f("ix_spot_check_answers_spot_check_id_position_is_current"), "spot_check_answers",
                    ["spot_check_id", "position", "is_current"])
    op.create_index(op.f("ix_spot_check_answers_reviewer_is_current"), "spot_check_answers",
                    ["reviewer", "is_current"])


def upgrade() -> None:
    # Answers are read before the items table is rebuilt (SQLite rebuilds it to drop columns) and written
    # after, so the rebuild cannot cascade into them; they are few (people typed each one).
    items = _items()
    answered = op.get_bind().execute(sa.select(
        items.c.spot_check_id, items.c.position, items.c.reviewer, items.c.human_score, items.c.skipped,
        items.c.note, items.c.reviewed_at,
    ).where(items.c.reviewer.is_not(None), items.c.human_score.is_not(None) | items.c.skipped.is_(True))).all()
    with op.batch_alter_table("spot_check_items") as batch:
        for name in _ANSWER_COLUMNS:
            batch.drop_column(name)
    _create_answers()
    now = datetime.now(UTC)
    rows = [{**r._asdict(), "revision": 1, "is_current": True, "skipped": bool(r.skipped),
             "reviewed_at": r.reviewed_at or now} for r in answered]
    if rows:
        op.bulk_insert(_answers(), rows)


def downgrade() -> None:
    ans = _answers()
    latest = (sa.select(sa.func.max(sa.column("answer_id"))).select_from(sa.table("spot_check_answers"))
              .where(sa.column("is_current").is_(True)).group_by(sa.column("spot_check_id"), sa.column("position")))
    rows = op.get_bind().execute(
        sa.select(ans.c.spot_check_id, ans.c.position, ans.c.reviewer, ans.c.human_score, ans.c.skipped, ans.c.note,
                  ans.c.reviewed_at).where(sa.column("answer_id").in_(latest))).all()
    op.drop_table("spot_check_answers")
    with op.batch_alter_table("spot_check_items") as batch:
        batch.add_column(sa.Column("human_score", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("skipped", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("note", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("reviewer", sa.String(100), nullable=True))
        batch.add_column(sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True))
    items = _items()
    for r in rows:  # the last answer of each item is what the one-answer schema can hold
        op.execute(items.update().where(items.c.spot_check_id == r.spot_check_id, items.c.position == r.position)
                   .values(human_score=r.human_score, skipped=r.skipped, note=r.note, reviewer=r.reviewer,
                           reviewed_at=r.reviewed_at))
