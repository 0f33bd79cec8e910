"""The retention preview: what a set of per-source cuts keeps, answered from precomputed arrays.

`precompute` sorts each source's scored records by aggregate (highest first, ties by record id) and takes
cumulative sums of everything a preview reports (tokens, outcomes, scorer recommendations, per-dimension
score sums at block boundaries). A cut is then "the first k records of that order", and every number the
page shows for it is a difference of two cumulative sums: a threshold is one `searchsorted`, a retention
percentage one multiplication. Rebuild only when the mask, the scorer run or the data change.

Records with an override are outside the cuts (force_keep always kept, force_drop never); unscored records
are never kept unless forced. Both are reported apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from mira_core.dimensions import N_SLOTS
from mira_core.selection.aggregate import (
    RECOMMENDATIONS,
    STATUS_FORCE_DROP,
    STATUS_FORCE_KEEP,
    STATUS_SCORED,
    STATUS_UNSCORED,
    Criterion,
    criterion_range,
    criterion_values,
    record_status,
)
from mira_core.selection.data import OUTCOME_RESOLVED, OUTCOME_UNKNOWN, SelectionData

CutMode = Literal["threshold", "top_records", "top_tokens"]
CUT_MODES: tuple[CutMode, ...] = ("threshold", "top_records", "top_tokens")
BLOCK = 256
"""Per-dimension sums are kept every BLOCK records; a preview adds at most BLOCK rows to one of them."""
HIST_BINS = 40
BORDERLINE = 5


@dataclass(frozen=True)
class Cut:
    """One slider: keep records with aggregate >= value, or the top value% of records or of tokens."""

    mode: CutMode
    value: float


@dataclass(frozen=True)
class PreviewSettings:
    """Per-source cuts (a source without one keeps nothing), or one global cut tying all sources together."""

    cuts: dict[str, Cut] = field(default_factory=dict)
    global_cut: Cut | None = None
    budget_tokens: int | None = None
    downsample_weight: float = 1.0
    downsample_recommendations: tuple[str, ...] = ("downsample",)


@dataclass(frozen=True)
class SourceArrays:
    """One source's scored, non-overridden records in cut order, with cumulative sums (length m + 1)."""

    name: str
    order: np.ndarray
    values: np.ndarray
    neg_values: np.ndarray
    cum_tokens: np.ndarray
    cum_resolved: np.ndarray
    cum_known: np.ndarray
    cum_rec: np.ndarray
    cum_rec_tokens: np.ndarray
    block_dims: np.ndarray
    hist: np.ndarray
    unmasked: np.ndarray
    counts: dict[str, tuple[int, int]]

    @property
    def m(self) -> int:
        """Number of records the cut decides about."""
        return len(self.order)


@dataclass(frozen=True)
class Precomputed:
    """Everything a preview needs, built once per (data, criterion, mask)."""

    data: SelectionData
    criterion: Criterion
    mask: np.ndarray
    values: np.ndarray
    status: np.ndarray
    per_source: tuple[SourceArrays, ...]
    pooled_order: np.ndarray
    pooled_cum_tokens: np.ndarray
    pooled_src_cum: np.ndarray
    hist_edges: np.ndarray

    @property
    def sources(self) -> tuple[str, ...]:
        """Source names, in code order."""
        return self.data.sources


def _cum(x: np.ndarray, dtype: type = np.int64) -> np.ndarray:
    out: np.ndarray = np.zeros(len(x) + 1, dtype=dtype)
    np.cumsum(x, out=out[1:])
    return out


def _rec_codes(data: SelectionData) -> np.ndarray:
    """Recommendation as 0..3 (keep, downsample, drop, none)."""
    rec = data.recommendation.astype(np.intp)
    return np.where(rec < 0, len(RECOMMENDATIONS), rec)


def _source_arrays(pre_values: np.ndarray, data: SelectionData, status: np.ndarray, code: int, pooled: np.ndarray,
                   pooled_codes: np.ndarray, edges: np.ndarray, unmasked: np.ndarray, rec: np.ndarray) -> SourceArrays:
    # the pooled order restricted to one source is that source's order (same key: value desc, record id)
    order = pooled[pooled_codes == code]
    values = np.take(pre_values, order)
    tokens = np.take(data.tokens, order)
    outcome = np.take(data.outcome, order)
    r = np.take(rec, order)
    n_rec = len(RECOMMENDATIONS) + 1
    cum_rec = np.zeros((len(order) + 1, n_rec), dtype=np.int64)
    cum_rec_tokens = np.zeros_like(cum_rec)
    for j in range(n_rec):
        hit = r == j
        np.cumsum(hit, out=cum_rec[1:, j])
        np.cumsum(np.where(hit, tokens, 0), out=cum_rec_tokens[1:, j])
    starts = np.arange(0, len(order), BLOCK)
    block_dims = np.zeros((len(starts) + 1, N_SLOTS))
    if len(order):
        gathered = np.take(data.scores, order, axis=0)
        if np.isnan(gathered).any():  # only masked slots can be missing in a scored record
            gathered = np.nan_to_num(gathered)
        np.cumsum(_block_sums(gathered, starts), axis=0, out=block_dims[1:])
    in_source = data.source_codes == code
    src_status = status[in_source]
    src_tokens = data.tokens[in_source]

    def tally(code_: int) -> tuple[int, int]:
        sel = src_status == code_
        return int(sel.sum()), int(src_tokens[sel].sum())

    counts = {"records": (int(in_source.sum()), int(src_tokens.sum())), "scored": (len(order), int(tokens.sum())),
              "unscored": tally(STATUS_UNSCORED), "force_keep": tally(STATUS_FORCE_KEEP),
              "force_drop": tally(STATUS_FORCE_DROP)}
    return SourceArrays(
        name=data.sources[code], order=order, values=values, neg_values=-values, cum_tokens=_cum(tokens),
        cum_resolved=_cum(outcome == OUTCOME_RESOLVED), cum_known=_cum(outcome != OUTCOME_UNKNOWN),
        cum_rec=cum_rec, cum_rec_tokens=cum_rec_tokens, block_dims=block_dims,
        hist=np.histogram(values, bins=edges)[0], unmasked=unmasked, counts=counts,
    )


def _block_sums(gathered: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per-slot sums of each BLOCK rows (float64).

    float32 scores (the loader keeps them only when every value is exact in float32: whole and half points)
    sum exactly in float64 in any order, so a reshaped sum gives the same numbers as `reduceat`, ~10x
    faster at 2.3M rows; other values keep `reduceat`'s row-by-row order, so no sum changes in its last bit.
    """
    full = len(gathered) // BLOCK * BLOCK
    if gathered.dtype != np.float32 or not full:
        return np.add.reduceat(gathered, starts, axis=0, dtype=np.float64)
    sums = gathered[:full].reshape(-1, BLOCK, gathered.shape[1]).sum(axis=1, dtype=np.float64)
    if full == len(gathered):
        return sums
    return np.vstack([sums, gathered[full:].sum(axis=0, dtype=np.float64)[None, :]])


def as_weights(weights: Sequence[float] | None) -> np.ndarray | None:
    """Per-slot weights as the float array `precompute` takes (None stays None)."""
    return None if weights is None else np.asarray(weights, dtype=np.float64)


def precompute(data: SelectionData, mask: np.ndarray, criterion: Criterion = "mean",
               weights: np.ndarray | None = None) -> Precomputed:
    """Sort and accumulate per source (and pooled over the group); `mask` is [n_sources, 15], True = masked.

    `weights` (per slot) are needed by the `weighted` criterion only.
    """
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != (len(data.sources), N_SLOTS):
        raise ValueError(f"mask must be [{len(data.sources)}, {N_SLOTS}], got {mask.shape}")
    values = criterion_values(criterion, scores=data.scores, source_codes=data.source_codes, mask=mask,
                              complete=data.complete, overall=data.overall, recommendation=data.recommendation,
                              weights=weights)
    status = record_status(values, data.override)
    lo, hi = criterion_range(criterion)
    edges = np.array([-0.5, 0.5, 1.5, 2.5]) if criterion == "recommendation" else np.linspace(lo, hi, HIST_BINS + 1)
    rec = _rec_codes(data)
    scored = np.flatnonzero(status == STATUS_SCORED)
    pooled = scored[np.argsort(-np.take(values, scored), kind="stable")]  # data is in record-id order: ties by id
    src = np.take(data.source_codes, pooled)
    per_source = tuple(_source_arrays(values, data, status, c, pooled, src, edges, ~mask[c], rec)
                       for c in range(len(data.sources)))
    src_cum = np.zeros((len(pooled) + 1, len(data.sources)), dtype=np.int32)
    np.cumsum(src[:, None] == np.arange(len(data.sources))[None, :], axis=0, out=src_cum[1:])
    return Precomputed(data=data, criterion=criterion, mask=mask, values=values, status=status,
                       per_source=per_source, pooled_order=pooled, pooled_cum_tokens=_cum(np.take(data.tokens, pooled)),
                       pooled_src_cum=src_cum, hist_edges=edges)


# ----------------------------------------------------------------------------- cuts -> counts


def _k_for(neg_values: np.ndarray | None, cum_tokens: np.ndarray, cut: Cut) -> int:
    m = len(cum_tokens) - 1
    if cut.mode == "threshold" and neg_values is not None:
        return int(np.searchsorted(neg_values, -cut.value, side="right"))
    p = min(max(cut.value, 0.0), 100.0) / 100.0
    if cut.mode == "top_records":
        return min(m, round(p * m))
    if cut.mode == "top_tokens":
        # tokens are integers: rounding the target makes a percentage computed from k give k back exactly
        return int(np.searchsorted(cum_tokens, round(p * int(cum_tokens[-1])), side="right")) - 1
    raise ValueError(f"unknown cut mode {cut.mode!r}: expected one of {', '.join(CUT_MODES)}")


def resolve_counts(pre: Precomputed, settings: PreviewSettings) -> np.ndarray:
    """How many records of each source's cut order are kept (a source without a cut keeps none)."""
    g = settings.global_cut
    if g is not None and g.mode != "threshold":
        k = _k_for(None, pre.pooled_cum_tokens, g)
        return pre.pooled_src_cum[k].astype(np.int64)
    out = np.zeros(len(pre.per_source), dtype=np.int64)
    for i, sa in enumerate(pre.per_source):
        cut = g if g is not None else settings.cuts.get(sa.name)
        if cut is not None:
            out[i] = _k_for(sa.neg_values, sa.cum_tokens, cut)
    return out


# ----------------------------------------------------------------------------- the preview


@dataclass(frozen=True)
class SourcePreview:
    """What the cuts keep of one source (or of all sources, for the total); `kept` includes force_keep."""

    source: str
    records: int
    tokens: int
    kept: int
    kept_tokens: int
    downsampled: int
    effective_tokens: float
    cut_records: int
    scored: int
    unscored: int
    unscored_tokens: int
    force_keep: int
    force_keep_tokens: int
    force_drop: int
    force_drop_tokens: int
    cut_value: float


@dataclass(frozen=True)
class Preview:
    """Per-source and total counts for one set of cuts, against an optional token budget."""

    sources: tuple[SourcePreview, ...]
    total: SourcePreview
    counts: np.ndarray
    budget_tokens: int | None

    @property
    def budget_gap(self) -> int | None:
        """Kept tokens minus the budget (positive = over budget)."""
        return None if self.budget_tokens is None else self.total.kept_tokens - self.budget_tokens


def _ds_codes(settings: PreviewSettings) -> list[int]:
    unknown = set(settings.downsample_recommendations) - set(RECOMMENDATIONS)
    if unknown:
        raise ValueError(f"unknown recommendation(s) {sorted(unknown)}: expected keep, downsample or drop")
    return [RECOMMENDATIONS.index(r) for r in settings.downsample_recommendations]


def _source_preview(sa: SourceArrays, k: int, ds: list[int], weight: float) -> SourcePreview:
    c = sa.counts
    fk_n, fk_t = c["force_keep"]
    ds_n = int(sa.cum_rec[k, ds].sum()) if ds else 0
    ds_t = int(sa.cum_rec_tokens[k, ds].sum()) if ds else 0
    kept_t = int(sa.cum_tokens[k]) + fk_t
    return SourcePreview(
        source=sa.name, records=c["records"][0], tokens=c["records"][1], kept=k + fk_n, kept_tokens=kept_t,
        downsampled=ds_n, effective_tokens=kept_t - (1.0 - weight) * ds_t, cut_records=k, scored=sa.m,
        unscored=c["unscored"][0], unscored_tokens=c["unscored"][1], force_keep=fk_n, force_keep_tokens=fk_t,
        force_drop=c["force_drop"][0], force_drop_tokens=c["force_drop"][1],
        cut_value=float(sa.values[k - 1]) if k else float("nan"),
    )


def _sum_previews(parts: tuple[SourcePreview, ...]) -> SourcePreview:
    names = [f for f in SourcePreview.__dataclass_fields__ if f not in ("source", "cut_value")]
    sums = {f: sum(getattr(p, f) for p in parts) for f in names}
    return SourcePreview(source="total", cut_value=float("nan"), **sums)


def preview(pre: Precomputed, settings: PreviewSettings) -> Preview:
    """Counts and tokens kept per source and in total: a few lookups into the precomputed sums."""
    counts = resolve_counts(pre, settings)
    ds = _ds_codes(settings)
    parts = tuple(_source_preview(sa, int(k), ds, settings.downsample_weight) for sa, k in zip(pre.per_source, counts, strict=True))
    return Preview(sources=parts, total=_sum_previews(parts), counts=counts, budget_tokens=settings.budget_tokens)


@dataclass(frozen=True)
class Borderline:
    """A record next to a cut."""

    record_id: str
    value: float


@dataclass(frozen=True)
class SourceDetails:
    """The audit view of one source's cut: histogram, kept-vs-dropped means, outcome mix, agreement, borderline.

    Means cover the records the cut decides about (scored, no override); masked dimensions are NaN.
    `agreement[rec] = (kept, dropped)` for rec in keep/downsample/drop/none.
    """

    source: str
    hist: np.ndarray
    edges: np.ndarray
    cut_value: float
    kept_mean: np.ndarray
    dropped_mean: np.ndarray
    resolved_kept: float
    resolved_dropped: float
    agreement: dict[str, tuple[int, int]]
    agreement_rate: float
    above: tuple[Borderline, ...]
    below: tuple[Borderline, ...]


def _prefix_dims(pre: Precomputed, sa: SourceArrays, k: int) -> np.ndarray:
    b = k // BLOCK
    rest = sa.order[b * BLOCK:k]
    partial = np.nan_to_num(pre.data.scores[rest].astype(np.float64)).sum(axis=0) if len(rest) else 0.0
    return sa.block_dims[b] + partial


def _share(num: int, den: int) -> float:
    return num / den if den else float("nan")


def _details_one(pre: Precomputed, sa: SourceArrays, k: int, n_border: int) -> SourceDetails:
    m = sa.m
    kept_sum = _prefix_dims(pre, sa, k)
    drop_sum = sa.block_dims[-1] - kept_sum
    with np.errstate(invalid="ignore", divide="ignore"):
        kept_mean = np.where(sa.unmasked & (k > 0), kept_sum / max(k, 1), np.nan)
        dropped_mean = np.where(sa.unmasked & (m - k > 0), drop_sum / max(m - k, 1), np.nan)
    res_k, known_k = int(sa.cum_resolved[k]), int(sa.cum_known[k])
    res_all, known_all = int(sa.cum_resolved[-1]), int(sa.cum_known[-1])
    names = (*RECOMMENDATIONS, "none")
    agreement = {n: (int(sa.cum_rec[k, i]), int(sa.cum_rec[-1, i] - sa.cum_rec[k, i])) for i, n in enumerate(names)}
    agree = agreement["keep"][0] + agreement["downsample"][0] + agreement["drop"][1]
    with_rec = m - sum(agreement["none"])

    def border(lo: int, hi: int) -> tuple[Borderline, ...]:
        return tuple(Borderline(pre.data.record_id(int(i)), float(pre.values[i])) for i in sa.order[lo:hi])

    return SourceDetails(
        source=sa.name, hist=sa.hist, edges=pre.hist_edges, cut_value=float(sa.values[k - 1]) if k else float("nan"),
        kept_mean=kept_mean, dropped_mean=dropped_mean, resolved_kept=_share(res_k, known_k),
        resolved_dropped=_share(res_all - res_k, known_all - known_k), agreement=agreement,
        agreement_rate=_share(agree, with_rec), above=border(max(k - n_border, 0), k), below=border(k, k + n_border),
    )


def details(pre: Precomputed, counts: np.ndarray, n_border: int = BORDERLINE) -> tuple[SourceDetails, ...]:
    """The audit view for every source at the given per-source cut counts (from `preview(...).counts`)."""
    return tuple(_details_one(pre, sa, int(k), n_border) for sa, k in zip(pre.per_source, counts, strict=True))
