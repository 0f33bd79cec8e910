"""Each score's 15 slots also as one packed column, `scores.slots_packed`, and a covering index for the load.

The selection load reads every record's chosen score; as 15 float columns the Python driver made an object
per value, most of the load's 17-20 s at 2.3M records. The packed value (15 big-endian float64s, NULL as
NaN) is one object per row. Existing rows are filled here in batches of score ids: PostgreSQL computes it
in SQL (`float8send` is big-endian float64); SQLite has no such function, so Python packs each batch.
The format is written out here rather than imported, so this migration stays what it was if the app's
code moves on. `ix_scores_chosen_covering` holds the load's order and every column it reads, so the load
walks one index instead of visiting each wide score row (PostgreSQL: an index-only scan once vacuumed).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02
"""

import math
import struct

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

SLOTS = tuple(f"a{i}" for i in range(1, 16))
COVERING = ["record_id", "judge_kind", "complete", "created_at", "score_id", "judge", "prompt_version", "overall",
            "recommendation", "record_tokens", "slots_packed"]
BATCH = 20_000
_PACK = struct.Struct(">15d")
# NULL and any NaN as the one NaN (PostgreSQL's NaN = NaN is true), the value a NULL or NaN column reads back as.
_PG_PACKED = " || ".join(f"float8send(COALESCE(NULLIF({c}, 'NaN'::float8), 'NaN'::float8))" for c in SLOTS)


def _batches(conn: sa.Connection) -> list[tuple[int, int]]:
    """(after, last) score-id ranges of about BATCH rows each, covering every score."""
    low, high = conn.execute(sa.text("SELECT MIN(score_id), MAX(score_id) FROM scores")).one()
    if low is None:
        return []
    return [(start, min(start + BATCH, high)) for start in range(low - 1, high, BATCH)]


def _backfill_sqlite(conn: sa.Connection) -> None:
    select = sa.text(f"SELECT score_id, {', '.join(SLOTS)} FROM scores WHERE score_id > :a AND score_id <= :b")
    update = sa.text("UPDATE scores SET slots_packed = :p WHERE score_id = :i")
    for after, last in _batches(conn):
        rows = conn.execute(select, {"a": after, "b": last}).all()
        packed = [{"i": r[0], "p": _PACK.pack(*(math.nan if v is None else float(v) for v in r[1:]))} for r in rows]
        if packed:
            conn.execute(update, packed)


def upgrade() -> None:
    op.add_column("scores", sa.Column("slots_packed", sa.LargeBinary))
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        for after, last in _batches(conn):
            conn.execute(sa.text(f"UPDATE scores SET slots_packed = {_PG_PACKED} WHERE score_id > :a AND score_id <= :b"),
                         {"a": after, "b": last})
    else:
        _backfill_sqlite(conn)
    op.create_index("ix_scores_chosen_covering", "scores", COVERING)


def downgrade() -> None:
    op.drop_index("ix_scores_chosen_covering", table_name="scores")
    op.drop_column("scores", "slots_packed")
