"""What the reliability and spot-check pages render, computed from arrays (pure, tested without Streamlit).

The heatmap grid puts sources in rows (plus "all sources" last) and A1..A15 in columns. Cells with
too few pairs carry NaN in the colour grid and the words "too few" in their label, so no number is
shown where there is no evidence; the hover still gives n and the interval.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Literal, NamedTuple

import numpy as np
import pandas as pd

from mira_core.dimensions import SLOTS
from mira_core.reliability.masks import Mask
from mira_core.reliability.metrics import ALL_SOURCES
from mira_core.storage.reliability_repo import ScorePairs

Metric = Literal["mae", "rho"]
METRIC_LABELS: dict[str, str] = {"mae": "MAE", "rho": "Spearman ρ"}
DETAIL_COLUMNS = ("record_id", "student", "teacher", "error")


class HeatmapGrid(NamedTuple):
    """Row labels, column labels, colour values, cell labels and hover texts (all [rows, 15])."""

    rows: list[str]
    cols: list[str]
    z: np.ndarray
    text: list[list[str]]
    hover: list[list[str]]


def filter_pairs(pairs: ScorePairs, *, sources: Sequence[str] = (), outcomes: Sequence[str] = (),
                 min_tokens: int | None = None, max_tokens: int | None = None) -> ScorePairs:
    """The rows matching the page filters (empty sequences mean no constraint)."""
    keep = np.ones(len(pairs), dtype=bool)
    if sources:
        keep &= np.isin(pairs.sources, list(sources))
    if outcomes:
        keep &= np.isin(pairs.outcomes, list(outcomes))
    if min_tokens is not None:
        keep &= pairs.tokens >= min_tokens
    if max_tokens is not None:
        keep &= pairs.tokens <= max_tokens
    return pairs if keep.all() else pairs.subset(keep)


def _fmt(x: float, digits: int = 2) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def heatmap_grid(matrix: pd.DataFrame, metric: Metric, mask: Mask | None = None) -> HeatmapGrid:
    """The grid for `metric`; masked cells get a "✕" after their value and the reason in the hover."""
    sources = sorted(s for s in matrix["source"].unique() if s != ALL_SOURCES)
    rows = [*sources, ALL_SOURCES] if len(matrix) else []
    by_cell = {(r["source"], r["slot"]): r for r in matrix.to_dict("records")}
    z = np.full((len(rows), len(SLOTS)), np.nan)
    text: list[list[str]] = []
    hover: list[list[str]] = []
    for i, source in enumerate(rows):
        trow, hrow = [], []
        for j, slot in enumerate(SLOTS):
            r = by_cell.get((source, slot))
            if r is None:
                trow.append("")
                hrow.append("")
                continue
            decision = mask.decision(source, slot) if mask and source != ALL_SOURCES else None
            mark = " ✕" if decision and decision.masked else ""
            if r["too_few"]:
                label = f"too few (n={int(r['n'])})"
            else:
                z[i, j] = r[metric]
                label = _fmt(r[metric])
            trow.append(label + mark)
            lines = [f"{html.escape(source)} · {slot}", f"n = {int(r['n'])}",
                     f"MAE {_fmt(r['mae'])} [{_fmt(r['mae_lo'])}, {_fmt(r['mae_hi'])}]",
                     f"ρ {_fmt(r['rho'])} [{_fmt(r['rho_lo'])}, {_fmt(r['rho_hi'])}]"]
            if decision:
                state = "masked" if decision.masked else "unmasked"
                lines.append(f"{state} ({decision.by}): {html.escape(decision.reason)}")
            hrow.append("<br>".join(lines))
        text.append(trow)
        hover.append(hrow)
    return HeatmapGrid(rows, list(SLOTS), z, text, hover)


def cell_detail(pairs: ScorePairs, source: str, slot: str) -> pd.DataFrame:
    """Complete (student, teacher) pairs of one cell (DETAIL_COLUMNS; error = student - teacher)."""
    k = SLOTS.index(slot)
    keep = np.isfinite(pairs.student[:, k]) & np.isfinite(pairs.teacher[:, k])
    if source != ALL_SOURCES:
        keep &= pairs.sources == source
    s, t = pairs.student[keep, k], pairs.teacher[keep, k]
    return pd.DataFrame({"record_id": pairs.record_ids[keep].astype(str), "student": s, "teacher": t, "error": s - t},
                        columns=list(DETAIL_COLUMNS))


def largest_disagreements(detail: pd.DataFrame, k: int = 25) -> pd.DataFrame:
    """The `k` pairs with the largest |student - teacher|, ties broken by record id (stable)."""
    if detail.empty:
        return detail.reset_index(drop=True)
    abs_err = detail["error"].abs().to_numpy()
    if len(abs_err) > k:  # only rows tied with or above the k-th largest need sorting (232K -> a few)
        kth = np.partition(abs_err, len(abs_err) - k)[len(abs_err) - k]
        detail, abs_err = detail[abs_err >= kth], abs_err[abs_err >= kth]
    order = detail.assign(abs_error=abs_err).sort_values(["abs_error", "record_id"], ascending=[False, True])
    return order.head(k).drop(columns="abs_error").reset_index(drop=True)


def jittered(values: np.ndarray, seed: int = 0, width: float = 0.25) -> np.ndarray:
    """Values plus uniform jitter in ±width (so stacked integer scores show as clouds), seeded."""
    rng = np.random.default_rng(seed)
    return np.asarray(values, dtype=float) + rng.uniform(-width, width, len(values))


def sample_points(detail: pd.DataFrame, max_points: int = 5000, seed: int = 0) -> pd.DataFrame:
    """At most `max_points` rows of a cell's pairs (seeded), so a 232K-pair scatter stays a small payload."""
    if len(detail) <= max_points:
        return detail
    return detail.sample(n=max_points, random_state=seed)


def error_histogram(detail: pd.DataFrame) -> pd.DataFrame:
    """Counts of student - teacher per integer bin from -10 to 10 (columns error, records)."""
    bins = np.arange(-10, 11)
    counts = np.bincount(np.clip(np.rint(detail["error"].to_numpy(dtype=float)), -10, 10).astype(np.int64) + 10,
                         minlength=21) if len(detail) else np.zeros(21, dtype=np.int64)
    return pd.DataFrame({"error": bins, "records": counts})
