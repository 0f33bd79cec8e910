"""The Retention screen: loaders, the draft policy its widgets make, and what the preview shows.

Loaders for the page's cached layers, the draft policy, and the preview's per-source tables, histograms and
record links, all without Streamlit.

The page caches in layers (data version -> loaded arrays -> arrays sorted for one criterion and mask); each
layer calls one loader here. A slider move only builds the draft `Policy` and previews it from the cached
arrays; the same draft, named, is what "Save policy" stores.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

import pandas as pd
import plotly.graph_objects as go

from mira_core.dimensions import SLOTS
from mira_core.query import RecordFilter
from mira_core.selection.aggregate import Criterion, criterion_range
from mira_core.selection.data import SelectionData
from mira_core.selection.policies import CutSpec, Policy, Recommendation, ScorerRule, mask_array
from mira_core.selection.preview import (
    Borderline,
    CutMode,
    Precomputed,
    Preview,
    SourceDetails,
    SourcePreview,
    as_weights,
    details,
    precompute,
    preview,
)
from mira_core.selection.solver import BudgetRule, budget_from_percent, solve_budget
from mira_core.selection.store import LoadedSelection, active_mask_cells, load_selection_data
from mira_core.storage import Connection, records_repo, selection_repo
from mira_core.storage.reliability_repo import active_mask_version

CRITERION_LABELS: dict[Criterion, str] = {
    "mean": "mean of unmasked dimensions", "weighted": "cluster-size weighted mean",
    "overall": "scorer's overall (0-100)", "recommendation": "scorer's recommendation (0-2)"}
MODE_LABELS = {"threshold": "threshold", "top_records": "top % of records", "top_tokens": "top % of tokens",
               "global": "global (MIRA-Global)"}
"""The cut modes, plus "global" (one cut for all sources), as the page names them."""
RULE_LABELS: dict[BudgetRule, str] = {"same_quantile": "same quantile in every source",
                                      "highest_first": "highest aggregate first"}
BUDGET_UNITS = ("% of corpus", "tokens")
GLOBAL_SLIDER = "__global__"
"""The slider name of the global cut, where per-source sliders use the source's name."""
DRAFT_NAME = "draft"
"""The name of the policy the widgets preview before the curator names it."""


def _pct(a: float, b: float) -> float:
    return 100.0 * a / b if b else float("nan")


def summary_table(p: Preview) -> pd.DataFrame:
    """One row per source plus a total: records and tokens kept of total, unscored and overrides apart."""
    def row(sp: SourcePreview) -> dict:
        return {
            "source": sp.source, "kept": sp.kept, "records": sp.records, "kept %": _pct(sp.kept, sp.records),
            "kept tokens": sp.kept_tokens, "tokens": sp.tokens, "tokens kept %": _pct(sp.kept_tokens, sp.tokens),
            "downsampled": sp.downsampled, "effective tokens": round(sp.effective_tokens),
            "unscored": sp.unscored, "force keep": sp.force_keep, "force drop": sp.force_drop,
            "cut at": sp.cut_value,
        }
    return pd.DataFrame([row(sp) for sp in (*p.sources, p.total)])


def budget_line(p: Preview) -> str | None:
    """'kept X of budget Y tokens (Z% ...)' or None without a budget."""
    if p.budget_tokens is None:
        return None
    gap = p.budget_gap or 0
    side = "over" if gap > 0 else "under"
    share = _pct(p.total.kept_tokens, p.budget_tokens)
    return (f"Kept {p.total.kept_tokens:,} of a {p.budget_tokens:,}-token budget "
            f"({share:.1f}%; {abs(gap):,} tokens {side})")


def dims_table(d: SourceDetails) -> pd.DataFrame:
    """Kept vs dropped mean per dimension (masked dimensions are left out)."""
    rows = [{"dimension": slot, "kept mean": d.kept_mean[i], "dropped mean": d.dropped_mean[i],
             "difference": d.kept_mean[i] - d.dropped_mean[i]}
            for i, slot in enumerate(SLOTS) if not math.isnan(d.kept_mean[i]) or not math.isnan(d.dropped_mean[i])]
    return pd.DataFrame(rows, columns=["dimension", "kept mean", "dropped mean", "difference"])


def agreement_table(d: SourceDetails) -> pd.DataFrame:
    """Scorer recommendation x policy decision counts."""
    return pd.DataFrame([{"scorer says": rec, "kept": k, "dropped": dr} for rec, (k, dr) in d.agreement.items()])


def histogram(d: SourceDetails, criterion_label: str, threshold: float | None = None) -> go.Figure:
    """Histogram of the source's aggregates with the cut marked (the threshold, else the last kept value).

    Built in one constructor call: Plotly validates every later `add_vline`/`update_layout` again, which cost
    more than the whole preview on every slider move.
    """
    centers = (d.edges[:-1] + d.edges[1:]) / 2
    at = threshold if threshold is not None else d.cut_value
    marks: dict = {"shapes": [], "annotations": []}
    if not math.isnan(at):
        marks = {"shapes": [{"type": "line", "x0": at, "x1": at, "xref": "x", "y0": 0, "y1": 1, "yref": "y domain",
                             "line": {"dash": "dash", "color": "crimson"}}],
                 "annotations": [{"x": at, "xref": "x", "y": 1, "yref": "y domain", "text": "cut",
                                  "showarrow": False, "xanchor": "left", "yanchor": "top"}]}
    title = html.escape(f"{d.source}: {criterion_label}")  # Plotly titles understand a few HTML tags, links too
    return go.Figure(
        data=[go.Bar(x=centers, y=d.hist, width=(d.edges[1] - d.edges[0]) * 0.95, name="records")],
        layout={"height": 220, "margin": {"l": 10, "r": 10, "t": 30, "b": 10}, "title": {"text": title},
                "showlegend": False, **marks})


BORDERLINE_COLUMNS = ("record", "instance", "issue", "aggregate")


@dataclass(frozen=True)
class RecordLabel:
    """What names a record for a curator: its instance id and issue title."""

    instance_id: str
    title: str


def load_record_labels(conn: Connection, record_ids: Sequence[str]) -> dict[str, RecordLabel]:
    """Instance id and title of each record (one query; ids no longer stored are absent)."""
    if not record_ids:  # an empty record_ids filter would mean "no constraint"
        return {}
    meta = records_repo.list_records(conn, RecordFilter(record_ids=list(record_ids)), limit=len(record_ids))
    return {str(r): RecordLabel(str(i or ""), str(t or ""))
            for r, i, t in zip(meta.record_id, meta.instance_id, meta.title, strict=True)}


def borderline_table(rows: Iterable[Borderline], labels: dict[str, RecordLabel]) -> pd.DataFrame:
    """Records next to a cut as a table (BORDERLINE_COLUMNS; `record` is a relative link to the record page).

    A table cell is never markdown, so an instance id or title cannot turn into a link or markup.
    """
    out = []
    for b in rows:
        label = labels.get(b.record_id, RecordLabel("", ""))
        out.append(("record?" + urlencode({"id": b.record_id}), label.instance_id, label.title, b.value))
    return pd.DataFrame(out, columns=list(BORDERLINE_COLUMNS))


# ----------------------------------------------------------------------------- the page's cached layers


@dataclass(frozen=True)
class DataVersion:
    """What the cached arrays depend on, read every few seconds to notice a change."""

    data: str
    """Changes when scores, records or overrides change (`selection_repo.selection_version`)."""
    mask_version: int | None
    """The active mask version; None when no mask was saved."""


def load_data_version(conn: Connection) -> DataVersion:
    """The data version and the active mask version (two small reads)."""
    return DataVersion(selection_repo.selection_version(conn), active_mask_version(conn))


@dataclass(frozen=True)
class ScorerChoices:
    """The student scorer runs a curator can pick from."""

    judges: list[str]
    """Models that produced complete student scores."""
    prompts: list[str]
    """Prompt versions of those scores."""


def load_scorer_choices(conn: Connection) -> ScorerChoices:
    """Distinct scorer models and prompt versions of the stored student scores."""
    judges, prompts = selection_repo.scorer_choices(conn)
    return ScorerChoices(judges, prompts)


def load_selection(conn: Connection, *, scorer: ScorerRule) -> LoadedSelection:
    """Every record with the score `scorer` picks and its override (the arrays the page keeps in memory)."""
    return load_selection_data(conn, scorer)


def load_mask_cells(conn: Connection, *, sources: tuple[str, ...]) -> str:
    """The active mask's cells frozen for `sources` (plus '*'), as sorted JSON: a small, hashable cache key."""
    return json.dumps(active_mask_cells(conn, sources)[1], sort_keys=True)


def precompute_arrays(data: SelectionData, *, criterion: Criterion, cells_json: str,
                      weights: Sequence[float]) -> Precomputed:
    """The preview's sorted arrays for one criterion and set of masked cells (`load_mask_cells`)."""
    return precompute(data, mask_array(json.loads(cells_json), data.sources), criterion, as_weights(weights))


# ----------------------------------------------------------------------------- the draft policy


@dataclass(frozen=True)
class PreviewBasis:
    """What the preview's arrays were built from: with the database URL, the page's cache key for them."""

    version: str
    """The data version the arrays were loaded at (pinned until the curator reloads)."""
    scorer: ScorerRule
    """Which student score counts for a record."""
    criterion: Criterion
    """What the cuts apply to."""
    cells_json: str
    """The masked cells frozen from the active mask (`load_mask_cells`)."""
    mask_version: int | None
    """The mask version the cells were taken from; None when no mask was saved."""

    @property
    def masked_cells(self) -> dict[str, list[str]]:
        """{source or '*': masked slots}."""
        cells: dict[str, list[str]] = json.loads(self.cells_json)
        return cells

    @property
    def mask_line(self) -> str:
        """'Mask: version N · K source x dimension cells left out of the aggregate'."""
        n_masked = sum(len(v) for k, v in self.masked_cells.items() if k != "*")
        which = f"version {self.mask_version}" if self.mask_version else "none saved"
        return f"Mask: {which} · {n_masked} source × dimension cells left out of the aggregate"


@dataclass(frozen=True)
class SolverRequest:
    """What the curator asked the budget solver for, saved with a policy whose cuts it set."""

    rule: BudgetRule
    """How the budget was shared between sources."""
    request: str
    """The budget as typed, e.g. '50 % of corpus' or '2000000 tokens'."""


@dataclass(frozen=True)
class RetentionDraft:
    """The Retention widgets' values: what the sliders preview and what "Save policy" stores."""

    basis: PreviewBasis
    """Scorer, criterion and mask the cuts apply to."""
    cuts: dict[str, CutSpec]
    """One cut per source (empty with a global cut)."""
    global_cut: CutSpec | None
    """MIRA-Global: one cut for all sources."""
    budget_tokens: int | None
    """The token budget the preview compares against (None: no budget)."""
    downsample_weight: float
    """Sampling weight of downsampled records."""
    downsample_recommendations: tuple[Recommendation, ...]
    """Kept records the scorer marked with these are downsampled."""
    solver: SolverRequest | None = None
    """The solver run that set the cuts, while the sliders still hold its answer."""

    def policy(self, name: str = DRAFT_NAME, *, note: str = "") -> Policy:
        """The draft as a `Policy` (ValueError, a pydantic ValidationError, when `name` is not a valid name).

        Who saves it is not part of the draft: `selection.save_policy` stores the acting person.
        """
        b = self.basis
        return Policy(name=name, criterion=b.criterion, cuts=dict(self.cuts), global_cut=self.global_cut,
                      mask_version=b.mask_version, masked_cells=b.masked_cells, scorer=b.scorer,
                      budget_tokens=self.budget_tokens, downsample_weight=self.downsample_weight,
                      budget_rule=self.solver.rule if self.solver else None,
                      budget_request=self.solver.request if self.solver else None,
                      downsample_recommendations=list(self.downsample_recommendations), note=note)


@dataclass(frozen=True)
class SliderRange:
    """Bounds, step, starting value and number format of one cut slider."""

    low: float
    high: float
    step: float
    start: float
    """The value a new slider starts at."""
    format: str | None
    """Streamlit's printf-style format (None: its default)."""

    def clip(self, value: float) -> float:
        """`value` moved into the slider's bounds (a saved policy may hold any number)."""
        return float(min(max(value, self.low), self.high))


def slider_range(mode: CutMode, criterion: Criterion) -> SliderRange:
    """A threshold slides over the criterion's scale; "top %" sliders over 0-100 with two decimals."""
    if mode != "threshold":
        return SliderRange(0.0, 100.0, 0.1, 50.0, "%.2f%%")
    lo, hi = criterion_range(criterion)
    step = 1.0 if criterion == "recommendation" else (0.5 if criterion == "overall" else 0.05)
    return SliderRange(float(lo), float(hi), step, float((lo + hi) / 2), None)


# ----------------------------------------------------------------------------- the preview


@dataclass(frozen=True)
class SourceView:
    """One source's tab: its cut's audit view, ready to render."""

    details: SourceDetails
    """Histogram counts, kept-vs-dropped means, outcome shares, agreement with the scorer, borderline records."""
    criterion_label: str
    """What the aggregates are, for the histogram's title."""
    cut_line: float | None
    """Where the histogram marks the cut: the threshold, or None for the last kept value."""
    agreement: pd.DataFrame
    """`agreement_table`: scorer recommendation x policy decision."""
    dims: pd.DataFrame
    """`dims_table`: kept vs dropped mean per unmasked dimension."""
    above: tuple[Borderline, ...]
    """The records just above the cut (kept), nearest the cut last."""
    below: tuple[Borderline, ...]
    """The records just below the cut (dropped), nearest the cut first."""

    @property
    def histogram(self) -> go.Figure:
        """The aggregates with the cut marked (built on demand: only the source shown needs it)."""
        return histogram(self.details, self.criterion_label, self.cut_line)


@dataclass(frozen=True)
class RetentionPreview:
    """What the preview fragment shows for the current widget values."""

    policy: Policy
    """The draft policy the widgets make (named `DRAFT_NAME`)."""
    preview: Preview
    """Counts and tokens kept per source and in total."""
    summary: pd.DataFrame
    """`summary_table`: one row per source plus the total."""
    budget_line: str | None
    """Kept tokens against the budget; None without a budget."""
    sources: tuple[SourceView, ...]
    """One view per source, in the arrays' source order."""
    token_figures: str = ""
    """Where the token figures come from: how many records the scorer measured, how many are estimated."""

    @property
    def borderline_ids(self) -> list[str]:
        """Every record next to a cut in any source (what `load_record_labels` is asked for)."""
        return [b.record_id for v in self.sources for b in (*v.above, *v.below)]

    @property
    def over_budget(self) -> bool:
        """Whether the kept tokens exceed the budget."""
        return (self.preview.budget_gap or 0) > 0


def _source_view(d: SourceDetails, criterion: Criterion, cut: CutSpec | None) -> SourceView:
    line = cut.value if cut is not None and cut.mode == "threshold" else None
    return SourceView(d, CRITERION_LABELS[criterion], line, agreement_table(d), dims_table(d),
                      tuple(reversed(d.above)), tuple(d.below))


def load_preview(pre: Precomputed, draft: RetentionDraft) -> RetentionPreview:
    """Preview the draft from the cached arrays: its settings come from `Policy.preview_settings()`."""
    policy = draft.policy()
    p = preview(pre, policy.preview_settings())
    views = tuple(_source_view(d, policy.criterion, policy.global_cut or policy.cuts.get(d.source))
                  for d in details(pre, p.counts))
    return RetentionPreview(policy, p, summary_table(p), budget_line(p), views, pre.data.token_figures())


@dataclass(frozen=True)
class SolvedSliders:
    """The budget solver's answer as slider values."""

    budget_tokens: int
    """The budget in tokens (a percentage is converted with the whole corpus's tokens)."""
    top_records: dict[str, float]
    """Per source, the "top % of records" slider value that keeps the solver's count."""
    message: str
    """What the solver kept and where each source is cut, for a caption."""
    request: SolverRequest
    """Rule and budget as asked (the draft carries it while the sliders hold this answer)."""


def solve_sliders(pre: Precomputed, *, amount: float, unit: str | None, rule: BudgetRule) -> SolvedSliders:
    """Per-source "top % of records" cuts whose tokens fit `amount`: a % of the corpus, else tokens."""
    budget = budget_from_percent(pre, amount) if unit == BUDGET_UNITS[0] else int(amount)
    sol = solve_budget(pre, budget, rule)
    cuts = ", ".join(f"{s} top {c.value:.2f}% (cut at {sol.thresholds[s]:.3f})" for s, c in sol.cuts.items())
    message = (f"Solver: {sol.kept_tokens:,} of {budget:,} tokens · {cuts}"
               + ("" if sol.feasible else " — forced keeps alone exceed the budget")
               + f" · {pre.data.token_figures().lower()}")
    return SolvedSliders(budget, {s: float(c.value) for s, c in sol.cuts.items()}, message,
                         SolverRequest(rule, f"{amount:g} {unit or BUDGET_UNITS[1]}"))

