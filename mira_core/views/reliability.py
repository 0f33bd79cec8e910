"""The Reliability screen: loaders and view models for the agreement matrix, the mask preview and one cell.

The page caches the heavy parts itself (the score pairs per judge choice, the matrix with its bootstrap
intervals per filter) and passes them back in, so moving a threshold only re-applies the rules.

The heatmap grid puts sources in rows (plus "all sources" last) and A1..A15 in columns. Cells with
too few pairs carry NaN in the colour grid and the words "too few" in their label, so no number is
shown where there is no evidence; the hover still gives n and the interval.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np
import pandas as pd

from mira_core.dimensions import SLOTS
from mira_core.query import RecordFilter
from mira_core.reliability.masks import WILDCARD, Cell, CellDecision, Mask, MaskRules, Override, build_mask
from mira_core.reliability.metrics import ALL_SOURCES, reliability_matrix
from mira_core.reliability.spot_check_store import agreement
from mira_core.storage import Connection, records_repo
from mira_core.storage import reliability_repo as repo
from mira_core.storage.reliability_repo import ScorePairs
from mira_core.views.spot_check import load_spot_checks

__all__ = ["ScorePairs"]  # the pairs type pages cache, named through this module

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


# ----------------------------------------------------------------------------- judges, filters, the matrix


@dataclass(frozen=True)
class ReliabilityChoices:
    """What the page's filters offer."""

    teachers: list[str]
    """Teachers with labels; none means there is nothing to compare yet."""
    students: list[str]
    """Student judges (scorer runs / models) with scores."""
    prompts: list[str]
    """Prompt versions student scores were made with."""
    sources: list[str]
    """Every source in the store."""


@dataclass(frozen=True)
class Judges:
    """Whose scores are compared (a cache key: changing it reloads the pairs)."""

    teacher: str
    """The teacher whose labels the students are compared with."""
    student: str | None = None
    """None: each record's latest student score, whoever made it."""
    prompt: str | None = None
    """None: any prompt version."""


@dataclass(frozen=True)
class PairFilter:
    """Which records' pairs count (empty tuples and None mean no constraint)."""

    sources: tuple[str, ...] = ()
    """Keep these sources only."""
    outcomes: tuple[str, ...] = ()
    """Keep these outcomes only ('resolved', 'not_resolved', 'unknown')."""
    min_tokens: int | None = None
    """Keep records with at least this token estimate."""
    max_tokens: int | None = None
    """Keep records with at most this token estimate."""

    def apply(self, pairs: ScorePairs) -> ScorePairs:
        """The pairs of the records this filter keeps."""
        return filter_pairs(pairs, sources=self.sources, outcomes=self.outcomes, min_tokens=self.min_tokens,
                            max_tokens=self.max_tokens)


def data_version(conn: Connection) -> str:
    """A small value that changes whenever scores change: the page's cache key for pairs and matrix."""
    return repo.data_version(conn)


def load_choices(conn: Connection) -> ReliabilityChoices:
    """Teachers, student judges, prompt versions and sources for the filter widgets."""
    return ReliabilityChoices(teachers=repo.list_judges(conn, "teacher"), students=repo.list_judges(conn, "student"),
                              prompts=repo.list_prompt_versions(conn),
                              sources=records_repo.distinct_values(conn, "source"))


def load_score_pairs(conn: Connection, *, judges: Judges) -> ScorePairs:
    """Each record's latest matching student score aligned with the teacher's label (all records).

    The page compares labelled records only (the matrix and a cell's pairs), so student values are read
    for those alone (`labelled_only`; a teacher labels ~10%); every student-scored record keeps its row,
    so every source and filter still gets its cells.
    """
    return repo.load_score_pairs(conn, student_judge=judges.student, prompt_version=judges.prompt,
                                 teacher=judges.teacher, labelled_only=True)


def agreement_matrix(pairs: ScorePairs, *, where: PairFilter, min_n: int) -> pd.DataFrame:
    """The student-vs-teacher agreement matrix over the filtered pairs.

    Student-vs-teacher MAE and Spearman rho with bootstrap intervals per source x dimension
    (`metrics.MATRIX_COLUMNS`) over the filtered pairs; cells under `min_n` pairs are flagged too_few.
    """
    kept = where.apply(pairs)
    return reliability_matrix(kept.student, kept.teacher, kept.sources, min_n)


@dataclass(frozen=True)
class MaskPreview:
    """The mask the rules and curator overrides give over the matrix, with what the page says about it."""

    mask: Mask
    """Rule decisions for every cell the rules break, then the overrides (which win)."""
    masked_cells: list[Cell]
    """Masked source x dimension cells, sorted (wildcard entries left out)."""
    n_cells: int
    """Source x dimension cells in the matrix (the all-sources row left out)."""
    cell_sources: list[str]
    """The sources a cell can be drilled into: each in the matrix, sorted, then ALL_SOURCES."""


def preview_mask(matrix: pd.DataFrame, *, rules: MaskRules, overrides: Sequence[Override] = ()) -> MaskPreview:
    """Apply the rules, then the overrides (which win), to the matrix."""
    mask = build_mask(matrix, rules, list(overrides))
    sources = sorted(str(s) for s in matrix.source.unique() if s != ALL_SOURCES)
    return MaskPreview(mask=mask, masked_cells=sorted(c for c in mask.masked_cells() if c.source != WILDCARD),
                       n_cells=int((matrix.source != ALL_SOURCES).sum()), cell_sources=[*sources, ALL_SOURCES])


def load_agreement(conn: Connection) -> pd.DataFrame:
    """Human spot-check agreement per source x dimension (`spotcheck.AGREEMENT_COLUMNS`), cells checked only."""
    return agreement(conn)


# ----------------------------------------------------------------------------- one cell


@dataclass(frozen=True)
class CellStats:
    """The cell's row of the matrix: pairs, MAE and Spearman rho with 95% intervals (NaN: undefined)."""

    n: int
    """Records with both scores in the cell."""
    too_few: bool
    """Fewer complete pairs than the minimum: the page shows "too few" instead of numbers."""
    mae: float
    """Mean |student − teacher|."""
    mae_lo: float
    """Lower end of the MAE's bootstrap 95% interval."""
    mae_hi: float
    """Upper end of the MAE's bootstrap 95% interval."""
    rho: float
    """Spearman rank correlation of student and teacher."""
    rho_lo: float
    """Lower end of ρ's bootstrap 95% interval."""
    rho_hi: float
    """Upper end of ρ's bootstrap 95% interval."""


@dataclass(frozen=True)
class HumanCheck:
    """How human spot-check answers of the cell agree with the student's and the teacher's scores."""

    reviewed: int
    """Human scores: each reviewer's answer counts, so two curators on one item make two."""
    items: int
    """Items with at least one human score."""
    reviewers: int
    """People who scored items of the cell."""
    skipped: int
    """Answers that skipped an item (not counted in the metrics)."""
    human_student_mae: float
    """Mean |human − student| over the human scores."""
    human_student_rho: float
    """Spearman ρ of human and student scores."""
    human_teacher_mae: float
    """Mean |human − teacher| over human scores of items with a teacher score."""
    human_teacher_rho: float
    """Spearman ρ of human and teacher scores."""
    n_teacher: int
    """Human scores of items that also have a teacher score."""
    iaa_items: int
    """Items two or more reviewers scored: the n of the inter-annotator figures."""
    iaa_pairs: int
    """Pairs of answers to one item behind the mean absolute difference."""
    iaa_alpha: float
    """Krippendorff's alpha (interval) among reviewers; NaN below two such items or without variation."""
    iaa_mad: float
    """Mean |reviewer − reviewer| over those pairs."""


@dataclass(frozen=True, eq=False)
class CellDrillDown:
    """What the page shows for one source x dimension cell."""

    source: str
    """The cell's source, or ALL_SOURCES."""
    slot: str
    """The cell's dimension, A1..A15."""
    decision: CellDecision | None
    """The preview mask's decision for the cell (None for all sources, or when nothing decided it)."""
    stats: CellStats | None
    """None when the matrix has no row for the cell."""
    human: HumanCheck | None
    """None before any spot-check of the cell."""
    n_pairs: int
    """Records with both a student and a teacher score in the cell."""
    scatter: pd.DataFrame
    """At most `max_points` pairs (a seeded sample), columns teacher and student jittered by ±0.25."""
    histogram: pd.DataFrame
    """Records per integer student − teacher error from -10 to 10 (columns error, records), all pairs."""
    disagreements: pd.DataFrame
    """The largest |student − teacher| first: columns title, record_id, student, teacher, error."""
    spot_checks: pd.DataFrame
    """The newest spot-checks of the cell (`load_spot_checks` columns); empty for all sources."""


def _cell_stats(matrix: pd.DataFrame, source: str, slot: str) -> CellStats | None:
    row = matrix[(matrix.source == source) & (matrix.slot == slot)]
    if row.empty:
        return None
    r = row.iloc[0]
    values = {k: float(r[k]) for k in ("mae", "mae_lo", "mae_hi", "rho", "rho_lo", "rho_hi")}
    return CellStats(n=int(r.n), too_few=bool(r.too_few), **values)


def _human_check(conn: Connection, source: str, slot: str) -> HumanCheck | None:
    agree = agreement(conn)
    row = agree[(agree.source == source) & (agree.slot == slot)]
    if row.empty:
        return None
    h = row.iloc[0]
    n = {k: int(h[k]) for k in ("reviewed", "items", "reviewers", "skipped", "n_teacher", "iaa_items", "iaa_pairs")}
    return HumanCheck(
        reviewed=n["reviewed"], items=n["items"], reviewers=n["reviewers"], skipped=n["skipped"],
        human_student_mae=float(h.human_student_mae), human_student_rho=float(h.human_student_rho),
        human_teacher_mae=float(h.human_teacher_mae), human_teacher_rho=float(h.human_teacher_rho),
        n_teacher=n["n_teacher"], iaa_items=n["iaa_items"], iaa_pairs=n["iaa_pairs"], iaa_alpha=float(h.iaa_alpha),
        iaa_mad=float(h.iaa_mad))


def _with_titles(conn: Connection, top: pd.DataFrame) -> pd.DataFrame:
    """`top` with each record's title in front ('' for a record that is gone)."""
    ids = top.record_id.tolist()
    titles: dict[str, str] = {}
    if ids:  # an empty record_ids list would mean "no constraint"
        meta = records_repo.list_records(conn, RecordFilter(record_ids=ids), limit=len(ids))
        titles = dict(zip(meta.record_id, meta.title, strict=True))
    out = top.copy()
    out.insert(0, "title", [titles.get(rid, "") for rid in ids])
    return out


def load_cell(conn: Connection, *, pairs: ScorePairs, matrix: pd.DataFrame, mask: Mask, source: str, slot: str,
              top: int = 25, max_points: int = 5000) -> CellDrillDown:
    """The drill-down of one cell over the page's (filtered) pairs and matrix.

    Numbers, the mask decision, human spot-check agreement, scatter and histogram data, the `top` largest
    disagreements with titles, and the cell's five newest spot-checks.
    """
    detail = cell_detail(pairs, source, slot)
    shown = sample_points(detail, max_points)
    scatter = pd.DataFrame({"teacher": jittered(shown.teacher.to_numpy(), 1),
                            "student": jittered(shown.student.to_numpy(), 2)})
    checks = load_spot_checks(conn, source=source, slot=slot).head(5)
    return CellDrillDown(
        source=source, slot=slot, decision=mask.decision(source, slot) if source != ALL_SOURCES else None,
        stats=_cell_stats(matrix, source, slot), human=_human_check(conn, source, slot), n_pairs=len(detail),
        scatter=scatter, histogram=error_histogram(detail),
        disagreements=_with_titles(conn, largest_disagreements(detail, top)),
        spot_checks=checks.iloc[0:0] if source == ALL_SOURCES else checks,
    )
