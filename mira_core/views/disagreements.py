"""The Reliability cell's largest disagreements with both judges' rationales, for reading side by side.

The drill-down lists the records where student and teacher differ most; a curator decides whether the
student is wrong by reading why each judge scored as it did, so both rationales come with the rows.
"""

from __future__ import annotations

import pandas as pd

from mira_core.storage import Connection
from mira_core.storage import reliability_repo as repo
from mira_core.views.reliability import Judges

SHORT = 140
"""Characters of a rationale the table shows; the whole text opens under the table."""
DISAGREEMENT_COLUMNS = ("title", "record_id", "student", "teacher", "error", "student_rationale",
                        "teacher_rationale")


def shorten(text: str, limit: int = SHORT) -> str:
    """One line of at most `limit` characters, with "…" when cut."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def load_disagreements(conn: Connection, top: pd.DataFrame, *, slot: str, judges: Judges) -> pd.DataFrame:
    """`top` (a `CellDrillDown.disagreements`) with both judges' full rationales (DISAGREEMENT_COLUMNS)."""
    texts = repo.cell_rationales(conn, top.record_id.tolist(), slot, student_judge=judges.student,
                                 prompt_version=judges.prompt, teacher=judges.teacher)
    out = top.copy()
    out["student_rationale"] = [texts.get(r, ("", ""))[0] for r in out.record_id]
    out["teacher_rationale"] = [texts.get(r, ("", ""))[1] for r in out.record_id]
    return out[list(DISAGREEMENT_COLUMNS)]
