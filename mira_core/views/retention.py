"""The Retention screen: per-source tables, the histogram and record links built from a preview (no Streamlit)."""

from __future__ import annotations

import html
import math
import re

import pandas as pd
import plotly.graph_objects as go

from mira_core.dimensions import SLOTS
from mira_core.selection.preview import Preview, SourceDetails, SourcePreview

_SAFE_ID = re.compile(r"^[0-9A-Za-z_.-]{1,64}$", re.ASCII)


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
    """Histogram of the source's aggregates with the cut marked (the threshold, else the last kept value)."""
    centers = (d.edges[:-1] + d.edges[1:]) / 2
    fig = go.Figure(go.Bar(x=centers, y=d.hist, width=(d.edges[1] - d.edges[0]) * 0.95, name="records"))
    at = threshold if threshold is not None else d.cut_value
    if not math.isnan(at):
        fig.add_vline(x=at, line_dash="dash", line_color="crimson", annotation_text="cut")
    title = html.escape(f"{d.source}: {criterion_label}")  # Plotly titles understand a few HTML tags, links too
    fig.update_layout(height=220, margin=dict(l=10, r=10, t=30, b=10), title=title,
                      showlegend=False)
    return fig


def record_link(record_id: str, value: float) -> str:
    """A markdown link to the record page (ids that are not plain tokens are shown as code, not linked)."""
    if not _SAFE_ID.match(record_id):
        return f"`{record_id.replace('`', '')}` ({value:.3f})"
    return f"[`{record_id}`](record?id={record_id}) ({value:.3f})"
