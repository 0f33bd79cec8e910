"""A hand-made corpus whose preview numbers can be derived on paper (see `small_corpus`)."""

from __future__ import annotations

import numpy as np

from mira_core.selection.aggregate import OVERRIDE_DROP, OVERRIDE_KEEP
from mira_core.selection.data import SelectionData, make_data

NAN = np.nan


def small_corpus() -> SelectionData:
    """Source A: a1..a4 with aggregate 8, 6, 6, 3 and 100, 200, 300, 400 tokens (a2 before a3 on the tie).
    Source B: b1 = 7 (50 tokens), b2 = 2 (60), b3 unscored (1000), b4 force_keep while unscored (10),
    b5 force_drop with aggregate 9 (5). Every slot holds the aggregate, so any mask leaves it unchanged.
    Outcomes: a1, a3, b1 resolved; a2, a4 not resolved; the rest unknown. Scorer: a1 keep, a2 downsample,
    a3 downsample, a4 drop, b1 keep, b2 drop.
    """
    ids = ["a1", "a2", "a3", "a4", "b1", "b2", "b3", "b4", "b5"]
    values = [8, 6, 6, 3, 7, 2, NAN, NAN, 9]
    scores = np.repeat(np.array(values, dtype=float)[:, None], 15, axis=1)
    return make_data(
        ids, ("A", "B"), np.array([0, 0, 0, 0, 1, 1, 1, 1, 1]),
        np.array([100, 200, 300, 400, 50, 60, 1000, 10, 5]), scores,
        np.array([True, True, True, True, True, True, False, False, True]),
        outcome=np.array([1, 0, 1, 0, 1, -1, -1, -1, -1], dtype=np.int8),
        recommendation=np.array([0, 1, 1, 2, 0, 2, -1, -1, -1], dtype=np.int8),
        override=np.array([0, 0, 0, 0, 0, 0, 0, OVERRIDE_KEEP, OVERRIDE_DROP], dtype=np.int8),
        overall=np.array([80, 60, 60, 30, 70, 20, NAN, NAN, 90], dtype=float),
    )
