"""The Record page's Scores tab: student, teacher and human per dimension, the active mask, a job in flight.

Human answers come from spot-checks, and review there is blind: a person sees another reviewer's answer
to an item only once they have answered that item themselves. The tab keeps the same rule per item, so
opening a record can never show the answer to an item its viewer still has to give; the answers held back
are counted instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from mira_core.dimensions import SLOTS
from mira_core.storage import Connection, scores_repo, spot_checks_repo
from mira_core.views.record_judgements import load_record_judgements
from mira_core.views.scoring import RecordScores, load_record_scores

TAB_COLUMNS = ("slot", "dimension", "score", "teacher", "human", "mask", "rationale", "problem", "masked")


@dataclass(frozen=True)
class HumanAnswers:
    """Spot-check answers one viewer may see, per dimension."""

    by_slot: dict[str, str]
    """Slot -> "7 (ann) · 6 (bob)": visible scores with their reviewer; slots without one are absent."""
    hidden: int
    """Answers held back because the viewer has not answered that item yet (blind review)."""


def visible_human_answers(answers: pd.DataFrame, viewer: str) -> HumanAnswers:
    """Apply blind review to a record's answers (`spot_checks_repo.RECORD_ANSWER_COLUMNS`) for `viewer`.

    An answer is visible when it is the viewer's own or the viewer answered (scored or skipped) the same
    item. Skips are not scores: they show nowhere, and a hidden skip is still counted as held back.
    """
    item = list(zip(answers.spot_check_id, answers.position, strict=True))
    mine = {it for it, who in zip(item, answers.reviewer, strict=True) if who == viewer}
    visible = pd.Series([it in mine for it in item], index=answers.index, dtype=bool)
    shown = answers[visible & ~answers.skipped]
    by_slot: dict[str, str] = {}
    for slot, rows in shown.groupby("slot", sort=False):
        by_slot[str(slot)] = " · ".join(f"{int(r.human_score)} ({r.reviewer})" for r in rows.itertuples())
    return HumanAnswers(by_slot, int((~visible).sum()))


@dataclass(frozen=True)
class ScoresTab:
    """What the Scores tab shows."""

    scores: RecordScores
    """The latest student score's headline and every run (`views.scoring`)."""
    table: pd.DataFrame
    """One row per dimension (TAB_COLUMNS): the latest student score (`score`), the teacher's, the human
    answers the viewer may see, the mask reason ('' when unmasked), the student's rationale and problems,
    and `masked` (the page greys those rows)."""
    hidden_human: int
    """Human answers held back by blind review."""
    job_in_flight: str | None
    """A live scoring job that has yet to score this record (the page polls while there is one)."""


def load_scores_tab(conn: Connection, record_id: str, *, viewer: str, slot_names: dict[str, str]) -> ScoresTab:
    """Student, teacher, human and mask per dimension for `viewer`. Raises NotFoundError for an unknown record."""
    judged = load_record_judgements(conn, record_id=record_id).rows
    scores = load_record_scores(conn, record_id, slot_names=slot_names)
    human = visible_human_answers(spot_checks_repo.record_answers(conn, record_id), viewer)
    student = scores.anchors.set_index("slot") if not scores.anchors.empty else None
    rows = []
    for k, slot in enumerate(SLOTS):
        j = judged.iloc[k]
        rows.append((
            slot, slot_names.get(slot, slot),
            None if student is None else student.at[slot, "score"], j.teacher, human.by_slot.get(slot, ""),
            f"masked: {j.mask_reason}" if j.masked else "",
            "" if student is None else student.at[slot, "rationale"],
            "" if student is None else student.at[slot, "problem"], bool(j.masked),
        ))
    table = pd.DataFrame(rows, columns=list(TAB_COLUMNS))
    return ScoresTab(scores, table, human.hidden, scores_repo.record_job_in_flight(conn, record_id))


def job_in_flight(conn: Connection, record_id: str) -> str | None:
    """A live scoring job that has yet to score `record_id` (one indexed lookup), else None."""
    return scores_repo.record_job_in_flight(conn, record_id)
