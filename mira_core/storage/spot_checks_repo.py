"""Spot-checks: stored review queues for one source x dimension cell and their reviewers' answers.

Sampling and agreement live in `mira_core.reliability` (spotcheck, spot_check_store); this module stores
what they produce and returns rows.

Items snapshot the student and teacher scores at sampling time, so agreement figures do not shift when
a record is re-scored later. Answers are per reviewer: several curators may answer one item, and a
changed answer is a new revision (the old row stays, `is_current` moves), so the history is kept.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

import pandas as pd
from sqlalchemy import Connection, Select, and_, case, distinct, func, insert, select, update

from mira_core.errors import NotFoundError
from mira_core.storage.rows import as_utc, utcnow
from mira_core.storage.tables import records, spot_check_answers, spot_check_items, spot_checks
from mira_core.text_rules import make_storable

ans = spot_check_answers.c
item = spot_check_items.c
CURRENT = ans.is_current.is_(True)
ITEM_COLUMNS = ("position", "record_id", "title", "stratum", "student_score", "teacher_score", "human_score",
                "skipped", "note", "reviewed_at", "answered", "n_reviewers")


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
        conn.execute(insert(spot_check_items),
                     [{"spot_check_id": sid, "position": pos, **it._asdict()} for pos, it in enumerate(items)])
    return sid


def _answered_items(reviewer: str | None = None) -> Select:
    """Per spot-check: items with a current answer (by `reviewer`, or by anyone) and distinct reviewers."""
    stmt = (select(ans.spot_check_id,
                   func.count(distinct(ans.position)).label("done"),
                   func.count(distinct(ans.reviewer)).label("reviewers"))
            .where(CURRENT).group_by(ans.spot_check_id))
    return stmt.where(ans.reviewer == reviewer) if reviewer else stmt


def list_spot_checks(conn: Connection, *, source: str | None = None, slot: str | None = None,
                     reviewer: str | None = None) -> pd.DataFrame:
    """Spot-checks, newest first, with progress.

    Columns spot_check_id, source, slot, size, done (items answered by anyone), reviewers (people who
    answered any item), mine (items `reviewer` answered; 0 without one), status, created_by, created_at, teacher.
    """
    anyone = _answered_items().subquery()
    mine = _answered_items(reviewer or "").subquery()
    stmt = (
        select(spot_checks.c.spot_check_id, spot_checks.c.source, spot_checks.c.slot, spot_checks.c.size,
               func.coalesce(anyone.c.done, 0).label("done"), func.coalesce(anyone.c.reviewers, 0),
               func.coalesce(mine.c.done, 0), spot_checks.c.status, spot_checks.c.created_by,
               spot_checks.c.created_at, spot_checks.c.teacher)
        .select_from(spot_checks
                     .outerjoin(anyone, anyone.c.spot_check_id == spot_checks.c.spot_check_id)
                     .outerjoin(mine, mine.c.spot_check_id == spot_checks.c.spot_check_id))
        .order_by(spot_checks.c.created_at.desc())
    )
    if source:
        stmt = stmt.where(spot_checks.c.source == source)
    if slot:
        stmt = stmt.where(spot_checks.c.slot == slot)
    cols = ["spot_check_id", "source", "slot", "size", "done", "reviewers", "mine", "status", "created_by",
            "created_at", "teacher"]
    df = pd.DataFrame([tuple(r) for r in conn.execute(stmt)], columns=cols)
    for c in ("done", "reviewers", "mine"):
        df[c] = df[c].astype("int64")
    df["created_at"] = [as_utc(v) for v in df["created_at"]]
    return df


def get_spot_check(conn: Connection, spot_check_id: str) -> dict:
    """The spot-check row."""
    row = conn.execute(select(spot_checks).where(spot_checks.c.spot_check_id == spot_check_id)).mappings().first()
    if row is None:
        raise NotFoundError(f"spot-check {spot_check_id} not found: the reliability page lists the open ones")
    return dict(row)


def spot_check_items_frame(conn: Connection, spot_check_id: str, *, reviewer: str | None = None) -> pd.DataFrame:
    """The items of one spot-check in review order (ITEM_COLUMNS), with each record's title.

    human_score / skipped / note / reviewed_at are `reviewer`'s current answer (empty without one);
    `answered` says whether `reviewer` scored or skipped the item; `n_reviewers` counts everyone who did.
    """
    mine = (select(ans.position, ans.human_score, ans.skipped, ans.note, ans.reviewed_at)
            .where(ans.spot_check_id == spot_check_id, ans.reviewer == (reviewer or ""), CURRENT).subquery())
    counts = (select(ans.position, func.count().label("n"))
              .where(ans.spot_check_id == spot_check_id, CURRENT).group_by(ans.position).subquery())
    stmt = (
        select(item.position, item.record_id, records.c.title, item.stratum, item.student_score, item.teacher_score,
               mine.c.human_score, func.coalesce(mine.c.skipped, False), func.coalesce(mine.c.note, ""),
               mine.c.reviewed_at, mine.c.position.is_not(None), func.coalesce(counts.c.n, 0))
        .select_from(spot_check_items.join(records, records.c.record_id == item.record_id)
                     .outerjoin(mine, mine.c.position == item.position)
                     .outerjoin(counts, counts.c.position == item.position))
        .where(item.spot_check_id == spot_check_id)
        .order_by(item.position)
    )
    df = pd.DataFrame([tuple(r) for r in conn.execute(stmt)], columns=list(ITEM_COLUMNS))
    df["answered"] = df["answered"].astype(bool)
    df["skipped"] = df["skipped"].astype(bool)
    df["n_reviewers"] = df["n_reviewers"].astype("int64")
    return df


ANSWER_COLUMNS = ("reviewer", "revision", "human_score", "skipped", "note", "reviewed_at")


def _answers_frame(conn: Connection, stmt: Select) -> pd.DataFrame:
    df = pd.DataFrame([tuple(r) for r in conn.execute(stmt)], columns=list(ANSWER_COLUMNS))
    df["reviewed_at"] = [as_utc(v) for v in df["reviewed_at"]]
    df["skipped"] = df["skipped"].astype(bool)
    return df


def item_answers(conn: Connection, spot_check_id: str, position: int) -> pd.DataFrame:
    """Every reviewer's current answer to one item (ANSWER_COLUMNS), by reviewer."""
    return _answers_frame(conn, select(*(ans[c] for c in ANSWER_COLUMNS))
                          .where(ans.spot_check_id == spot_check_id, ans.position == position, CURRENT)
                          .order_by(ans.reviewer))


def answer_history(conn: Connection, spot_check_id: str, position: int, reviewer: str) -> pd.DataFrame:
    """All of one reviewer's answers to one item, oldest first (ANSWER_COLUMNS); the last is current."""
    return _answers_frame(conn, select(*(ans[c] for c in ANSWER_COLUMNS))
                          .where(ans.spot_check_id == spot_check_id, ans.position == position,
                                 ans.reviewer == reviewer).order_by(ans.revision))


def _refresh_status(conn: Connection, spot_check_id: str) -> None:
    """'done' once every item has an answer from someone, else 'open'."""
    total = conn.execute(select(func.count()).where(item.spot_check_id == spot_check_id)).scalar_one()
    done = conn.execute(select(func.count(distinct(ans.position)))
                        .where(ans.spot_check_id == spot_check_id, CURRENT)).scalar_one()
    status = "done" if int(done) >= int(total) else "open"
    conn.execute(update(spot_checks).where(spot_checks.c.spot_check_id == spot_check_id).values(status=status))


def record_review(conn: Connection, spot_check_id: str, position: int, *, human_score: int | None,
                  skipped: bool = False, note: str = "", reviewer: str) -> str:
    """Store `reviewer`'s 0-10 score (or a skip) for one item as a new revision; their earlier answer stays.

    The spot-check is 'done' once every item has someone's answer. Returns the id of the record the item
    asks about. Two answers by one reviewer to one item at the same instant: the second fails on the
    (item, reviewer, revision) key instead of both becoming current.
    """
    if not skipped and (human_score is None or not 0 <= int(human_score) <= 10):
        raise ValueError(f"a human score must be 0-10 (got {human_score!r}); or mark the item skipped")
    record_id = conn.execute(select(item.record_id).where(
        item.spot_check_id == spot_check_id, item.position == position)).scalar()
    if record_id is None:
        raise NotFoundError(f"spot-check {spot_check_id} has no item at position {position}")
    mine = and_(ans.spot_check_id == spot_check_id, ans.position == position, ans.reviewer == reviewer)
    last = conn.execute(select(func.max(ans.revision)).where(mine)).scalar()
    conn.execute(update(spot_check_answers).where(mine, CURRENT).values(is_current=False))
    conn.execute(insert(spot_check_answers).values(
        spot_check_id=spot_check_id, position=position, reviewer=reviewer, revision=int(last or 0) + 1,
        is_current=True, human_score=None if skipped else int(human_score or 0), skipped=skipped,
        note=make_storable(note)[0], reviewed_at=utcnow()))
    _refresh_status(conn, spot_check_id)
    return str(record_id)


SCORE_COLUMNS = ("source", "slot", "spot_check_id", "position", "reviewer", "human_score", "skipped",
                 "student_score", "teacher_score")


def item_scores(conn: Connection) -> pd.DataFrame:
    """One row per item and reviewer's current answer, with the cell and the judges' snapshot scores.

    Columns SCORE_COLUMNS. An item nobody answered gives one row with reviewer None and human_score NaN,
    so a cell that was sampled but not reviewed still shows up; scores are floats with NaN for none.
    """
    stmt = (
        select(spot_checks.c.source, spot_checks.c.slot, item.spot_check_id, item.position, ans.reviewer,
               ans.human_score, func.coalesce(ans.skipped, False), item.student_score, item.teacher_score)
        .select_from(spot_check_items
                     .join(spot_checks, spot_checks.c.spot_check_id == item.spot_check_id)
                     .outerjoin(spot_check_answers, and_(ans.spot_check_id == item.spot_check_id,
                                                         ans.position == item.position, CURRENT)))
    )
    df = pd.DataFrame([tuple(r) for r in conn.execute(stmt)], columns=list(SCORE_COLUMNS))
    for c in ("human_score", "student_score", "teacher_score"):
        df[c] = pd.to_numeric(df[c]).astype(float)
    df["skipped"] = df["skipped"].astype(bool)
    return df


def spot_checked_ids(*, reviewed: bool | None = None) -> Select:
    """Record ids in any spot-check (reviewed=True: someone scored it; False: nobody answered it yet).

    A subquery for Browse's "spot-check status" filter: `records.c.record_id.in_(spot_checked_ids(...))`.
    """
    if reviewed is True:
        return (select(item.record_id).select_from(spot_check_items.join(
            spot_check_answers, and_(ans.spot_check_id == item.spot_check_id, ans.position == item.position)))
            .where(CURRENT, ans.human_score.is_not(None)))
    stmt = select(item.record_id)
    if reviewed is False:
        answered = select(ans.spot_check_id).where(ans.spot_check_id == item.spot_check_id,
                                                   ans.position == item.position, CURRENT)
        stmt = stmt.where(~answered.exists())
    return stmt


REVIEW_COLUMNS = ("spot_check_id", "source", "slot", "position", "record_id", "stratum", "student_score",
                  "teacher_score", "reviewer", "revision", "current", "human_score", "skipped", "note", "reviewed_at")


def iter_reviews(conn: Connection, *, reviewer: str | None = None, source: str | None = None,
                 slot: str | None = None, history: bool = False, batch: int = 2000) -> Iterator[dict[str, Any]]:
    """Yield answers as dicts (REVIEW_COLUMNS), in pages, for export: current ones, or every revision."""
    cond: list = [] if history else [CURRENT]
    if reviewer:
        cond.append(ans.reviewer == reviewer)
    if source:
        cond.append(spot_checks.c.source == source)
    if slot:
        cond.append(spot_checks.c.slot == slot)
    base = (select(ans.answer_id, ans.spot_check_id, spot_checks.c.source, spot_checks.c.slot, ans.position,
                   item.record_id, item.stratum, item.student_score, item.teacher_score, ans.reviewer, ans.revision,
                   ans.is_current.label("current"), ans.human_score, ans.skipped, ans.note, ans.reviewed_at)
            .select_from(spot_check_answers
                         .join(spot_check_items, and_(item.spot_check_id == ans.spot_check_id,
                                                      item.position == ans.position))
                         .join(spot_checks, spot_checks.c.spot_check_id == ans.spot_check_id))
            .where(*cond).order_by(ans.answer_id).limit(batch))
    after = 0
    while True:
        rows = conn.execute(base.where(ans.answer_id > after)).mappings().all()
        if not rows:
            return
        for r in rows:
            d = {c: r[c] for c in REVIEW_COLUMNS}
            d["reviewed_at"] = as_utc(d["reviewed_at"])
            d["current"] = bool(d["current"])
            yield d
        after = int(rows[-1]["answer_id"])


def reviewer_progress(conn: Connection, spot_check_id: str) -> pd.DataFrame:
    """Answered items per reviewer of one spot-check (columns reviewer, scored, skipped)."""
    stmt = (select(ans.reviewer,
                   func.sum(case((ans.human_score.is_not(None), 1), else_=0)).label("scored"),
                   func.sum(case((ans.skipped.is_(True), 1), else_=0)).label("skipped"))
            .where(ans.spot_check_id == spot_check_id, CURRENT)
            .group_by(ans.reviewer).order_by(ans.reviewer))
    return pd.DataFrame([tuple(r) for r in conn.execute(stmt)], columns=["reviewer", "scored", "skipped"])


RECORD_ANSWER_COLUMNS = ("spot_check_id", "slot", "position", "reviewer", "human_score", "skipped")


def record_answers(conn: Connection, record_id: str) -> pd.DataFrame:
    """Every current answer to an item about `record_id`, in any spot-check (RECORD_ANSWER_COLUMNS).

    Who may see which of them (blind review) is the caller's rule; human_score is NaN for a skip.
    """
    stmt = (select(ans.spot_check_id, spot_checks.c.slot, ans.position, ans.reviewer, ans.human_score, ans.skipped)
            .select_from(spot_check_answers
                         .join(spot_check_items, and_(item.spot_check_id == ans.spot_check_id,
                                                      item.position == ans.position))
                         .join(spot_checks, spot_checks.c.spot_check_id == ans.spot_check_id))
            .where(item.record_id == record_id, CURRENT)
            .order_by(spot_checks.c.slot, ans.reviewer))
    df = pd.DataFrame([tuple(r) for r in conn.execute(stmt)], columns=list(RECORD_ANSWER_COLUMNS))
    df["human_score"] = pd.to_numeric(df["human_score"]).astype(float)
    df["skipped"] = df["skipped"].astype(bool)
    return df
