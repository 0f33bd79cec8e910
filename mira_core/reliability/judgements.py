"""One record's judges side by side: student and teacher scores per dimension with the active mask."""

from __future__ import annotations

import pandas as pd

from mira_core.dimensions import SLOTS
from mira_core.reliability.mask_store import active_mask
from mira_core.storage import Connection
from mira_core.storage import reliability_repo as repo

JUDGEMENT_COLUMNS = ("slot", "student", "teacher", "masked", "mask_reason", "student_rationale",
                     "teacher_rationale")


def record_judgements(conn: Connection, record_id: str, *, teacher: str | None = None) -> pd.DataFrame:
    """Per dimension of one record: the latest student score, the teacher's (the named one, else the latest
    of any), whether the active mask hides it and why, and both rationales (JUDGEMENT_COLUMNS).

    What the Record page shows so a curator can read student and teacher side by side. Raises NotFoundError
    when the record is not stored.
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
    return pd.DataFrame(rows, columns=list(JUDGEMENT_COLUMNS))
