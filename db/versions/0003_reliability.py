"""Reliability: mask versions and cells, spot-checks and their items, curator annotations, history, tags.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def _fk(table: str, col: str, ref: str, refcol: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([col], [f"{ref}.{refcol}"], name=f"fk_{table}_{col}_{ref}", ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "mask_versions",
        sa.Column("version_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("rules_json", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("version_id", name="pk_mask_versions"),
    )
    op.create_index("ix_mask_versions_active", "mask_versions", ["active"])
    op.create_table(
        "mask_cells",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("slot", sa.String(4), nullable=False),
        sa.Column("masked", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(10), nullable=False),
        _fk("mask_cells", "version_id", "mask_versions", "version_id"),
        sa.PrimaryKeyConstraint("version_id", "source", "slot", name="pk_mask_cells"),
    )
    op.create_table(
        "spot_checks",
        sa.Column("spot_check_id", sa.String(32), nullable=False),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("slot", sa.String(4), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("student_judge", sa.String(300)),
        sa.Column("teacher", sa.String(300)),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.PrimaryKeyConstraint("spot_check_id", name="pk_spot_checks"),
    )
    op.create_index("ix_spot_checks_source_slot", "spot_checks", ["source", "slot"])
    op.create_table(
        "spot_check_items",
        sa.Column("spot_check_id", sa.String(32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.String(32), nullable=False),
        sa.Column("stratum", sa.String(20), nullable=False),
        sa.Column("student_score", sa.Float()),
        sa.Column("teacher_score", sa.Float()),
        sa.Column("human_score", sa.Integer()),
        sa.Column("skipped", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("reviewer", sa.String(100)),
        sa.Column("reviewed_at", TZ),
        _fk("spot_check_items", "spot_check_id", "spot_checks", "spot_check_id"),
        _fk("spot_check_items", "record_id", "records", "record_id"),
        sa.PrimaryKeyConstraint("spot_check_id", "position", name="pk_spot_check_items"),
        sa.UniqueConstraint("spot_check_id", "record_id", name="uq_spot_check_items_spot_check_id_record_id"),
    )
    op.create_index("ix_spot_check_items_record_id", "spot_check_items", ["record_id"])
    op.create_table(
        "annotations",
        sa.Column("record_id", sa.String(32), nullable=False),
        sa.Column("override", sa.String(12), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(100), nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        _fk("annotations", "record_id", "records", "record_id"),
        sa.PrimaryKeyConstraint("record_id", name="pk_annotations"),
    )
    op.create_index("ix_annotations_override", "annotations", ["override"])
    op.create_table(
        "annotation_history",
        sa.Column("history_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("record_id", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("override", sa.String(12), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.String(100), nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        _fk("annotation_history", "record_id", "records", "record_id"),
        sa.PrimaryKeyConstraint("history_id", name="pk_annotation_history"),
    )
    op.create_index("ix_annotation_history_record_id_version", "annotation_history", ["record_id", "version"])
    op.create_table(
        "record_tags",
        sa.Column("record_id", sa.String(32), nullable=False),
        sa.Column("tag", sa.String(100), nullable=False),
        _fk("record_tags", "record_id", "records", "record_id"),
        sa.PrimaryKeyConstraint("record_id", "tag", name="pk_record_tags"),
    )
    op.create_index("ix_record_tags_tag", "record_tags", ["tag"])


def downgrade() -> None:
    op.drop_index("ix_record_tags_tag", table_name="record_tags")
    op.drop_table("record_tags")
    op.drop_index("ix_annotation_history_record_id_version", table_name="annotation_history")
    op.drop_table("annotation_history")
    op.drop_index("ix_annotations_override", table_name="annotations")
    op.drop_table("annotations")
    op.drop_index("ix_spot_check_items_record_id", table_name="spot_check_items")
    op.drop_table("spot_check_items")
    op.drop_index("ix_spot_checks_source_slot", table_name="spot_checks")
    op.drop_table("spot_checks")
    op.drop_table("mask_cells")
    op.drop_index("ix_mask_versions_active", table_name="mask_versions")
    op.drop_table("mask_versions")
