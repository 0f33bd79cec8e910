"""Reliability: student-vs-teacher agreement per source x dimension, and the masks built on it.

Mask rules with a live preview, curator overrides, named mask versions, spot-checks, and human agreement
next to the teacher's.

Score pairs and the matrix (with its bootstrap intervals) are held in `st.cache_resource`, keyed by a
small data version, so moving a threshold only re-applies the rules to the cached matrix.
"""

from __future__ import annotations

import html
import math
import random

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from pydantic import ValidationError
from ui.db import current_actor, dimension_names, engine, settings
from ui.mask_versions import active_mask_line, draft_vs_active, masked_spot_checks, render_mask_versions
from ui.reliability_drill import apply_heatmap_click, click_targets, disagreement_table

from mira_core.dimensions import SLOTS
from mira_core.errors import MiraError
from mira_core.reliability import (
    ALL_SOURCES,
    Mask,
    MaskRules,
    Override,
    create_spot_check,
)
from mira_core.storage import read_conn, write_tx
from mira_core.views import escape_markdown
from mira_core.views.disagreements import load_disagreements
from mira_core.views.mask_versions import ActiveMaskView, load_active_version, load_curator_overrides
from mira_core.views.reliability import (
    METRIC_LABELS,
    CellDrillDown,
    CellStats,
    HumanCheck,
    Judges,
    MaskPreview,
    PairFilter,
    ReliabilityChoices,
    ScorePairs,
    agreement_matrix,
    data_version,
    heatmap_grid,
    load_agreement,
    load_cell,
    load_choices,
    load_score_pairs,
    preview_mask,
)
from mira_core.views.spot_check import summarize_agreement

ss = st.session_state
ANY = "(any)"
OUTCOMES = ("resolved", "not_resolved", "unknown")
CHART_MARGIN = {"l": 10, "r": 10, "t": 30, "b": 10}


def _url() -> str:
    return settings().database_url


@st.cache_data(ttl=5, show_spinner=False, max_entries=4)
def _data_version(url: str) -> str:
    with read_conn(engine()) as conn:
        return data_version(conn)


@st.cache_data(ttl=30, show_spinner=False, max_entries=4)
def _choices(url: str, version: str) -> ReliabilityChoices:
    with read_conn(engine()) as conn:
        return load_choices(conn)


@st.cache_resource(show_spinner="Loading scores…", max_entries=2)
def _pairs(url: str, version: str, judges: Judges) -> ScorePairs:
    with read_conn(engine()) as conn:
        return load_score_pairs(conn, judges=judges)


@st.cache_resource(show_spinner="Computing agreement and bootstrap intervals…", max_entries=16)
def _matrix(url: str, version: str, judges: Judges, where: PairFilter, min_n: int) -> pd.DataFrame:
    return agreement_matrix(_pairs(url, version, judges), where=where, min_n=min_n)


@st.cache_data(ttl=5, show_spinner=False, max_entries=4)
def _agreement(url: str) -> pd.DataFrame:
    with read_conn(engine()) as conn:
        return load_agreement(conn)


def _filters(choices: ReliabilityChoices) -> tuple[Judges, PairFilter]:
    with st.sidebar:
        st.subheader("Filters")
        teacher = st.selectbox("Teacher", choices.teachers, key="rel_teacher")
        student = st.selectbox("Student judge (scorer run / model)", [ANY, *choices.students], key="rel_student")
        prompt = st.selectbox("Prompt version", [ANY, *choices.prompts], key="rel_prompt")
        sources = st.multiselect("Sources", choices.sources, key="rel_sources")
        outcomes = st.multiselect("Outcome", OUTCOMES, key="rel_outcomes")
        c1, c2 = st.columns(2)
        lo = c1.number_input("Min tokens", min_value=0, value=None, step=1000, key="rel_min_tokens")
        hi = c2.number_input("Max tokens", min_value=0, value=None, step=1000, key="rel_max_tokens")
    judges = Judges(teacher=str(teacher), student=None if student == ANY else student,
                    prompt=None if prompt == ANY else prompt)
    return judges, PairFilter(sources=tuple(sources), outcomes=tuple(outcomes), min_tokens=lo, max_tokens=hi)


RULE_KEYS = {"rel_max_mae": "max_mae", "rel_min_rho": "min_rho", "rel_min_n": "min_n",
             "rel_mask_too_few": "mask_too_few"}


def _rules(active: ActiveMaskView | None) -> MaskRules:
    """The draft rules; on first load they start at the active version's (the defaults without one)."""
    start = active.rules if active and active.rules else MaskRules()
    for key, field in RULE_KEYS.items():
        value = getattr(start, field)
        ss.setdefault(key, getattr(MaskRules(), field) if value is None else value)
    st.subheader("Mask rules (draft until saved)")
    st.caption(f"Started from the rules of active version {active.version_id}." if active and active.rules else
               "Started from the default rules: the active version has none (imported)." if active else
               "No mask version is active yet: these are the default rules.")
    c1, c2, c3 = st.columns(3)
    max_mae = c1.slider("Mask when MAE is above", 0.0, 5.0, step=0.1, key="rel_max_mae")
    min_rho = c2.slider("Mask when Spearman ρ is below", -1.0, 1.0, step=0.05, key="rel_min_rho")
    min_n = int(c3.number_input("Minimum pairs per cell", 1, 100_000, key="rel_min_n"))
    too_few = c3.checkbox("Mask cells with too few pairs", key="rel_mask_too_few")
    return MaskRules(max_mae=max_mae, min_rho=min_rho, min_n=min_n, mask_too_few=too_few)


def _heatmap(matrix: pd.DataFrame, mask: Mask, metric: str) -> None:
    grid = heatmap_grid(matrix, "mae" if metric == "mae" else "rho", mask)
    if not grid.rows:
        st.info("No student scores match these filters.")
        return
    scale, zmin, zmax = ("RdYlGn_r", 0.0, 4.0) if metric == "mae" else ("RdYlGn", -0.2, 1.0)
    fig = go.Figure(go.Heatmap(
        # Plotly renders a subset of HTML in labels: source names are escaped (hover text is escaped upstream).
        z=grid.z, x=grid.cols, y=[html.escape(r) for r in grid.rows],
        text=grid.text, texttemplate="%{text}", customdata=grid.hover,
        hovertemplate="%{customdata}<extra></extra>", colorscale=scale, zmin=zmin, zmax=zmax,
        colorbar={"title": METRIC_LABELS[metric]},
    ))
    fig.add_trace(click_targets(grid))
    fig.update_layout(height=120 + 38 * len(grid.rows), margin={"l": 10, "r": 10, "t": 10, "b": 10},
                      yaxis={"autorange": "reversed"}, showlegend=False)
    event = st.plotly_chart(fig, key="rel_heatmap", on_select="rerun", selection_mode="points")
    apply_heatmap_click(event, grid.rows)
    st.caption("✕ = masked under the draft rules and overrides below · grey “too few” = fewer pairs than the "
               "minimum; hover for n and the bootstrap 95% intervals; click a cell to open it below.")


def _overrides() -> list[Override]:
    """The preview's curator overrides; on first load, those of the active version carry over."""
    if "rel_overrides" not in ss:
        with read_conn(engine()) as conn:
            ss["rel_overrides"] = [o.model_dump() for o in load_curator_overrides(conn)]
    return [Override.model_validate(o) for o in ss["rel_overrides"]]


def _override_form(source: str, slot: str) -> None:
    if source == ALL_SOURCES:
        st.caption("Overrides apply to one source; choose a source row to force a cell.")
        return
    with st.form("rel_override_form", clear_on_submit=True):
        st.markdown(f"**Force this cell** ({escape_markdown(source)} · {slot})")
        choice = st.radio("Decision", ["force masked", "force unmasked", "back to the rules"], horizontal=True,
                          key="rel_override_choice")
        reason = st.text_input("Written reason (required)", key="rel_override_reason")
        if st.form_submit_button("Apply to preview"):
            kept = [o for o in ss.setdefault("rel_overrides", []) if (o["source"], o["slot"]) != (source, slot)]
            if choice != "back to the rules":
                try:
                    o = Override(source=source, slot=slot, masked=choice == "force masked", reason=reason)
                except ValidationError as exc:
                    st.error(escape_markdown(exc.errors()[0]["msg"].removeprefix("Value error, ")))
                    return
                kept.append(o.model_dump())
            ss["rel_overrides"] = kept
            st.rerun()


def _cell_numbers(stats: CellStats | None, human: HumanCheck | None) -> None:
    """n, MAE and ρ with their intervals, then the human spot-check agreement of the cell."""
    c1, c2, c3 = st.columns(3)
    if stats is not None:
        c1.metric("pairs (n)", f"{stats.n:,}")
        c2.metric("MAE", "too few" if stats.too_few else f"{stats.mae:.2f}",
                  help=f"95% interval [{stats.mae_lo:.2f}, {stats.mae_hi:.2f}]" if not math.isnan(stats.mae_lo) else None)
        c3.metric("Spearman ρ", "too few" if stats.too_few or math.isnan(stats.rho) else f"{stats.rho:.2f}",
                  help=f"95% interval [{stats.rho_lo:.2f}, {stats.rho_hi:.2f}]" if not math.isnan(stats.rho_lo) else None)
    if human is None:
        st.caption("No human spot-checks of this cell yet.")
        return
    st.markdown(
        f"**Human spot-checks:** {human.reviewed} scores of {human.items} items by {human.reviewers} "
        f"reviewer{'' if human.reviewers == 1 else 's'} ({human.skipped} skipped) · "
        f"human vs student MAE {_num(human.human_student_mae)}, ρ {_num(human.human_student_rho)} (n={human.reviewed}) · "
        f"human vs teacher MAE {_num(human.human_teacher_mae)}, ρ {_num(human.human_teacher_rho)} (n={human.n_teacher})"
    )
    if human.iaa_items:
        st.markdown(
            f"**Between reviewers:** Krippendorff's α (interval) {_num(human.iaa_alpha)}, mean absolute difference "
            f"{_num(human.iaa_mad)} (n={human.iaa_items} items answered by two or more, {human.iaa_pairs} pairs)")
    else:
        st.caption("Between reviewers: no item has answers from two reviewers yet.")


AGREEMENT_LABELS = {  # figures arrive as text: 2 decimals, a dash where undefined
    "answers": st.column_config.NumberColumn("answers", help="Scores and skips, every reviewer's"),
    "reviewed": st.column_config.NumberColumn("human scores"),
    "items": st.column_config.NumberColumn("items scored"),
    "human_student_mae": st.column_config.TextColumn("human–student MAE"),
    "human_student_rho": st.column_config.TextColumn("human–student ρ"),
    "human_teacher_mae": st.column_config.TextColumn("human–teacher MAE"),
    "human_teacher_rho": st.column_config.TextColumn("human–teacher ρ"),
    "n_teacher": st.column_config.NumberColumn("n with teacher"),
    "iaa_items": st.column_config.NumberColumn("items by 2+ reviewers"),
    "iaa_pairs": st.column_config.NumberColumn("reviewer pairs"),
    "iaa_alpha": st.column_config.TextColumn("Krippendorff α"),
    "iaa_mad": st.column_config.TextColumn("reviewer MAD"),
}


def _num(x: float) -> str:
    return "–" if math.isnan(x) else f"{x:.2f}"


def _cell_charts(cell: CellDrillDown) -> None:
    left, right = st.columns(2)
    scatter = go.Figure()
    scatter.add_trace(go.Scattergl(x=cell.scatter.teacher, y=cell.scatter.student, mode="markers",
                                   marker={"size": 4, "opacity": 0.4}, name="records", hoverinfo="skip"))
    scatter.add_trace(go.Scatter(x=[0, 10], y=[0, 10], mode="lines", name="identity", line={"dash": "dash"}))
    scatter.update_layout(xaxis_title="teacher", yaxis_title="student (jittered)", height=360, margin=CHART_MARGIN)
    left.plotly_chart(scatter, key="rel_scatter")
    if len(cell.scatter) < cell.n_pairs:
        left.caption(f"{len(cell.scatter):,} of {cell.n_pairs:,} pairs shown (random sample); the histogram counts all.")
    hist = go.Figure(go.Bar(x=cell.histogram.error, y=cell.histogram.records))
    hist.update_layout(xaxis_title="student − teacher", yaxis_title="records", height=360, margin=CHART_MARGIN)
    right.plotly_chart(hist, key="rel_hist")


def _cell_view(cell: CellDrillDown, judges: Judges) -> None:
    dim = dimension_names()[cell.slot]
    st.subheader(f"{cell.slot} · {escape_markdown(dim.name)} — {escape_markdown(cell.source)}")
    if dim.description:
        st.caption(escape_markdown(dim.description, max_chars=400))
    _cell_numbers(cell.stats, cell.human)
    if cell.n_pairs == 0:
        st.info("No record has both a student and a teacher score in this cell.")
        return
    _cell_charts(cell)
    st.markdown("**Largest disagreements**, with both rationales")
    with read_conn(engine()) as conn:
        rows = load_disagreements(conn, cell.disagreements, slot=cell.slot, judges=judges)
    disagreement_table(rows)


def _spot_check_start(cell: CellDrillDown, judges: Judges) -> None:
    if cell.source == ALL_SOURCES:
        return
    with st.container(horizontal=True, vertical_alignment="bottom"):
        size = st.number_input("Spot-check size", 5, 500, 30, step=5, key="rel_spot_size")
        if st.button("Start a spot-check of this cell", key="rel_spot_start", icon=":material/fact_check:"):
            try:
                with write_tx(engine()) as conn:
                    sid = create_spot_check(
                        conn, source=cell.source, slot=cell.slot, size=int(size), seed=random.randrange(1_000_000),
                        actor=current_actor(), student_judge=judges.student, teacher=judges.teacher)
            except (MiraError, ValueError) as exc:
                st.error(escape_markdown(str(exc)))
                return
            st.switch_page("screens/spot_check.py", query_params={"id": sid})
    for row in cell.spot_checks.itertuples():
        st.page_link("screens/spot_check.py", query_params={"id": row.spot_check_id},
                     label=f"spot-check {row.done}/{row.size} done · {row.status} · by "
                           f"{escape_markdown(str(row.created_by))} {row.created_at:%Y-%m-%d %H:%M}")


def _preview_header(preview: MaskPreview, active: ActiveMaskView | None) -> None:
    """How many cells the draft masks, how it differs from the active version, and its curator overrides."""
    st.metric("Masked cells (draft, not saved)", f"{len(preview.masked_cells)} of {preview.n_cells}")
    st.caption(draft_vs_active(preview.masked_cells, active))
    if ss.get("rel_overrides"):
        st.caption(f"{len(ss['rel_overrides'])} curator override(s) in this preview (the active version's carry "
                   "over); they are saved with the version.")
        if st.button("Clear curator overrides", key="rel_clear_overrides"):
            ss["rel_overrides"] = []
            st.rerun()


def _cell_section(url: str, version: str, judges: Judges, where: PairFilter, matrix: pd.DataFrame,
                  preview: MaskPreview) -> None:
    """Pick a cell, then its drill-down, the override form and the spot-check controls."""
    c1, c2 = st.columns(2)
    source = c1.selectbox("Cell: source", preview.cell_sources, key="rel_cell_source")
    slot = c2.selectbox("Cell: dimension", SLOTS, key="rel_cell_slot",
                        format_func=lambda s: f"{s} · {dimension_names()[s].name}")
    pairs = where.apply(_pairs(url, version, judges))
    with read_conn(engine()) as conn:
        cell = load_cell(conn, pairs=pairs, matrix=matrix, mask=preview.mask, source=str(source), slot=str(slot))
    if cell.decision:
        state = "masked" if cell.decision.masked else "unmasked"
        st.markdown(f"**{state}** by {cell.decision.by}: {escape_markdown(cell.decision.reason, max_chars=300)}")
    _cell_view(cell, judges)
    _override_form(cell.source, cell.slot)
    _spot_check_start(cell, judges)


def main() -> None:
    """Render the page."""
    st.title("Reliability")
    url = _url()
    try:
        version = _data_version(url)
        choices = _choices(url, version)
    except MiraError as exc:  # the store cannot be read: say so instead of a traceback
        st.error(escape_markdown(str(exc)))
        return
    if not choices.teachers:
        st.info("No teacher labels yet. Import them with `mira-curator import-teacher PATH --teacher NAME` "
                "(or `mira-curator demo-teacher` for the SIMULATED demo labels).")
        return
    judges, where = _filters(choices)
    with read_conn(engine()) as conn:
        active = load_active_version(conn)
    active_mask_line(active)
    rules = _rules(active)
    matrix = _matrix(url, version, judges, where, rules.min_n)
    preview = preview_mask(matrix, rules=rules, overrides=_overrides())
    _preview_header(preview, active)
    metric = st.segmented_control("Metric", ["mae", "rho"], default="mae", format_func=lambda m: METRIC_LABELS[m],
                                  key="rel_metric") or "mae"
    _heatmap(matrix, preview.mask, metric)
    masked_spot_checks(active, preview.masked_cells, judges)
    agreement = _agreement(url)
    if not agreement.empty:
        human = summarize_agreement(agreement)
        with st.expander(f"Human spot-check agreement: {human.title}"):
            st.dataframe(human.table, hide_index=True, key="rel_agreement", column_config=AGREEMENT_LABELS)
            st.caption("Each reviewer's answer counts; the last four columns compare reviewers who scored the "
                       "same items (Krippendorff's α for interval data and the mean absolute difference).")
    st.divider()
    _cell_section(url, version, judges, where, matrix, preview)
    st.divider()
    render_mask_versions(preview.mask, rules)


main()
