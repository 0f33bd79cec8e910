"""The Spot-check screen's loaders: the spot-checks to pick from, and one item to review with both judges.

Review is blind, as in Argilla and Label Studio: a reviewer sees how many others answered an item, but
not what they answered, until they have answered it themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from mira_core.errors import NotFoundError
from mira_core.records import Step
from mira_core.reliability.spotcheck import TeacherCounts, teacher_counts
from mira_core.scoring.rubric import CalibrationRef, load_calibration
from mira_core.storage import Connection, records_repo, reliability_repo, spot_checks_repo

ISSUE_CHARS = 4000
"""How much of the issue the review shows; the full record is one link away."""

Evidence = Literal["trajectory", "outcome"]
OUTCOME_SLOTS = frozenset({"A3", "A10", "A13"})
"""Dimensions judged on the issue and the final patch (goal achievement, intent comprehension, change
minimality, per the anchors' descriptions); every other dimension judges how the agent worked, so the
reviewer needs the trajectory first."""


def evidence_for(slot: str) -> Evidence:
    """'outcome' for a dimension read off the issue and the patch, else 'trajectory' (timeline first)."""
    return "outcome" if slot in OUTCOME_SLOTS else "trajectory"


def load_spot_checks(conn: Connection, *, source: str | None = None, slot: str | None = None,
                     reviewer: str | None = None) -> pd.DataFrame:
    """Spot-checks, newest first, optionally of one cell.

    Columns spot_check_id, source, slot, size, done (items answered by anyone), reviewers (people who
    answered), mine (items `reviewer` answered), status, created_by, created_at, teacher.
    """
    return spot_checks_repo.list_spot_checks(conn, source=source, slot=slot, reviewer=reviewer)


@dataclass(frozen=True)
class JudgeLabel:
    """One judge's score of the item's dimension, with its rationale."""

    judge: str
    """The student judge (scorer run / model) or the teacher's name."""
    score: float | None
    """0-10; None when the judge left this dimension unscored."""
    rationale: str
    """'' when the judge wrote none."""


@dataclass(frozen=True)
class SpotCheckItem:
    """What the Spot-check page shows: one item of a spot-check, its record, both judges and the progress."""

    spot_check_id: str
    """The spot-check's id (the page's `?id=`)."""
    source: str
    """The source of the cell under review."""
    slot: str
    """The dimension under review, A1..A15."""
    position: int
    """0-based place of this item in review order (clamped to the items that exist)."""
    n_items: int
    """Items in the spot-check."""
    n_answered: int
    """Items this reviewer scored or skipped."""
    resume_at: int
    """Where this reviewer's review resumes: the first item they have not answered (0 once all are)."""
    record_id: str
    """The record this item asks about."""
    title: str
    """The record's title (the first line of its issue)."""
    stratum: str
    """Why the item was sampled: 'gap' (student and teacher far apart) or a student score band."""
    issue: str
    """The record's issue, cut after ISSUE_CHARS characters (an ellipsis marks the cut)."""
    reviewer: str
    """Who is reviewing: the answer fields below are theirs."""
    human_score: int | None
    """This reviewer's current answer, None when they have not answered or skipped."""
    skipped: bool
    """Whether this reviewer skipped the item (no score stored)."""
    note: str
    """This reviewer's note ('' when none)."""
    earlier: tuple[str, ...]
    """This reviewer's earlier answers to the item, oldest first ('7', 'skipped'): a change keeps the old one."""
    n_reviewers: int
    """People who answered this item, this reviewer included."""
    others: pd.DataFrame
    """Other reviewers' current answers (`spot_checks_repo.ANSWER_COLUMNS`); empty until this reviewer answered."""
    student: JudgeLabel | None
    """The spot-check's student judge (the latest student score when it names none); None: no score."""
    teacher: JudgeLabel | None
    """The spot-check's teacher (the latest teacher label when it names none); None: no label."""
    reviewers: pd.DataFrame
    """Answers per reviewer of this spot-check (columns reviewer, scored, skipped): counts, never scores."""
    steps: list[Step]
    """The record's whole timeline (the page shows one folded page of it)."""
    patch: str
    """The record's final patch."""
    full_issue: str
    """The record's whole issue (the page folds it)."""
    sampled: TeacherCounts
    """How many of the spot-check's items had a teacher label at sampling time, and how many had none."""

    @property
    def evidence(self) -> Evidence:
        """What the dimension is judged on: the trajectory, or the issue and patch."""
        return evidence_for(self.slot)

    @property
    def answered(self) -> bool:
        """Whether this reviewer answered (scored or skipped) the item."""
        return self.skipped or self.human_score is not None

    @property
    def others_hidden(self) -> int:
        """Other reviewers' answers held back because this reviewer has not answered yet (blind review)."""
        return 0 if self.answered else self.n_reviewers

    @property
    def all_answered(self) -> bool:
        """Whether this reviewer answered every item of the spot-check."""
        return self.n_answered == self.n_items


def _label(labels: pd.DataFrame, kind: str, judge: str | None) -> JudgeLabel | None:
    """The newest label of one judge kind (of `judge` when given); `labels` come newest first per kind."""
    rows = labels[labels.judge_kind == kind]
    if judge:
        rows = rows[rows.judge == judge]
    if rows.empty:
        return None
    r = rows.iloc[0]
    score = None if r.score is None or pd.isna(r.score) else float(r.score)
    return JudgeLabel(str(r.judge), score, str(r.rationale or ""))


def _text(value: object) -> str | None:
    """A stored text cell as str, None for NULL (which pandas may hold as NaN)."""
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def _excerpt(issue: str) -> str:
    return issue[:ISSUE_CHARS] + ("…" if len(issue) > ISSUE_CHARS else "")


def _answer_word(score: object, skipped: object) -> str:
    return "skipped" if bool(skipped) else f"{int(float(str(score)))}"


def load_spot_check_item(conn: Connection, *, spot_check_id: str, reviewer: str,
                         position: int | None = None) -> SpotCheckItem:
    """One item for `reviewer`: the one at `position` (clamped), or where their review resumes when None.

    Other reviewers' answers are included only once `reviewer` has answered the item (blind review).
    Raises NotFoundError for an unknown spot-check (or one without items) and for a record that is gone.
    """
    check = spot_checks_repo.get_spot_check(conn, spot_check_id)
    items = spot_checks_repo.spot_check_items_frame(conn, spot_check_id, reviewer=reviewer)
    if items.empty:
        raise NotFoundError(f"spot-check {spot_check_id} has no items: start a new one from the Reliability page")
    open_at = np.flatnonzero(~items.answered.to_numpy(dtype=bool))
    resume_at = int(open_at[0]) if len(open_at) else 0
    pos = max(0, min(resume_at if position is None else int(position), len(items) - 1))
    item = items.iloc[pos]
    labels = reliability_repo.label_rationales(conn, str(item.record_id), check["slot"])
    record = records_repo.get_record(conn, str(item.record_id))
    human = None if item.human_score is None or pd.isna(item.human_score) else int(item.human_score)
    history = spot_checks_repo.answer_history(conn, spot_check_id, pos, reviewer)
    answers = spot_checks_repo.item_answers(conn, spot_check_id, pos)
    others = answers[answers.reviewer != reviewer].reset_index(drop=True)
    return SpotCheckItem(
        spot_check_id=spot_check_id, source=check["source"], slot=check["slot"], position=pos,
        n_items=len(items), n_answered=int(items.answered.sum()), resume_at=resume_at,
        record_id=str(item.record_id), title=str(item.title), stratum=str(item.stratum),
        issue=_excerpt(record.issue),
        reviewer=reviewer, human_score=human, skipped=bool(item.skipped), note=_text(item.note) or "",
        earlier=tuple(_answer_word(r.human_score, r.skipped) for r in history.iloc[:-1].itertuples()),
        n_reviewers=int(item.n_reviewers), others=others if bool(item.answered) else others.iloc[0:0],
        student=_label(labels, "student", check.get("student_judge")),
        teacher=_label(labels, "teacher", check.get("teacher")),
        reviewers=spot_checks_repo.reviewer_progress(conn, spot_check_id),
        steps=record.steps, patch=record.patch, full_issue=record.issue,
        sampled=teacher_counts([None if pd.isna(v) else float(v) for v in items.teacher_score]),
    )


def anchors_for(slot: str, calibration_path: Path) -> list[CalibrationRef]:
    """The calibration references (anchored examples) of one dimension, in file order.

    Raises ConfigError naming file:line when the calibration file is unreadable.
    """
    return [ref for ref in load_calibration(calibration_path) if ref.slot == slot]


METRIC_COLUMNS = ("human_student_mae", "human_student_rho", "human_teacher_mae", "human_teacher_rho", "iaa_alpha",
                  "iaa_mad")
"""Agreement figures that can be undefined (too few pairs): shown as text."""


@dataclass(frozen=True)
class AgreementSummary:
    """The Reliability page's human-agreement table, cut to the cells that have answers."""

    table: pd.DataFrame
    """`spotcheck.AGREEMENT_COLUMNS` plus `answers` (scores and skips) after `slot`, answered cells only;
    the metrics (METRIC_COLUMNS) as text with 2 decimals, '–' where undefined (a grid would show None)."""
    title: str
    """E.g. '2 cells with answers (12 and 3 answers); 1 sampled cell has none yet'."""


def summarize_agreement(agreement: pd.DataFrame) -> AgreementSummary:
    """Keep the cells someone answered (scored or skipped) and say how many answers each has."""
    answers = (agreement["reviewed"] + agreement["skipped"]).astype("int64")
    table = agreement.assign(answers=answers)[answers > 0]
    cols = ["source", "slot", "answers", *[c for c in agreement.columns if c not in ("source", "slot")]]
    table = table[cols].sort_values("answers", ascending=False, kind="stable").reset_index(drop=True)
    for c in METRIC_COLUMNS:
        table[c] = ["–" if pd.isna(v) else f"{v:.2f}" for v in table[c]]
    n, waiting = len(table), int((answers == 0).sum())
    counts = table["answers"].tolist()
    each = ", ".join(map(str, counts[:-1])) + (" and " if n > 1 else "") + str(counts[-1]) if n else ""
    title = (f"{n} cell{'' if n == 1 else 's'} with answers ({each} answer{'' if counts == [1] else 's'})"
             if n else "no cell has answers yet")
    if waiting:
        title += f"; {waiting} sampled cell{' has' if waiting == 1 else 's have'} none yet"
    return AgreementSummary(table, title)
