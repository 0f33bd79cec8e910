"""Spot-checks: stored review queues for one source x dimension cell and their reviews.

Sampling and agreement live in `mira_core.reliability` (spotcheck, spot_check_store); this module stores
what they produce and returns rows.

Items snapshot the student and teacher scores at sampling time, so agreement figures do not shift when
a record is re-scored later. Reviews are plain updates by position, safe to repeat (last answer wins).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

import pandas as pd
from sqlalchemy import Connection, Select, case, func, insert, select, update

from mira_core.errors import NotFoundError
from mira_core.storage.rows import as_utc, utcnow
from mira_core.storage.tables import records, spot_check_items, spot_checks
from mira_core.text_rules import make_storable

ITEM_COLUMNS = ("position", "record_id", "title", "stratum", "student_score", "teacher_score", "human_score",
                "skipped", "note", "reviewer", "reviewed_at", "answered")

# An item is answered once a reviewer scored it or skipped it: the one definition progress, the "done"
# status, the review export and the items frame all use.
ANSWERED = spot_check_items.c.human_score.is_not(None) | spot_check_items.c.skipped.is_(True)


class SpotCheckItemRow(NamedTuple):
    """One sampled item to store: why it was chosen and the judges' scores then (teacher None: no label)."""

    record_id: str
    stratum: str
    student_score: float
    teacher_score: float | None


def insert_spot_check(conn: Connection, *, source: str, slot: str, created_by: str, seed: int,
                      student_judge: str | None, teacher: str | None, items: Sequence[SpotCheckItemRow]) -> str:
    """Store a spot-check of one cell with its items in review order (position = index); returns its id."""
    sid = uuid.uuid4().hex
    conn.execute(insert(spot_checks).values(
        spot_check_id=sid, source=source, slot=slot, size=len(items), student_judge=student_judge, teacher=teacher,
        seed=seed, created_by=created_by, created_at=utcnow(), status="open",
    ))
    if items:
        conn.execute(insert(spot_check_items), [
            {"spot_check_id": sid, "position": pos, **it._asdict(), "human_score": None, "skipped": False, "note": ""}
            for pos, it in enumerate(items)
        ])
    return sid


def _progress() -> Select:
    return (
        select(spot_check_items.c.spot_check_id,
               func.count().label("total"),
               func.sum(case((ANSWERED, 1), else_=0)).label("done"))
        .group_by(spot_check_items.c.spot_check_id)
    )


def list_spot_checks(conn: Connection, *, source: str | None = None, slot: str | None = None) -> pd.DataFrame:
    """Spot-checks, newest first, with progress (columns spot_check_id, source, slot, size, done, status, ...)."""
    prog = _progress().subquery()
    stmt = (
        select(spot_checks.c.spot_check_id, spot_checks.c.source, spot_checks.c.slot, spot_checks.c.size,
               func.coalesce(prog.c.done, 0).label("done"), spot_checks.c.status, spot_checks.c.created_by,
               spot_checks.c.created_at, spot_checks.c.teacher)
        .select_from(spot_checks.outerjoin(prog, prog.c.spot_check_id == spot_checks.c.spot_check_id))
        .order_by(spot_checks.c.created_at.desc())
    )
    if source:
        stmt = stmt.where(spot_checks.c.source == source)
    if slot:
        stmt = stmt.where(spot_checks.c.slot == slot)
    cols = ["spot_check_id", "source", "slot", "size", "done", "status", "created_by", "created_at", "teacher"]
    df = pd.DataFrame([tuple(r) for r in conn.execute(stmt)], columns=cols)
    df["done"] = df["done"].astype("int64")
    df["created_at"] = [as_utc(v) for v in df["created_at"]]
    return df


def get_spot_check(conn: Connection, spot_check_id: str) -> dict:
    """The spot-check row."""
    row = conn.execute(select(spot_checks).where(spot_checks.c.spot_check_id == spot_check_id)).mappings().first()
    if row is None:
        raise NotFoundError(f"spot-check {spot_check_id} not found: the reliability page lists the open ones")
    return dict(row)


def spot_check_items_frame(conn: Connection, spot_check_id: str) -> pd.DataFrame:
    """The items of one spot-check in review order (ITEM_COLUMNS), with each record's title.

    `answered` (bool) says whether the item was scored or skipped (see ANSWERED).
    """
    stmt = (
        select(spot_check_items.c.position, spot_check_items.c.record_id, records.c.title,
               spot_check_items.c.stratum, spot_check_items.c.student_score, spot_check_items.c.teacher_score,
               spot_check_items.c.human_score, spot_check_items.c.skipped, spot_check_items.c.note,
               spot_check_items.c.reviewer, spot_check_items.c.reviewed_at, ANSWERED.label("answered"))
        .select_from(spot_check_items.join(records, records.c.record_id == spot_check_items.c.record_id))
        .where(spot_check_items.c.spot_check_id == spot_check_id)
        .order_by(spot_check_items.c.position)
    )
    df = pd.DataFrame([tuple(r) for r in conn.execute(stmt)], columns=list(ITEM_COLUMNS))
    df["answered"] = df["answered"].astype(bool)
    return df


def record_review(conn: Connection, spot_check_id: str, position: int, *, human_score: int | None,
                  skipped: bool = False, note: str = "", reviewer: str) -> str:
    """Store a reviewer's 0-10 score (or a skip) for one item; closes the spot-check when all are done.

    Returns the id of the record the item asks about.
    """
    if not skipped and (human_score is None or not 0 <= int(human_score) <= 10):
        raise ValueError(f"a human score must be 0-10 (got {human_score!r}); or mark the item skipped")
    res = conn.execute(
        update(spot_check_items)
        .where(spot_check_items.c.spot_check_id == spot_check_id, spot_check_items.c.position == position)
        .values(human_score=None if skipped else int(human_score or 0), skipped=skipped,
                note=make_storable(note)[0],
                reviewer=reviewer, reviewed_at=utcnow())
    )
    if not res.rowcount:
        raise NotFoundError(f"spot-check {spot_check_id} has no item at position {position}")
    prog = conn.execute(_progress().where(spot_check_items.c.spot_check_id == spot_check_id)).first()
    status = "done" if prog and int(prog.done or 0) >= int(prog.total) else "open"
    conn.execute(update(spot_checks).where(spot_checks.c.spot_check_id == spot_check_id).values(status=status))
    return str(conn.execute(select(spot_check_items.c.record_id).where(
        spot_check_items.c.spot_check_id == spot_check_id, spot_check_items.c.position == position)).scalar_one())


SCORE_COLUMNS = ("source", "slot", "human_score", "skipped", "student_score", "teacher_score")


def item_scores(conn: Connection) -> pd.DataFrame:
    """Every spot-check item's cell, human answer and the judges' snapshot scores (SCORE_COLUMNS).

    Items not yet reviewed are included (human_score NaN, skipped False), so a cell that was sampled but not
    reviewed still shows up; scores are floats with NaN for none.
    """
    stmt = (
        select(spot_checks.c.source, spot_checks.c.slot, spot_check_items.c.human_score, spot_check_items.c.skipped,
               spot_check_items.c.student_score, spot_check_items.c.teacher_score)
        .select_from(spot_check_items.join(spot_checks,
                                           spot_checks.c.spot_check_id == spot_check_items.c.spot_check_id))
    )
    df = pd.DataFrame([tuple(r) for r in conn.execute(stmt)], columns=list(SCORE_COLUMNS))
    for c in ("human_score", "student_score", "teacher_score"):
        df[c] = pd.to_numeric(df[c]).astype(float)
    return df


def spot_checked_ids(*, reviewed: bool | None = None) -> Select:
    """Record ids in any spot-check (reviewed=True: with a human score; False: still pending).

    A subquery for Browse's "spot-check status" filter: `records.c.record_id.in_(spot_checked_ids(...))`.
    """
    stmt = select(spot_check_items.c.record_id)
    if reviewed is True:
        stmt = stmt.where(spot_check_items.c.human_score.is_not(None))
    elif reviewed is False:
        stmt = stmt.where(~ANSWERED)
    return stmt


REVIEW_COLUMNS = ("spot_check_id", "source", "slot", "position", "record_id", "stratum", "student_score",
                  "teacher_score", "human_score", "skipped", "note", "reviewer", "reviewed_at")


def iter_reviews(conn: Connection, *, reviewer: str | None = None, source: str | None = None,
                 slot: str | None = None, batch: int = 2000) -> Iterator[dict[str, Any]]:
    """Yield answered items (scored or skipped) as dicts (REVIEW_COLUMNS), in pages, for export."""
    cond: list = [ANSWERED]
    if reviewer:
        cond.append(spot_check_items.c.reviewer == reviewer)
    if source:
        cond.append(spot_checks.c.source == source)
    if slot:
        cond.append(spot_checks.c.slot == slot)
    cols = [spot_checks.c.source, spot_checks.c.slot] + [
        spot_check_items.c[c] for c in REVIEW_COLUMNS if c not in ("source", "slot")]
    base = (select(*cols).select_from(spot_check_items.join(
        spot_checks, spot_checks.c.spot_check_id == spot_check_items.c.spot_check_id)).where(*cond)
        .order_by(spot_check_items.c.spot_check_id, spot_check_items.c.position))
    offset = 0
    while True:
        rows = conn.execute(base.offset(offset).limit(batch)).mappings().all()
        if not rows:
            return
        for r in rows:
            d = {c: r[c] for c in REVIEW_COLUMNS}
            d["reviewed_at"] = as_utc(d["reviewed_at"])
            yield d
        offset += len(rows)


def reviewer_progress(conn: Connection, spot_check_id: str) -> pd.DataFrame:
    """Answered items per reviewer of one spot-check (columns reviewer, scored, skipped)."""
    stmt = (select(spot_check_items.c.reviewer,
                   func.sum(case((spot_check_items.c.human_score.is_not(None), 1), else_=0)).label("scored"),
                   func.sum(case((spot_check_items.c.skipped.is_(True), 1), else_=0)).label("skipped"))
            .where(spot_check_items.c.spot_check_id == spot_check_id, spot_check_items.c.reviewer.is_not(None))
            .group_by(spot_check_items.c.reviewer).order_by(spot_check_items.c.reviewer))
    return pd.DataFrame([tuple(r) for r in conn.execute(stmt)], columns=["reviewer", "scored", "skipped"])
