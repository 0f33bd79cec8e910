"""Per-record quality aggregates over the dimensions that are reliable for the record's source.

Everything here is a pure function over numpy arrays, so the retention page can rebuild after a mask or
scorer-run change in a few milliseconds. A record without a complete score gets NaN ("unscored"): it is
counted apart and never silently kept or dropped. Curator overrides are applied later (they win over any
cut) and are therefore not part of the aggregate.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from mira_core.dimensions import N_SLOTS

Criterion = Literal["mean", "weighted", "overall", "recommendation"]
CRITERIA: tuple[Criterion, ...] = ("mean", "weighted", "overall", "recommendation")

RECOMMENDATIONS = ("keep", "downsample", "drop")
"""Scorer recommendation codes: index in this tuple; -1 means none."""
REC_NONE = -1

OVERRIDE_NONE, OVERRIDE_KEEP, OVERRIDE_DROP = 0, 1, -1
"""Per-record override codes (the reliability annotations' force_keep / force_drop)."""

_REC_VALUE = np.array([np.nan, 2.0, 1.0, 0.0])  # index rec_code + 1: none, keep, downsample, drop


def criterion_range(criterion: Criterion) -> tuple[float, float]:
    """The scale of an aggregate under `criterion` (slider bounds)."""
    if criterion == "overall":
        return 0.0, 100.0
    if criterion == "recommendation":
        return 0.0, 2.0
    return 0.0, 10.0


def slot_weights(mask: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """[n_sources, 15] weights: 0 for masked cells, else 1 (or the given per-slot weight)."""
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2 or mask.shape[1] != N_SLOTS:
        raise ValueError(f"mask must be [n_sources, {N_SLOTS}], got {mask.shape}")
    w = np.ones(N_SLOTS) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (N_SLOTS,) or (w < 0).any():
        raise ValueError(f"weights must be {N_SLOTS} non-negative numbers")
    return np.where(mask, 0.0, w[None, :])


def aggregate_scores(
    scores: np.ndarray,
    source_codes: np.ndarray,
    mask: np.ndarray,
    complete: np.ndarray,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Mean (or weighted mean) of each record's unmasked dimensions; NaN when unscored.

    A record is unscored when its score is not complete, when an unmasked slot is missing, or when every
    dimension of its source is masked (nothing reliable is left to judge it by).
    """
    scores = np.asarray(scores)
    codes = np.asarray(source_codes, dtype=np.intp)
    w = slot_weights(mask, weights)  # [S, 15]
    # float32 scores are exact (the loader keeps float32 only then: whole and half points), and times
    # whole-number weights they multiply and add exactly in float64 in any order: averaged per source they
    # give the same means to the last bit without two float64 copies of the matrix (~0.3 s at 2.3M records).
    exact = scores.dtype == np.float32 and np.array_equal(w, np.round(w))
    nan = np.isnan(scores)
    filled = scores if exact else scores.astype(np.float64)
    missing = np.zeros(len(codes), dtype=bool)
    with_nan = np.flatnonzero(nan.any(axis=1))
    if len(with_nan):
        filled = filled.copy() if exact else filled
        filled[with_nan] = np.nan_to_num(filled[with_nan])
        missing[with_nan] = (nan[with_nan] & (np.take(w, codes[with_nan], axis=0) > 0)).any(axis=1)
    num = _per_source_dot(filled, codes, w) if exact else \
        np.einsum("ij,ij->i", filled, np.take(w, codes, axis=0))  # np.take: far faster than w[codes]
    denom = np.take(w.sum(axis=1), codes)
    ok = np.asarray(complete, dtype=bool) & ~missing & (denom > 0)
    out = np.full(len(codes), np.nan)
    np.divide(num, denom, out=out, where=ok)
    return out


def _per_source_dot(filled: np.ndarray, codes: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Each row times its own source's weights, summed.

    Row-wise dot products by einsum, without BLAS: a threaded BLAS call is 30x slower on a busy 2-core machine.
    """
    num = np.zeros(len(codes))
    for code in np.unique(codes):
        rows = np.flatnonzero(codes == code)
        num[rows] = np.einsum("ij,j->i", np.take(filled, rows, axis=0), w[code])
    return num


def criterion_values(
    criterion: Criterion,
    *,
    scores: np.ndarray,
    source_codes: np.ndarray,
    mask: np.ndarray,
    complete: np.ndarray,
    overall: np.ndarray,
    recommendation: np.ndarray,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """The value a retention cut is applied to, per record (NaN = unscored).

    `overall` is the student's own 0-100 score; `recommendation` maps keep/downsample/drop to 2/1/0 so a
    cut at 1 keeps what the scorer would keep or downsample. Both need a complete score as well.
    `weighted` needs `weights`: the anchors file's cluster sizes (`dimensions.cluster_weights`).
    """
    complete = np.asarray(complete, dtype=bool)
    if criterion == "mean":
        return aggregate_scores(scores, source_codes, mask, complete)
    if criterion == "weighted":
        if weights is None:
            raise ValueError("the weighted criterion needs the dimensions' cluster sizes as weights")
        return aggregate_scores(scores, source_codes, mask, complete, weights)
    if criterion == "overall":
        return np.where(complete, np.asarray(overall, dtype=np.float64), np.nan)
    if criterion == "recommendation":
        rec = np.asarray(recommendation, dtype=np.intp)
        return np.where(complete, _REC_VALUE[np.clip(rec, -1, 2) + 1], np.nan)
    raise ValueError(f"unknown criterion {criterion!r}: expected one of {', '.join(CRITERIA)}")


STATUS_SCORED, STATUS_UNSCORED, STATUS_FORCE_KEEP, STATUS_FORCE_DROP = 0, 1, 2, 3
STATUS_NAMES = ("scored", "unscored", "force_keep", "force_drop")


def record_status(values: np.ndarray, override: np.ndarray) -> np.ndarray:
    """Per-record status code: an override wins over everything (even a missing score), else scored/unscored."""
    values = np.asarray(values, dtype=np.float64)
    override = np.asarray(override)
    status = np.where(np.isnan(values), STATUS_UNSCORED, STATUS_SCORED).astype(np.int8)
    status[override == OVERRIDE_KEEP] = STATUS_FORCE_KEEP
    status[override == OVERRIDE_DROP] = STATUS_FORCE_DROP
    return status
