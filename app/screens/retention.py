"""Retention: per-source sliders with a live preview, the token-budget solver, saved policies, diff, downloads.

The heavy arrays (scores, sorted aggregates, cumulative sums) live in `st.cache_resource`, keyed by a small
data version; a slider change reruns only the preview fragment, which answers from those arrays.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st
from ui.db import current_actor, engine, settings
from ui.retention_policies import policies_section, read_only, read_only_help

from mira_core.dimensions import cluster_weights
from mira_core.errors import MiraError
from mira_core.selection import (
    BUDGET_RULES,
    CRITERIA,
    CUT_MODES,
    Criterion,
    CutMode,
    CutSpec,
    LoadedSelection,
    Precomputed,
    ScorerRule,
    save_policy,
)
from mira_core.storage import read_conn, write_tx
from mira_core.views import escape_markdown
from mira_core.views.pinning import RecentVersions
from mira_core.views.retention import (
    BORDERLINE_COLUMNS,
    BUDGET_UNITS,
    CRITERION_LABELS,
    GLOBAL_SLIDER,
    MODE_LABELS,
    RULE_LABELS,
    DataVersion,
    PreviewBasis,
    RecordLabel,
    RetentionDraft,
    RetentionPreview,
    ScorerChoices,
    SolverRequest,
    SourceView,
    borderline_table,
    load_data_version,
    load_mask_cells,
    load_preview,
    load_record_labels,
    load_scorer_choices,
    load_selection,
    precompute_arrays,
    slider_range,
    solve_sliders,
)
from mira_core.views.retention_policies import load_policy_sliders

ss = st.session_state
# A new view opens at arrays loaded up to this long ago (with the "changed since" note) instead of reloading
# (a bare string here would be drawn on the page: Streamlit's magic writes module-level literals).
PIN_MAX_AGE_S = 60.0
ANY = "(any)"


@st.cache_data(ttl=5, show_spinner=False, max_entries=4)
def _version(url: str) -> DataVersion:
    with read_conn(engine()) as conn:
        return load_data_version(conn)


@st.cache_data(ttl=30, show_spinner=False, max_entries=4)
def _choices(url: str, version: str) -> ScorerChoices:
    with read_conn(engine()) as conn:
        return load_scorer_choices(conn)


@st.cache_resource(show_spinner=False)
def _recent(url: str) -> RecentVersions:
    """The data versions loaded in this server process (shared by every session)."""
    return RecentVersions()


@st.cache_resource(show_spinner="Loading scores…", max_entries=4)
def _loaded(url: str, version: str, judge: str | None, prompt: str | None) -> LoadedSelection:
    _recent(url).loading(version)  # sessions opening now pin this version and wait for this load, not start theirs
    with read_conn(engine()) as conn:
        return load_selection(conn, scorer=ScorerRule(judge=judge, prompt_version=prompt))


@st.cache_data(show_spinner=False, max_entries=8)
def _mask_cells(url: str, version: str, mask_version: int | None, sources: tuple[str, ...]) -> str:
    with read_conn(engine()) as conn:
        return load_mask_cells(conn, sources=sources)


@st.cache_resource(show_spinner="Sorting aggregates…", max_entries=8)
def _precomputed(url: str, version: str, judge: str | None, prompt: str | None, criterion: Criterion,
                 cells_json: str, weights: tuple[float, ...]) -> Precomputed:
    data = _loaded(url, version, judge, prompt).data
    return precompute_arrays(data, criterion=criterion, cells_json=cells_json, weights=weights)


@st.cache_data(show_spinner=False, max_entries=64)
def _labels(url: str, version: str, ids: tuple[str, ...]) -> dict[str, RecordLabel]:
    with read_conn(engine()) as conn:
        return load_record_labels(conn, ids)


def _weights() -> tuple[float, ...]:
    """The `weighted` criterion's weights: cluster sizes from the anchors file in the settings."""
    return cluster_weights(settings().anchors_path)


def _arrays(url: str, basis: PreviewBasis) -> Precomputed:
    """The cached arrays of `basis` (the cache key is the same scalars the page always used)."""
    return _precomputed(url, basis.version, basis.scorer.judge, basis.scorer.prompt_version, basis.criterion,
                        basis.cells_json, _weights())


def _slider_key(mode: str, source: str, criterion: str) -> str:
    return f"ret_v_{mode}_{criterion}_{source}" if mode == "threshold" else f"ret_v_{mode}_{source}"


def _cut_slider(label: str, mode: CutMode, source: str, criterion: Criterion) -> CutSpec:
    key = _slider_key(mode, source, criterion)
    bounds = slider_range(mode, criterion)
    ss.setdefault(key, bounds.start)
    value = st.slider(label, bounds.low, bounds.high, step=bounds.step, key=key, format=bounds.format)
    return CutSpec(mode=mode, value=float(value))


def _draft(basis: PreviewBasis, sources: tuple[str, ...]) -> RetentionDraft:
    """The cut sliders (drawn here) and the budget and downsampling widgets' values (drawn further down)."""
    mode = ss.get("ret_mode", "threshold")
    cuts: dict[str, CutSpec] = {}
    global_cut = None
    if mode == "global":
        gmode: CutMode = st.radio("Global cut", CUT_MODES, format_func=lambda m: MODE_LABELS[m], horizontal=True,
                                  key="ret_gmode")
        global_cut = _cut_slider("All sources", gmode, GLOBAL_SLIDER, basis.criterion)
    else:
        for col, source in zip(st.columns(len(sources)), sources, strict=True):
            with col:
                cuts[source] = _cut_slider(escape_markdown(source), mode, source, basis.criterion)
    return RetentionDraft(basis=basis, cuts=cuts, global_cut=global_cut,
                          budget_tokens=int(ss.get("ret_budget") or 0) or None,
                          downsample_weight=float(ss.get("ret_dsw", 0.5)),
                          downsample_recommendations=tuple(ss.get("ret_ds_recs", ["downsample"])),
                          solver=_solver_in_place(mode, cuts))


def _solver_in_place(mode: str, cuts: dict[str, CutSpec]) -> SolverRequest | None:
    """The solver request behind the sliders, while every slider still holds its answer (None once one moved)."""
    solved = ss.get("ret_solved_values")
    if mode != "top_records" or not solved or {s: c.value for s, c in cuts.items()} != solved:
        return None
    request: SolverRequest = ss["ret_solved_request"]
    return request


def _apply_solution(url: str, basis: PreviewBasis) -> None:
    """Form callback: run the solver and move the sliders (top % of records, exact per-source counts)."""
    solved = solve_sliders(_arrays(url, basis), amount=float(ss.get("ret_solve_amount") or 0),
                           unit=ss.get("ret_solve_unit"),
                           rule=ss.get("ret_solve_rule", "same_quantile"))
    ss["ret_mode"] = "top_records"
    for source, value in solved.top_records.items():
        ss[_slider_key("top_records", source, basis.criterion)] = value
    ss["ret_budget"] = solved.budget_tokens
    ss["ret_solved"] = solved.message
    ss["ret_solved_values"] = dict(solved.top_records)
    ss["ret_solved_request"] = solved.request


def _totals(view: RetentionPreview) -> None:
    if view.budget_line:
        (st.warning if view.over_budget else st.success)(view.budget_line)
    if ss.get("ret_solved"):
        st.caption(ss["ret_solved"])
    total = view.preview.total
    with st.container(horizontal=True, gap="large"):  # metrics as wide as their numbers, wrapping, never cut
        st.metric("Records kept", f"{total.kept:,} / {total.records:,}", width="content")
        st.metric("Tokens kept", f"{total.kept_tokens:,} / {total.tokens:,}", width="content")
        st.metric("Unscored (never kept unless forced)", f"{total.unscored:,}", width="content")
    st.caption(view.token_figures)
    st.dataframe(view.summary, hide_index=True, key="ret_summary",
                 column_config={"kept %": st.column_config.NumberColumn(format="%.1f"),
                                "tokens kept %": st.column_config.NumberColumn(format="%.1f"),
                                "cut at": st.column_config.NumberColumn(format="%.3f")})


BORDERLINE_CONFIG = {
    "record": st.column_config.LinkColumn("record", display_text="open"),
    "issue": st.column_config.TextColumn(width="large"),
    "aggregate": st.column_config.NumberColumn(format="%.3f"),
}


def _borderline(title: str, rows: pd.DataFrame, key: str) -> None:
    st.markdown(title)
    if rows.empty:
        st.caption("none")
    else:
        st.dataframe(rows, hide_index=True, key=key, column_config=BORDERLINE_CONFIG,
                     column_order=list(BORDERLINE_COLUMNS))


def _source_tab(v: SourceView, labels: dict[str, RecordLabel]) -> None:
    d = v.details
    left, right = st.columns(2)
    with left:
        st.plotly_chart(v.histogram, key=f"ret_hist_{d.source}")
        st.caption(f"Resolved share: kept {d.resolved_kept:.1%} · dropped {d.resolved_dropped:.1%}")
        st.caption(f"Agrees with the scorer's keep/downsample/drop on {d.agreement_rate:.1%} of records")
        st.dataframe(v.agreement, hide_index=True)
    with right:
        st.dataframe(v.dims, hide_index=True,
                     column_config={c: st.column_config.NumberColumn(format="%.2f")
                                    for c in ("kept mean", "dropped mean", "difference")})
    _borderline("**Just above the cut (kept)**", borderline_table(v.above, labels), f"ret_above_{d.source}")
    _borderline("**Just below the cut (dropped)**", borderline_table(v.below, labels), f"ret_below_{d.source}")


def _budget_widgets(url: str, basis: PreviewBasis) -> None:
    with st.expander("Token-budget solver", icon=":material/calculate:"), st.form("ret_solver"):
        st.number_input("Budget", min_value=0.0, value=50.0, key="ret_solve_amount")
        st.radio("Unit", BUDGET_UNITS, horizontal=True, key="ret_solve_unit")
        st.radio("Rule", BUDGET_RULES, format_func=lambda r: RULE_LABELS[r], key="ret_solve_rule")
        st.form_submit_button("Set sliders", on_click=_apply_solution, args=(url, basis))
    st.number_input("Budget target (tokens, 0 = none)", min_value=0, step=1_000_000, key="ret_budget")
    ss.setdefault("ret_dsw", 0.5)
    ss.setdefault("ret_ds_recs", ["downsample"])
    d1, d2 = st.columns(2)
    d1.slider("Sampling weight of downsampled records", 0.0, 1.0, step=0.05, key="ret_dsw")
    d2.multiselect("Downsample kept records the scorer marked", ["keep", "downsample", "drop"], key="ret_ds_recs")


@st.fragment
def preview_panel(url: str, basis: PreviewBasis) -> None:
    """The sliders and everything that follows them (reruns alone when a slider moves)."""
    pre = _arrays(url, basis)
    st.radio("Mode", list(MODE_LABELS), format_func=lambda m: MODE_LABELS[m], horizontal=True, key="ret_mode")
    draft = _draft(basis, pre.sources)
    view = load_preview(pre, draft)
    _totals(view)
    labels = _labels(url, basis.version, tuple(view.borderline_ids))
    # One source's audit view at a time (tabs would build and send every source's chart on each slider move).
    shown = st.segmented_control("Source details", pre.sources, default=pre.sources[0], key="ret_source_view",
                                 format_func=escape_markdown) or pre.sources[0]
    _source_tab(view.sources[pre.sources.index(shown)], labels)
    _budget_widgets(url, basis)
    with st.form("ret_save"):
        st.text_input("Policy name", key="ret_name", max_chars=80)
        st.text_input("Note", key="ret_note")
        st.checkbox("Overwrite a policy of the same name", key="ret_overwrite")
        if st.form_submit_button("Save policy", disabled=read_only(), help=read_only_help()):
            _save(draft)


def _save(draft: RetentionDraft) -> None:
    try:
        policy = draft.policy(ss.get("ret_name", "").strip(), note=ss.get("ret_note", ""))
        with write_tx(engine()) as conn:
            save_policy(conn, policy, actor=current_actor(), replace=bool(ss.get("ret_overwrite")))
    except MiraError as exc:
        st.error(str(exc))
        return
    except ValueError:  # pydantic refused the name
        st.error("Policy name: start with a letter or digit, then letters, digits, '_', '.', '-' (up to 80).")
        return
    ss["ret_saved"] = policy.name
    st.rerun(scope="app")


def _load_into_sliders(name: str) -> None:
    """Button callback: set the widgets from a saved policy (before they are drawn again)."""
    with read_conn(engine()) as conn:
        loaded = load_policy_sliders(conn, name)
    p = loaded.policy
    ss["ret_criterion"] = p.criterion
    ss["ret_judge"] = p.scorer.judge or ANY
    ss["ret_prompt"] = p.scorer.prompt_version or ANY
    if loaded.mode is not None:
        ss["ret_mode"] = loaded.mode
    if loaded.mode == "global":
        ss["ret_gmode"] = loaded.cut_mode
    for source, value in loaded.values.items():
        ss[_slider_key(loaded.cut_mode, source, p.criterion)] = value
    if loaded.note:
        ss["ret_load_note"] = loaded.note
    ss["ret_budget"] = p.budget_tokens or 0
    ss["ret_dsw"] = p.downsample_weight
    ss["ret_ds_recs"] = list(p.downsample_recommendations)
    ss["ret_name"] = p.name


def _pinned_version(url: str) -> DataVersion:
    """The data version this view loaded, and the current mask version.

    A running scoring job changes the data version every few seconds, so the arrays stay those the view
    loaded until the curator reloads; mask changes apply at once, since rebuilding from the arrays is cheap.
    A new view opens at arrays another session loaded within PIN_MAX_AGE_S (`views.pinning`).
    """
    current = _version(url)
    if "ret_pinned" not in ss:
        ss["ret_pinned"] = _recent(url).pin(current.data, max_age_s=PIN_MAX_AGE_S)
    version = ss["ret_pinned"]
    if version != current.data:
        note, reload = st.columns([5, 1])
        note.info("Scores, records or overrides changed since this view loaded.", icon=":material/update:")
        if reload.button("Reload", key="ret_reload"):
            ss["ret_pinned"] = version = current.data
    return DataVersion(version, current.mask_version)


def main() -> None:
    """Page body: scorer run and criterion, the preview fragment, policies."""
    st.title("Retention")
    url = settings().database_url
    pinned = _pinned_version(url)
    choices = _choices(url, pinned.data)
    c1, c2, c3 = st.columns(3)
    criterion: Criterion = c1.selectbox("Criterion", CRITERIA, format_func=lambda c: CRITERION_LABELS[c],
                                        key="ret_criterion")
    judge = c2.selectbox("Scorer model", [ANY, *choices.judges], key="ret_judge")
    prompt = c3.selectbox("Prompt version", [ANY, *choices.prompts], key="ret_prompt")
    scorer = ScorerRule(judge=None if judge == ANY else judge, prompt_version=None if prompt == ANY else prompt)
    loaded = _loaded(url, pinned.data, scorer.judge, scorer.prompt_version)
    if not loaded.runs:
        st.info("No complete student scores yet: score records first (Scoring page or `mira-curator score`).")
        return
    cells_json = _mask_cells(url, pinned.data, pinned.mask_version, loaded.data.sources)
    basis = PreviewBasis(version=pinned.data, scorer=scorer, criterion=criterion, cells_json=cells_json,
                         mask_version=pinned.mask_version)
    st.caption(basis.mask_line)
    preview_panel(url, basis)
    policies_section(url, pinned.data, _weights(), _load_into_sliders,
                     lambda version, rule: _loaded(url, version, rule.judge, rule.prompt_version))


try:
    main()
except MiraError as exc:
    st.error(str(exc))
