"""Spot-checks over the database: sample one cell into a stored review queue, and agreement over the reviews.

The sampling and agreement maths are pure functions in `spotcheck`; storage (`spot_checks_repo`) keeps the
queues and answers as rows. This module reads the score pairs, samples, stores, and computes agreement.
Creating and answering spot-checks needs the curator role; both go into the activity log
(`spot_check.create`, `spot_check.answer`) in the same transaction.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import pandas as pd

from mira_core.dimensions import SLOTS
from mira_core.errors import MiraError, NotFoundError
from mira_core.identity import Actor, Role, require
from mira_core.reliability.masks import Cell
from mira_core.reliability.spotcheck import human_agreement, stratified_sample, teacher_counts
from mira_core.storage import Connection, Engine, write_tx
from mira_core.storage import spot_checks_repo as repo
from mira_core.storage.reliability_repo import load_score_pairs
from mira_core.team import record_change

CREATING = "starting spot-checks"


def create_spot_check(conn: Connection, *, source: str, slot: str, size: int, actor: Actor, seed: int = 0,
                      student_judge: str | None = None, teacher: str | None = None) -> str:
    """Sample a stratified spot-check of one cell and store it; returns its id.

    Raises PermissionDenied for a viewer, ValueError for an unknown slot or a size below 1, NotFoundError
    when the cell has no student scores to check.
    """
    require(actor, Role.curator, CREATING)
    if slot not in SLOTS:
        raise ValueError(f"unknown dimension {slot!r}: expected one of A1..A15")
    if size < 1:
        raise ValueError("a spot-check needs at least one item")
    pairs = load_score_pairs(conn, student_judge=student_judge, teacher=teacher, sources=[source])
    col = SLOTS.index(slot)
    items = stratified_sample(pairs.record_ids, pairs.student[:, col], pairs.teacher[:, col], size, seed)
    if not items:
        raise NotFoundError(f"no student scores for {source} {slot}: score some records of this source first")
    rows = [repo.SpotCheckItemRow(it.record_id, it.stratum, it.student, None if math.isnan(it.teacher) else it.teacher)
            for it in items]
    sid = repo.insert_spot_check(conn, source=source, slot=slot, created_by=actor.user_id, seed=seed,
                                 student_judge=student_judge, teacher=teacher, items=rows)
    kinds = teacher_counts([r.teacher_score for r in rows])
    record_change(conn, actor, "spot_check.create", target_kind="spot_check", target_id=sid, source=source,
                  slot=slot, items=len(rows), seed=seed, with_teacher=kinds.with_teacher,
                  without_teacher=kinds.without_teacher)
    return sid


def agreement(conn: Connection) -> pd.DataFrame:
    """Human-vs-student, human-vs-teacher and reviewer-vs-reviewer agreement per source x slot.

    Every reviewer's current answer counts. Columns `spotcheck.AGREEMENT_COLUMNS`; a cell whose items are all
    unreviewed has reviewed = 0 and NaN metrics.
    """
    return human_agreement(repo.item_scores(conn))


def record_review(conn: Connection, *, spot_check_id: str, position: int, human_score: int | None,
                  skipped: bool = False, note: str = "", actor: Actor) -> None:
    """Store `actor`'s answer for the item at `position`: a 0-10 score, or a skip.

    Answers are per reviewer: another curator's answer to the item is left alone, and `actor`'s earlier
    answer stays in the history (the new one becomes current). The spot-check is marked done once every
    item has someone's answer. The activity log names the answer, not the score: it is readable by every
    reviewer, and review is blind. Raises PermissionDenied for a viewer,
    ValueError for a score outside 0-10, NotFoundError for an unknown spot-check or position.
    """
    require(actor, Role.curator, "answering spot-checks")
    record_id = repo.record_review(conn, spot_check_id, position, human_score=human_score, skipped=skipped,
                                   note=note, reviewer=actor.user_id)
    record_change(conn, actor, "spot_check.answer", target_kind="spot_check", target_id=spot_check_id,
                  record_id=record_id, position=position, skipped=skipped)


class CellSpotChecks(NamedTuple):
    """What `spot_check_cells` did: how many spot-checks it created, and why the others were not."""

    made: int
    failed: list[str]


def spot_check_cells(engine: Engine, cells: Sequence[Cell], *, size: int, actor: Actor,
                     student_judge: str | None = None, teacher: str | None = None) -> CellSpotChecks:
    """One spot-check of `size` items per cell (a review queue over, e.g., every masked cell).

    Each cell is sampled and stored in its own transaction, so a cell that cannot be checked (no student
    scores, or a database error) is reported in `failed` without undoing the others. Seeds are 0, 1, 2, ...
    in the order the spot-checks are created. Raises PermissionDenied for a viewer before any is made.
    """
    require(actor, Role.curator, CREATING)  # up front: a refusal is not one failed cell per cell
    made, failed = 0, []
    for cell in cells:
        try:
            with write_tx(engine) as conn:
                create_spot_check(conn, source=cell.source, slot=cell.slot, size=size, seed=made,
                                  actor=actor, student_judge=student_judge, teacher=teacher)
            made += 1
        except (MiraError, ValueError) as exc:
            failed.append(str(exc))
    return CellSpotChecks(made, failed)
