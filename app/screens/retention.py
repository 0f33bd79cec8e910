"""Retention: per-source sliders with a live preview, the token-budget solver, saved policies, diff, downloads.

The heavy arrays (scores, sorted aggregates, cumulative sums) live in `st.cache_resource`, keyed by a small
data version; a slider change reruns only the preview fragment, which answers from those arrays.
"""

from __future__ import annotations

import json

import streamlit as st
from ui.db import engine, settings

from mira_core.errors import MiraError
from mira_core.selection import store
from mira_core.selection.aggregate import CRITERIA, criterion_range
from mira_core.selection.diff import diff_policies
from mira_core.selection.export import FORMATS, export_files
from mira_core.selection.policies import CutSpec, Policy, ScorerRule, mask_array
from mira_core.selection.preview import Precomputed, PreviewSettings, details, precompute, preview
from mira_core.selection.solver import BUDGET_RULES, budget_from_percent, solve_budget
from mira_core.storage import selection_repo
from mira_core.storage.engine import read_conn, write_tx
from mira_core.storage.reliability_repo import active_mask_version
from mira_core.views import escape_markdown
from mira_core.views.retention import (
    agreement_table,
    budget_line,
    dims_table,
    histogram,
    record_link,
    summary_table,
)

ss = st.session_state
MODES = {"threshold": "threshold", "top_records": "top % of records", "top_tokens": "top % of tokens",
         "global": "global (MIRA-Global)"}
CRITERION_LABELS = {"mean": "mean of unmasked dimensions", "weighted": "cluster-size weighted mean",
                    "overall": "scorer's overall (0-100)", "recommendation": "scorer's recommendation (0-2)"}
RULE_LABELS = {"same_quantile": "same quantile in every source", "highest_first": "highest aggregate first"}
ANY = "(any)"


@st.cache_data(ttl=5, show_spinner=False, max_entries=4)
def _version(url: str) -> tuple[str, int | None]:
    with read_conn(engine()) as conn:
        return selection_repo.selection_version(conn), active_mask_version(conn)


@st.cache_data(ttl=30, show_spinner=False, max_entries=4)
def _choices(url: str, version: str) -> tuple[list[str], list[str]]:
    with read_conn(engine()) as conn:
        return selection_repo.scorer_choices(conn)


@st.cache_resource(show_spinner="Loading scores…", max_entries=4)
def _loaded(url: str, version: str, judge: str | None, prompt: str | None) -> store.LoadedSelection:
    with read_conn(engine()) as conn:
        return store.load_selection_data(conn, ScorerRule(judge=judge, prompt_version=prompt))


@st.cache_data(show_spinner=False, max_entries=8)
def _mask_cells(url: str, version: str, mask_version: int | None, sources: tuple[str, ...]) -> str:
    with read_conn(engine()) as conn:
        return json.dumps(store.active_mask_cells(conn, sources)[1], sort_keys=True)


@st.cache_resource(show_spinner="Sorting aggregates…", max_entries=8)
def _precomputed(url: str, version: str, judge: str | None, prompt: str | None, criterion: str,
                 cells_json: str) -> Precomputed:
    data = _loaded(url, version, judge, prompt).data
    return precompute(data, mask_array(json.loads(cells_json), data.sources), criterion)  # type: ignore[arg-type]


def _slider_key(mode: str, source: str, criterion: str) -> str:
    return f"ret_v_{mode}_{criterion}_{source}" if mode == "threshold" else f"ret_v_{mode}_{source}"


def _cut_slider(label: str, key: str, mode: str, criterion: str) -> float:
    if mode == "threshold":
        lo, hi = criterion_range(criterion)  # type: ignore[arg-type]
        step = 1.0 if criterion == "recommendation" else (0.5 if criterion == "overall" else 0.05)
        ss.setdefault(key, float((lo + hi) / 2))
        return float(st.slider(label, float(lo), float(hi), step=step, key=key))
    ss.setdefault(key, 50.0)
    return float(st.slider(label, 0.0, 100.0, step=0.1, key=key, format="%.2f%%"))


def _current_settings(pre: Precomputed, criterion: str) -> tuple[PreviewSettings, dict[str, CutSpec], CutSpec | None]:
    mode = ss.get("ret_mode", "threshold")
    cuts: dict[str, CutSpec] = {}
    global_cut = None
    if mode == "global":
        gmode = st.radio("Global cut", ["threshold", "top_records", "top_tokens"], format_func=MODES.get,
                         horizontal=True, key="ret_gmode")
        value = _cut_slider("All sources", _slider_key(gmode, "__global__", criterion), gmode, criterion)
        global_cut = CutSpec(mode=gmode, value=value)
    else:
        cols = st.columns(len(pre.sources))
        for col, source in zip(cols, pre.sources, strict=True):
            with col:
                value = _cut_slider(escape_markdown(source), _slider_key(mode, source, criterion), mode, criterion)
            cuts[source] = CutSpec(mode=mode, value=value)
    budget = int(ss.get("ret_budget") or 0) or None
    settings = PreviewSettings(cuts={s: c.cut() for s, c in cuts.items()},
                               global_cut=global_cut.cut() if global_cut else None, budget_tokens=budget,
                               downsample_weight=float(ss.get("ret_dsw", 0.5)),
                               downsample_recommendations=tuple(ss.get("ret_ds_recs", ["downsample"])))
    return settings, cuts, global_cut


def _apply_solution(pre_args: tuple) -> None:
    """Form callback: run the solver and move the sliders (top % of records, exact per-source counts)."""
    pre = _precomputed(*pre_args)
    amount = float(ss.get("ret_solve_amount") or 0)
    budget = budget_from_percent(pre, amount) if ss.get("ret_solve_unit") == "% of corpus" else int(amount)
    sol = solve_budget(pre, budget, ss.get("ret_solve_rule", "same_quantile"))
    ss["ret_mode"] = "top_records"
    for source, cut in sol.cuts.items():
        ss[_slider_key("top_records", source, pre_args[4])] = float(cut.value)
    ss["ret_budget"] = budget
    cuts = ", ".join(f"{s} top {c.value:.2f}% (cut at {sol.thresholds[s]:.3f})" for s, c in sol.cuts.items())
    ss["ret_solved"] = (f"Solver: {sol.kept_tokens:,} of {budget:,} tokens · {cuts}"
                        + ("" if sol.feasible else " — forced keeps alone exceed the budget"))


@st.fragment
def preview_panel(pre_args: tuple, mask_version: int | None) -> None:
    """The sliders and everything that follows them (reruns alone when a slider moves)."""
    pre = _precomputed(*pre_args)
    criterion = pre_args[4]
    st.radio("Mode", list(MODES), format_func=MODES.get, horizontal=True, key="ret_mode")
    settings, cuts, global_cut = _current_settings(pre, criterion)
    p = preview(pre, settings)
    det = details(pre, p.counts)

    line = budget_line(p)
    if line:
        (st.warning if (p.budget_gap or 0) > 0 else st.success)(line)
    if ss.get("ret_solved"):
        st.caption(ss["ret_solved"])
    m1, m2, m3 = st.columns(3)
    m1.metric("Records kept", f"{p.total.kept:,} / {p.total.records:,}")
    m2.metric("Tokens kept", f"{p.total.kept_tokens:,} / {p.total.tokens:,}")
    m3.metric("Unscored (never kept unless forced)", f"{p.total.unscored:,}")
    st.dataframe(summary_table(p), hide_index=True, key="ret_summary",
                 column_config={"kept %": st.column_config.NumberColumn(format="%.1f"),
                                "tokens kept %": st.column_config.NumberColumn(format="%.1f"),
                                "cut at": st.column_config.NumberColumn(format="%.3f")})
    tabs = st.tabs([escape_markdown(s) for s in pre.sources])
    for tab, d in zip(tabs, det, strict=True):
        with tab:
            left, right = st.columns(2)
            with left:
                cut = global_cut or cuts.get(d.source)
                line = cut.value if cut is not None and cut.mode == "threshold" else None
                st.plotly_chart(histogram(d, CRITERION_LABELS[criterion], line), key=f"ret_hist_{d.source}")
                st.caption(f"Resolved share: kept {d.resolved_kept:.1%} · dropped {d.resolved_dropped:.1%}")
                st.caption(f"Agrees with the scorer's keep/downsample/drop on {d.agreement_rate:.1%} of records")
                st.dataframe(agreement_table(d), hide_index=True)
            with right:
                st.dataframe(dims_table(d), hide_index=True,
                             column_config={c: st.column_config.NumberColumn(format="%.2f")
                                            for c in ("kept mean", "dropped mean", "difference")})
                st.markdown("**Just above the cut (kept)**\n\n" + (
                    "\n".join(f"- {record_link(b.record_id, b.value)}" for b in reversed(d.above)) or "_none_"))
                st.markdown("**Just below the cut (dropped)**\n\n" + (
                    "\n".join(f"- {record_link(b.record_id, b.value)}" for b in d.below) or "_none_"))

    with st.expander("Token-budget solver", icon=":material/calculate:"):
        with st.form("ret_solver"):
            st.number_input("Budget", min_value=0.0, value=50.0, key="ret_solve_amount")
            st.radio("Unit", ["% of corpus", "tokens"], horizontal=True, key="ret_solve_unit")
            st.radio("Rule", list(BUDGET_RULES), format_func=RULE_LABELS.get, key="ret_solve_rule")
            st.form_submit_button("Set sliders", on_click=_apply_solution, args=(pre_args,))
    st.number_input("Budget target (tokens, 0 = none)", min_value=0, step=1_000_000, key="ret_budget")
    ss.setdefault("ret_dsw", 0.5)
    ss.setdefault("ret_ds_recs", ["downsample"])
    d1, d2 = st.columns(2)
    d1.slider("Sampling weight of downsampled records", 0.0, 1.0, step=0.05, key="ret_dsw")
    d2.multiselect("Downsample kept records the scorer marked", ["keep", "downsample", "drop"], key="ret_ds_recs")

    with st.form("ret_save"):
        st.text_input("Policy name", key="ret_name", max_chars=80)
        st.text_input("Note", key="ret_note")
        st.checkbox("Overwrite a policy of the same name", key="ret_overwrite")
        if st.form_submit_button("Save policy"):
            _save(pre, cuts, global_cut, criterion, mask_version, pre_args, settings.budget_tokens)


def _save(pre: Precomputed, cuts: dict, global_cut: CutSpec | None, criterion: str, mask_version: int | None,
          pre_args: tuple, budget: int | None) -> None:
    try:
        policy = Policy(name=ss.get("ret_name", "").strip(), criterion=criterion, cuts=cuts, global_cut=global_cut,  # type: ignore[arg-type]
                        mask_version=mask_version, masked_cells=json.loads(pre_args[5]),
                        scorer=ScorerRule(judge=pre_args[2], prompt_version=pre_args[3]), budget_tokens=budget,
                        downsample_weight=float(ss.get("ret_dsw", 0.5)),
                        downsample_recommendations=list(ss.get("ret_ds_recs", ["downsample"])), note=ss.get("ret_note", ""),
                        created_by=settings().curator)
        with write_tx(engine()) as conn:
            store.save_policy(conn, policy, replace=bool(ss.get("ret_overwrite")))
    except MiraError as exc:
        st.error(str(exc))
        return
    except ValueError:  # pydantic refused the name
        st.error("Policy name: start with a letter or digit, then letters, digits, '_', '.', '-' (up to 80).")
        return
    ss["ret_saved"] = policy.name
    st.rerun(scope="app")


def _clip_to_slider(mode: str, criterion: str, value: float) -> float:
    lo, hi = criterion_range(criterion) if mode == "threshold" else (0.0, 100.0)  # type: ignore[arg-type]
    return float(min(max(value, lo), hi))


def _load_into_sliders(name: str) -> None:
    """Button callback: set the widgets from a saved policy (before they are drawn again)."""
    with read_conn(engine()) as conn:
        p = store.get_policy(conn, name)
    ss["ret_criterion"] = p.criterion
    ss["ret_judge"] = p.scorer.judge or ANY
    ss["ret_prompt"] = p.scorer.prompt_version or ANY
    if p.global_cut:
        g = p.global_cut
        ss["ret_mode"], ss["ret_gmode"] = "global", g.mode
        ss[_slider_key(g.mode, "__global__", p.criterion)] = _clip_to_slider(g.mode, p.criterion, g.value)
    elif p.cuts:
        modes = {c.mode for c in p.cuts.values()}
        mode = sorted(modes)[0]
        ss["ret_mode"] = mode
        for source, c in p.cuts.items():
            ss[_slider_key(mode, source, p.criterion)] = _clip_to_slider(mode, p.criterion, c.value)
        if len(modes) > 1:
            ss["ret_load_note"] = f"Policy {name} mixes cut modes; the sliders show every cut as {MODES[mode]}."
    ss["ret_budget"] = p.budget_tokens or 0
    ss["ret_dsw"] = p.downsample_weight
    ss["ret_ds_recs"] = list(p.downsample_recommendations)
    ss["ret_name"] = p.name


def policies_section(url: str) -> None:
    """Saved policies: diff two, download one's keep list and manifest."""
    with read_conn(engine()) as conn:
        names = [p.name for p in store.list_policies(conn)]
    st.subheader("Saved policies")
    if ss.get("ret_saved"):
        st.success(f"Saved policy {ss.pop('ret_saved')}")
    if not names:
        st.caption("No saved policy yet: set the sliders and save one above.")
        return
    a, b, go = st.columns([2, 2, 1])
    pa = a.selectbox("Policy A", names, key="ret_diff_a")
    pb = b.selectbox("Policy B", names, index=min(1, len(names) - 1), key="ret_diff_b")
    if go.button("Diff", key="ret_diff_go"):
        rows = [d.__dict__ for d in diff_policies(engine(), pa, pb)]
        st.dataframe([{k: v for k, v in r.items() if not k.startswith("sample")} for r in rows], hide_index=True)
    l1, l2 = st.columns([4, 1])
    chosen = l1.selectbox("Load a policy into the sliders", names, key="ret_load_name")
    l2.button("Load", key="ret_load_go", on_click=_load_into_sliders, args=(chosen,))
    if ss.get("ret_load_note"):
        st.warning(ss.pop("ret_load_note"))
    c1, c2, c3 = st.columns([2, 1, 1])
    name = c1.selectbox("Download the keep list of", names, key="ret_dl_policy")
    fmt = c2.selectbox("Format", FORMATS, key="ret_dl_fmt")
    if c3.button("Prepare download", key="ret_dl_go"):
        with read_conn(engine()) as conn:
            policy = store.get_policy(conn, name)
        ss["ret_dl"] = export_files(engine(), policy, fmt)
    files = ss.get("ret_dl")
    if files is not None:
        st.caption(f"{files.rows:,} records · sha256 {files.sha256}")
        d1, d2 = st.columns(2)
        d1.download_button("Download keep list", files.list_bytes, file_name=files.list_name, key="ret_dl_list")
        d2.download_button("Download manifest", files.manifest_bytes, file_name=files.manifest_name,
                           mime="application/json", key="ret_dl_manifest")


def main() -> None:
    """Page body: scorer run and criterion, the preview fragment, policies."""
    st.title("Retention")
    url = settings().database_url
    current, mask_version = _version(url)
    # keep the arrays of the version this view loaded (a running scoring job changes it every few seconds);
    # mask changes apply at once, since rebuilding from the loaded arrays is cheap
    version = ss.setdefault("ret_pinned", current)
    if version != current:
        note, reload = st.columns([5, 1])
        note.info("Scores, records or overrides changed since this view loaded.", icon=":material/update:")
        if reload.button("Reload", key="ret_reload"):
            ss["ret_pinned"] = version = current
    judges, prompts = _choices(url, version)
    c1, c2, c3 = st.columns(3)
    criterion = c1.selectbox("Criterion", CRITERIA, format_func=CRITERION_LABELS.get, key="ret_criterion")
    judge = c2.selectbox("Scorer model", [ANY, *judges], key="ret_judge")
    prompt = c3.selectbox("Prompt version", [ANY, *prompts], key="ret_prompt")
    judge_v, prompt_v = (None if judge == ANY else judge), (None if prompt == ANY else prompt)
    loaded = _loaded(url, version, judge_v, prompt_v)
    if not loaded.runs:
        st.info("No complete student scores yet: score records first (Scoring page or `mira-curator score`).")
        return
    cells_json = _mask_cells(url, version, mask_version, loaded.data.sources)
    n_masked = sum(len(v) for k, v in json.loads(cells_json).items() if k != "*")
    st.caption(f"Mask: {'version ' + str(mask_version) if mask_version else 'none saved'} · "
               f"{n_masked} source × dimension cells left out of the aggregate")
    pre_args = (url, version, judge_v, prompt_v, criterion, cells_json)
    preview_panel(pre_args, mask_version)
    policies_section(url)


try:
    main()
except MiraError as exc:
    st.error(str(exc))
