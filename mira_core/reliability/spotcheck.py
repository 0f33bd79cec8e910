"""Spot-check sampling and human agreement: pure functions over arrays and review tables.

A spot-check of one cell mixes (a) records where student and teacher disagree by a lot, where a
human verdict is most informative, and (b) an even spread over the student's score bands, so a
cell is not judged only on its middle scores. Within a band, records with a teacher label in the cell
are drawn first: a human answer next to both judges builds human-vs-teacher agreement too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from mira_core.reliability.interannotator import inter_annotator
from mira_core.reliability.metrics import mae, spearman

BANDS: tuple[tuple[str, float, float], ...] = (("low", 0, 3), ("mid", 4, 6), ("high", 7, 10))
AGREEMENT_COLUMNS = ("source", "slot", "reviewed", "items", "reviewers", "skipped", "human_student_mae",
                     "human_student_rho", "human_teacher_mae", "human_teacher_rho", "n_teacher", "iaa_items",
                     "iaa_pairs", "iaa_alpha", "iaa_mad")


class SampledItem(NamedTuple):
    """One record chosen for review, why it was chosen, and the judges' scores at that time."""

    record_id: str
    stratum: str
    student: float
    teacher: float


def _round_robin(pools: dict[str, list[int]], need: int) -> list[tuple[int, str]]:
    """Up to `need` (index, band) pairs, one band after the other, so the bands stay evenly spread."""
    out: list[tuple[int, str]] = []
    while len(out) < need and any(pools.values()):
        for name, pool in pools.items():
            if len(out) < need and pool:
                out.append((pool.pop(), name))
    return out


def band_of(score: float) -> str:
    """The student score band name ('low' 0-3, 'mid' 4-6, 'high' 7-10; fractional scores round down)."""
    for name, lo, hi in BANDS:
        if lo <= score < hi + 1:
            return name
    return "high" if score > 10 else "low"


def stratified_sample(record_ids: np.ndarray, student: np.ndarray, teacher: np.ndarray, size: int, seed: int,
                      *, gap: float = 3.0, gap_share: float = 1 / 3) -> list[SampledItem]:
    """Up to `size` records, stratified by student score band, large gaps first; seeded.

    A `gap_share` of them have |student - teacher| >= `gap`; the rest are spread evenly over the student's
    score bands (a short band's leftover goes to the others), records with a teacher label (finite
    `teacher`) first: unlabelled ones only fill what the labelled ones cannot.
    """
    rng = np.random.default_rng(seed)
    s = np.asarray(student, dtype=float)
    t = np.asarray(teacher, dtype=float)
    valid = np.flatnonzero(np.isfinite(s))
    taken: list[tuple[int, str]] = []
    gaps = valid[np.isfinite(t[valid]) & (np.abs(s[valid] - t[valid]) >= gap)]
    n_gap = min(len(gaps), round(size * gap_share))
    for i in rng.permutation(gaps)[:n_gap]:
        taken.append((int(i), "gap"))
    used = {i for i, _ in taken}
    labelled = np.isfinite(t)
    bands = {name: [int(i) for i in rng.permutation(valid) if i not in used and band_of(s[i]) == name]
             for name, _, _ in BANDS}
    need = size - len(taken)
    for with_label in (True, False):  # every labelled record before any unlabelled one, bands in turn
        pools = {name: [i for i in band if labelled[i] == with_label] for name, band in bands.items()}
        taken += _round_robin(pools, need)
        need = size - len(taken)
    order = rng.permutation(len(taken))
    return [SampledItem(str(record_ids[taken[k][0]]), taken[k][1], float(s[taken[k][0]]), float(t[taken[k][0]]))
            for k in order]


class TeacherCounts(NamedTuple):
    """How many sampled items have a teacher label in the cell, and how many have none."""

    with_teacher: int
    without_teacher: int

    def __str__(self) -> str:
        """E.g. '8 with a teacher label, 2 without'."""
        return f"{self.with_teacher} with a teacher label, {self.without_teacher} without"


def teacher_counts(teacher_scores: Sequence[float | None]) -> TeacherCounts:
    """Count sampled items by whether the teacher scored them (None or NaN: no label)."""
    n = sum(1 for v in teacher_scores if v is not None and np.isfinite(v))
    return TeacherCounts(n, len(teacher_scores) - n)


def human_agreement(items: pd.DataFrame) -> pd.DataFrame:
    """Per source x slot agreement of human scores with the student, the teacher and each other.

    `items` has one row per item and reviewer's answer (`spot_checks_repo.SCORE_COLUMNS`: source, slot,
    spot_check_id, position, reviewer, human_score, skipped, student_score, teacher_score); rows without a
    human score (unanswered or skipped) are left out of the metrics. Each reviewer's answer counts: two
    curators scoring one item make two human-vs-student pairs. Where two or more reviewers scored the same
    items, `iaa_*` give Krippendorff's alpha (interval) and the mean absolute difference between them, over
    `iaa_items` items and `iaa_pairs` pairs of answers. Columns AGREEMENT_COLUMNS; empty cells give NaN.
    """
    rows = []
    for (source, slot), g in items.groupby(["source", "slot"], sort=True):
        done = g[g["human_score"].notna()]
        h = done["human_score"].to_numpy(dtype=float)
        st = done["student_score"].to_numpy(dtype=float)
        te = done["teacher_score"].to_numpy(dtype=float)
        units = [u.to_numpy(dtype=float) for _, u in done.groupby(["spot_check_id", "position"])["human_score"]]
        iaa = inter_annotator(units)
        rows.append((source, slot, len(done), len(units), int(done["reviewer"].nunique()), int(g["skipped"].sum()),
                     mae(h, st), spearman(h, st), mae(h, te), spearman(h, te), int(np.isfinite(te).sum()),
                     iaa.items, iaa.pairs, iaa.alpha, iaa.mad))
    return pd.DataFrame(rows, columns=list(AGREEMENT_COLUMNS))
