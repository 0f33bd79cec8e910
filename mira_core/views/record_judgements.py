"""The Record page's Student vs teacher tab: one record's judges side by side with the active mask."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from mira_core.dimensions import SLOTS
from mira_core.reliability.mask_store import active_mask
from mira_core.storage import Connection
from mira_core.storage import reliability_repo as repo

JUDGEMENT_COLUMNS = ("slot", "student", "teacher", "masked", "mask_reason", "student_rationale",
                     "teacher_rationale")


@dataclass(frozen=True)
class RecordJudgements:
    """What the tab shows for one record."""

    record_id: str
    """The record the judgements are of."""
    rows: pd.DataFrame
    """One row per dimension A1..A15 (JUDGEMENT_COLUMNS): the latest student score, the teacher's (None where
    a judge gave none), whether the active mask hides the dimension for the record's source and why
    ('' when not masked), and both rationales ('' when none)."""

    @property
    def has_scores(self) -> bool:
        """Whether the record has any student score or teacher label to show."""
        return not (self.rows.student.isna().all() and self.rows.teacher.isna().all())


def load_record_judgements(conn: Connection, *, record_id: str, teacher: str | None = None) -> RecordJudgements:
    """Student and teacher scores of one record, per dimension, with the mask and rationales.

    Per dimension of one record: the latest student score, the teacher's (the named one, else the latest of
    any), the active mask's decision for the record's source, and both rationales.

    Raises NotFoundError when the record is not stored.

    """
    stored = repo.record_latest_scores(conn, record_id, teacher=teacher)
    student, teach = stored.student, stored.teacher
    mask = active_mask(conn)
    rows = []
    for k, slot in enumerate(SLOTS):
        decision = mask.decision(stored.source, slot)
        rows.append((
            slot,
            student.values[k] if student else None,
            teach.values[k] if teach else None,
            bool(decision and decision.masked),
            decision.reason if decision and decision.masked else "",
            student.rationales[k] if student else "",
            teach.rationales[k] if teach else "",
        ))
    return RecordJudgements(record_id, pd.DataFrame(rows, columns=list(JUDGEMENT_COLUMNS)))
