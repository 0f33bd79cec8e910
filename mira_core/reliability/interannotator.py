"""Agreement between human reviewers who answered the same spot-check items: pure functions.

Krippendorff's alpha for interval data (Krippendorff, "Computing Krippendorff's Alpha-Reliability", 2011)
measures agreement beyond chance and copes with items answered by different numbers of reviewers; the
mean absolute difference says how far apart two reviewers are on the 0-10 scale, which alpha does not.
Only items with two or more answers ("pairable" in Krippendorff's terms) count.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np


class InterAnnotator(NamedTuple):
    """Agreement among reviewers over the items two or more of them scored (NaN when undefined)."""

    items: int
    """Items with at least two answers."""
    pairs: int
    """Unordered pairs of answers to one item (three reviewers on one item make three)."""
    alpha: float
    """Krippendorff's alpha, interval metric; NaN below two items or when every answer is the same."""
    mad: float
    """Mean |a - b| over the pairs."""


def _pairable(units: Sequence[Sequence[float]]) -> list[np.ndarray]:
    values = (np.asarray(u, dtype=float) for u in units)
    return [v for v in (u[np.isfinite(u)] for u in values) if len(v) >= 2]


def _sum_sq_diffs(v: np.ndarray) -> float:
    """Sum over ordered pairs i != j of (v_i - v_j)^2, without building the pairs."""
    return float(2 * (len(v) * np.sum(v * v) - np.sum(v) ** 2))


def _sum_abs_diffs(v: np.ndarray) -> tuple[float, int]:
    """Sum over unordered pairs of |v_i - v_j|, and the number of pairs."""
    s = np.sort(v)
    k = np.arange(len(s))
    return float(np.sum(s * (2 * k - len(s) + 1))), len(s) * (len(s) - 1) // 2


def inter_annotator(units: Sequence[Sequence[float]]) -> InterAnnotator:
    """Alpha (interval) and mean absolute difference over `units`: each the answers to one item.

    NaN marks a missing answer; units with fewer than two answers are left out.
    """
    pairable = _pairable(units)
    if not pairable:
        return InterAnnotator(0, 0, float("nan"), float("nan"))
    abs_sum, pairs = 0.0, 0
    for v in pairable:
        s, p = _sum_abs_diffs(v)
        abs_sum, pairs = abs_sum + s, pairs + p
    everything = np.concatenate(pairable)
    n = len(everything)
    d_observed = sum(_sum_sq_diffs(v) / (len(v) - 1) for v in pairable) / n
    d_expected = _sum_sq_diffs(everything) / (n * (n - 1))
    alpha = 1 - d_observed / d_expected if d_expected > 0 and len(pairable) >= 2 else float("nan")
    return InterAnnotator(len(pairable), pairs, alpha, abs_sum / pairs)
