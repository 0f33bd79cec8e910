"""Reliability: student-vs-teacher agreement per source x dimension, mask rules with a live preview,
curator overrides, named mask versions, spot-checks, and human agreement next to the teacher's.

Score arrays and the matrix (with its bootstrap intervals) are held in `st.cache_resource`, keyed by a
small data version, so moving a threshold only re-applies the rules to the cached matrix.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from pydantic import ValidationError
from ui.db import dimension_names, engine, settings

from mira_core.dimensions import SLOTS
from mira_core.errors import MiraError
from mira_core.query import RecordFilter
from mira_core.reliability import mask_store, spot_check_store
from mira_core.reliability.masks import MaskRules, Override, build_mask, mask_from_json, mask_to_json
from mira_core.reliability.metrics import ALL_SOURCES, reliability_matrix
from mira_core.storage import reliability_repo as repo
from mira_core.storage import spot_checks_repo
from mira_core.storage.engine import read_conn, write_tx
from mira_core.storage.records_repo import distinct_values, list_records
from mira_core.views import escape_markdown
from mira_core.views.reliability import (
    METRIC_LABELS,
    cell_detail,
    error_histogram,
    filter_pairs,
    heatmap_grid,
    jittered,
    largest_disagreements,
    sample_points,
)

ss = st.session_state
ANY = "(any)"
OUTCOMES = ("resolved", "not_resolved", "unknown")


def _url() -> str:
    return settings().database_url


@st.cache_data(ttl=5, show_spinner=False, max_entries=4)
def _data_version(url: str) -> str:
    with read_conn(engine()) as conn:
        return repo.data_version(conn)


@st.cache_data(ttl=30, show_spinner=False, max_entries=4)
def _choices(url: str, version: str) -> dict[str, list[str]]:
    with read_conn(engine()) as conn:
        return {"teachers": repo.list_judges(conn, "teacher"), "students": repo.list_judges(conn, "student"),
                "prompts": repo.list_prompt_versions(conn), "sources": distinct_values(conn, "source")}


@st.cache_resource(show_spinner="Loading scores…", max_entries=2)
def _pairs(url: str, version: str, student: str | None, prompt: str | None, teacher: str) -> repo.ScorePairs:
    with read_conn(engine()) as conn:
        return repo.load_score_pairs(conn, student_judge=student, prompt_version=prompt, teacher=teacher)


@st.cache_resource(show_spinner="Computing agreement and bootstrap intervals…", max_entries=16)
def _matrix(url: str, version: str, student: str | None, prompt: str | None, teacher: str,
            filters: tuple, min_n: int) -> pd.DataFrame:
    sources, outcomes, lo, hi = filters
    p = filter_pairs(_pairs(url, version, student, prompt, teacher), sources=sources, outcomes=outcomes,
                     min_tokens=lo, max_tokens=hi)
    return reliability_matrix(p.student, p.teacher, p.sources, min_n)


@st.cache_data(ttl=5, show_spinner=False, max_entries=4)
def _agreement(url: str) -> pd.DataFrame:
    with read_conn(engine()) as conn:
        return spot_check_store.agreement(conn)


def _filters(choices: dict[str, list[str]]) -> tuple:
    with st.sidebar:
        st.subheader("Filters")
        teacher = st.selectbox("Teacher", choices["teachers"], key="rel_teacher")
        student = st.selectbox("Student judge (scorer run / model)", [ANY, *choices["students"]], key="rel_student")
        prompt = st.selectbox("Prompt version", [ANY, *choices["prompts"]], key="rel_prompt")
        sources = st.multiselect("Sources", choices["sources"], key="rel_sources")
        outcomes = st.multiselect("Outcome", OUTCOMES, key="rel_outcomes")
        c1, c2 = st.columns(2)
        lo = c1.number_input("Min tokens", min_value=0, value=None, step=1000, key="rel_min_tokens")
        hi = c2.number_input("Max tokens", min_value=0, value=None, step=1000, key="rel_max_tokens")
    return (teacher, None if student == ANY else student, None if prompt == ANY else prompt,
            (tuple(sources), tuple(outcomes), lo, hi))


def _rules() -> MaskRules:
    st.subheader("Mask rules")
    c1, c2, c3 = st.columns(3)
    max_mae = c1.slider("Mask when MAE is above", 0.0, 5.0, 2.0, 0.1, key="rel_max_mae")
    min_rho = c2.slider("Mask when Spearman ρ is below", -1.0, 1.0, 0.3, 0.05, key="rel_min_rho")
    min_n = int(c3.number_input("Minimum pairs per cell", 1, 100_000, 30, key="rel_min_n"))
    too_few = c3.checkbox("Mask cells with too few pairs", True, key="rel_mask_too_few")
    return MaskRules(max_mae=max_mae, min_rho=min_rho, min_n=min_n, mask_too_few=too_few)


def _heatmap(matrix: pd.DataFrame, mask, metric: str) -> None:  # type: ignore[no-untyped-def]
    grid = heatmap_grid(matrix, metric, mask)  # type: ignore[arg-type]
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
    fig.update_layout(height=120 + 38 * len(grid.rows), margin={"l": 10, "r": 10, "t": 10, "b": 10},
                      yaxis={"autorange": "reversed"})
    st.plotly_chart(fig, key="rel_heatmap")
    st.caption("✕ = masked under the rules and overrides below · grey “too few” = fewer pairs than the minimum; "
               "hover for n and the bootstrap 95% intervals.")


def _overrides() -> list[Override]:
    """The preview's curator overrides; on first load, those of the active version carry over, so a new
    version built from changed thresholds never silently drops an earlier curator decision."""
    if "rel_overrides" not in ss:
        with read_conn(engine()) as conn:
            active = mask_store.active_mask(conn)
        ss["rel_overrides"] = [
            {"source": c.source, "slot": c.slot, "masked": d.masked, "reason": d.reason}
            for c, d in sorted(active.cells.items()) if d.by == "curator"
        ]
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


def _cell_view(pairs: repo.ScorePairs, matrix: pd.DataFrame, agreement: pd.DataFrame, source: str,
               slot: str) -> None:
    dim = dimension_names()[slot]
    st.subheader(f"{slot} · {escape_markdown(dim.name)} — {escape_markdown(source)}")
    if dim.description:
        st.caption(escape_markdown(dim.description, max_chars=400))
    row = matrix[(matrix.source == source) & (matrix.slot == slot)]
    detail = cell_detail(pairs, source, slot)
    c1, c2, c3 = st.columns(3)
    if len(row):
        r = row.iloc[0]
        c1.metric("pairs (n)", f"{int(r.n):,}")
        c2.metric("MAE", "too few" if r.too_few else f"{r.mae:.2f}",
                  help=f"95% interval [{r.mae_lo:.2f}, {r.mae_hi:.2f}]" if not np.isnan(r.mae_lo) else None)
        c3.metric("Spearman ρ", "too few" if r.too_few or np.isnan(r.rho) else f"{r.rho:.2f}",
                  help=f"95% interval [{r.rho_lo:.2f}, {r.rho_hi:.2f}]" if not np.isnan(r.rho_lo) else None)
    hum = agreement[(agreement.source == source) & (agreement.slot == slot)]
    if len(hum):
        h = hum.iloc[0]
        st.markdown(
            f"**Human spot-checks:** {int(h.reviewed)} reviewed ({int(h.skipped)} skipped) · "
            f"human vs student MAE {h.human_student_mae:.2f}, ρ {h.human_student_rho:.2f} · "
            f"human vs teacher MAE {h.human_teacher_mae:.2f}, ρ {h.human_teacher_rho:.2f} (n={int(h.n_teacher)})"
            .replace("nan", "–")
        )
    else:
        st.caption("No human spot-checks of this cell yet.")
    if detail.empty:
        st.info("No record has both a student and a teacher score in this cell.")
        return
    left, right = st.columns(2)
    shown = sample_points(detail)
    scatter = go.Figure()
    scatter.add_trace(go.Scattergl(x=jittered(shown.teacher.to_numpy(), 1), y=jittered(shown.student.to_numpy(), 2),
                                   mode="markers", marker={"size": 4, "opacity": 0.4}, name="records",
                                   hoverinfo="skip"))
    scatter.add_trace(go.Scatter(x=[0, 10], y=[0, 10], mode="lines", name="identity", line={"dash": "dash"}))
    scatter.update_layout(xaxis_title="teacher", yaxis_title="student (jittered)", height=360,
                          margin={"l": 10, "r": 10, "t": 30, "b": 10})
    left.plotly_chart(scatter, key="rel_scatter")
    if len(shown) < len(detail):
        left.caption(f"{len(shown):,} of {len(detail):,} pairs shown (random sample); the histogram counts all.")
    bars = error_histogram(detail)
    hist = go.Figure(go.Bar(x=bars.error, y=bars.records))
    hist.update_layout(xaxis_title="student − teacher", yaxis_title="records", height=360,
                       margin={"l": 10, "r": 10, "t": 30, "b": 10})
    right.plotly_chart(hist, key="rel_hist")
    top = largest_disagreements(detail, 25)
    with read_conn(engine()) as conn:
        meta = list_records(conn, RecordFilter(record_ids=top.record_id.tolist()), limit=len(top))
    titles = dict(zip(meta.record_id, meta.title, strict=True))
    top.insert(0, "open", ["record?id=" + rid for rid in top.record_id])
    top.insert(1, "title", [titles.get(rid, "") for rid in top.record_id])
    st.markdown("**Largest disagreements** (open a record to read both rationales)")
    st.dataframe(top, hide_index=True, key="rel_top", column_config={
        "open": st.column_config.LinkColumn("record", display_text="open"),
    })


def _spot_check_start(source: str, slot: str, teacher: str, student: str | None) -> None:
    if source == ALL_SOURCES:
        return
    with st.container(horizontal=True, vertical_alignment="bottom"):
        size = st.number_input("Spot-check size", 5, 500, 30, step=5, key="rel_spot_size")
        if st.button("Start a spot-check of this cell", key="rel_spot_start", icon=":material/fact_check:"):
            try:
                with write_tx(engine()) as conn:
                    sid = spot_check_store.create_spot_check(
                        conn, source=source, slot=slot, size=int(size), seed=int(np.random.default_rng().integers(1e6)),
                        created_by=settings().curator, student_judge=student, teacher=teacher)
            except (MiraError, ValueError) as exc:
                st.error(escape_markdown(str(exc)))
                return
            st.switch_page("screens/spot_check.py", query_params={"id": sid})
    with read_conn(engine()) as conn:
        checks = spot_checks_repo.list_spot_checks(conn, source=source, slot=slot)
    for row in checks.head(5).itertuples():
        st.page_link("screens/spot_check.py", query_params={"id": row.spot_check_id},
                     label=f"spot-check {row.done}/{row.size} done · {row.status} · by "
                           f"{escape_markdown(str(row.created_by))} {row.created_at:%Y-%m-%d %H:%M}")


def _masked_spot_checks(mask, teacher: str, student: str | None) -> None:  # type: ignore[no-untyped-def]
    """One spot-check per masked cell of the preview (a review queue over what the mask hides)."""
    cells = sorted(c for c in mask.masked_cells() if c.source != "*")
    if not cells:
        return
    with st.popover(f"Spot-check the {len(cells)} masked cells", icon=":material/fact_check:"):
        size = st.number_input("Items per cell", 1, 200, 10, key="rel_masked_spot_size")
        if st.button("Create the spot-checks", key="rel_masked_spot_go"):
            made, failed = 0, []
            for cell in cells:
                try:
                    with write_tx(engine()) as conn:
                        spot_check_store.create_spot_check(
                            conn, source=cell.source, slot=cell.slot, size=int(size), seed=made,
                            created_by=settings().curator, student_judge=student, teacher=teacher)
                    made += 1
                except (MiraError, ValueError) as exc:
                    failed.append(str(exc))
            st.success(f"Created {made} spot-checks; open them on the Spot-check page.")
            for msg in failed[:5]:
                st.warning(escape_markdown(msg))


def _save_versions(mask, rules: MaskRules) -> None:  # type: ignore[no-untyped-def]
    st.subheader("Mask versions")
    with st.form("rel_save_form"):
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        name = c1.text_input("Name of the new version", key="rel_mask_name")
        activate = c2.checkbox("make it active", True, key="rel_mask_activate")
        note = st.text_input("Note (optional)", key="rel_mask_note")
        if st.form_submit_button("Save mask version", icon=":material/save:"):
            if not name.strip():
                st.error("Give the version a name.")
            else:
                with write_tx(engine()) as conn:
                    vid = mask_store.save_mask_version(conn, name=name, mask=mask, rules=rules, note=note,
                                                       created_by=settings().curator, activate=activate)
                st.success(f"Saved mask version {vid}" + (" and made it active." if activate else "."))
    _import_mask()
    with read_conn(engine()) as conn:
        versions = repo.list_mask_versions(conn)
    if versions.empty:
        st.caption("No mask version saved yet: nothing is masked on the record page or in selection.")
        return
    st.dataframe(versions[["version_id", "name", "active", "masked", "created_by", "created_at", "note"]],
                 hide_index=True, key="rel_versions")
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    pick = c1.selectbox("Version", versions.version_id.tolist(), key="rel_activate_pick",
                        format_func=lambda v: f"{v} · {versions.set_index('version_id').loc[v, 'name']}")
    if c2.button("Activate", key="rel_activate"):
        with write_tx(engine()) as conn:
            repo.activate_mask_version(conn, int(pick))
        st.rerun()
    with read_conn(engine()) as conn:
        chosen = mask_store.load_mask(conn, int(pick))
    with st.expander(f"Cells of version {pick} ({len(chosen.masked_cells())} masked)"):
        cells = pd.DataFrame([(c.source, c.slot, d.masked, d.by, d.reason) for c, d in sorted(chosen.cells.items())],
                             columns=["source", "slot", "masked", "decided by", "reason"])
        st.dataframe(cells, hide_index=True, key="rel_version_cells")
        st.download_button("Download as JSON", mask_to_json(chosen), file_name=f"mask-{pick}.json",
                           mime="application/json", key="rel_version_download")


def _import_mask() -> None:
    """Save a mask JSON file ({source: {slot: {masked, reason}}}, e.g. the MIRA repository's) as a version."""
    with st.expander("Import a mask from JSON"):
        with st.form("rel_import_form", clear_on_submit=True):
            upload = st.file_uploader("Mask JSON", type=["json"], key="rel_import_file")
            name = st.text_input("Name of the new version", key="rel_import_name")
            activate = st.checkbox("make it active", True, key="rel_import_activate")
            if st.form_submit_button("Import mask", icon=":material/upload:"):
                if upload is None or not name.strip():
                    st.error("Choose a JSON file and give the version a name.")
                    return
                try:
                    mask = mask_from_json(upload.getvalue().decode("utf-8"), where=upload.name)
                except (MiraError, UnicodeDecodeError, ValueError) as exc:
                    st.error(escape_markdown(str(exc)))
                    return
                with write_tx(engine()) as conn:
                    vid = mask_store.save_mask_version(conn, name=name, mask=mask, rules=None,
                                                       created_by=settings().curator, activate=activate,
                                                       note=f"imported from {upload.name}")
                st.success(f"Imported mask version {vid}: {len(mask.masked_cells())} masked cells.")


def main() -> None:
    """Render the page."""
    st.title("Reliability")
    url = _url()
    version = _data_version(url)
    choices = _choices(url, version)
    if not choices["teachers"]:
        st.info("No teacher labels yet. Import them with `mira-curator import-teacher PATH --teacher NAME` "
                "(or `mira-curator demo-teacher` for the SIMULATED demo labels).")
        return
    teacher, student, prompt, filters = _filters(choices)
    rules = _rules()
    matrix = _matrix(url, version, student, prompt, teacher, filters, rules.min_n)
    mask = build_mask(matrix, rules, _overrides())
    n_cells = int((matrix.source != ALL_SOURCES).sum())
    masked = len([c for c in mask.masked_cells() if c.source != "*"])
    st.metric("Masked cells (preview)", f"{masked} of {n_cells}")
    if ss.get("rel_overrides"):
        st.caption(f"{len(ss['rel_overrides'])} curator override(s) in this preview (the active version's carry "
                   "over); they are saved with the version.")
        if st.button("Clear curator overrides", key="rel_clear_overrides"):
            ss["rel_overrides"] = []
            st.rerun()
    metric = st.segmented_control("Metric", ["mae", "rho"], default="mae", format_func=METRIC_LABELS.get,
                                  key="rel_metric") or "mae"
    _heatmap(matrix, mask, metric)
    _masked_spot_checks(mask, teacher, student)
    agreement = _agreement(url)
    if not agreement.empty:
        with st.expander(f"Human spot-check agreement ({len(agreement)} cells checked)"):
            st.dataframe(agreement, hide_index=True, key="rel_agreement")

    st.divider()
    rows = [*sorted(s for s in matrix.source.unique() if s != ALL_SOURCES), ALL_SOURCES]
    c1, c2 = st.columns(2)
    source = c1.selectbox("Cell: source", rows, key="rel_cell_source")
    slot = c2.selectbox("Cell: dimension", SLOTS, key="rel_cell_slot",
                        format_func=lambda s: f"{s} · {dimension_names()[s].name}")
    pairs = filter_pairs(_pairs(url, version, student, prompt, teacher), sources=filters[0], outcomes=filters[1],
                         min_tokens=filters[2], max_tokens=filters[3])
    decision = mask.decision(source, slot) if source != ALL_SOURCES else None
    if decision:
        state = "masked" if decision.masked else "unmasked"
        st.markdown(f"**{state}** by {decision.by}: {escape_markdown(decision.reason, max_chars=300)}")
    _cell_view(pairs, matrix, _agreement(url), source, slot)
    _override_form(source, slot)
    _spot_check_start(source, slot, teacher, student)
    st.divider()
    _save_versions(mask, rules)


main()
