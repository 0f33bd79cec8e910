"""Record: one trajectory — issue, step timeline, per-file patch, outcome and metadata; prev/next in the filter."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator
from ui.common import current_params, shortcut_table, show_problems, synthetic_marker
from ui.db import engine
from ui.issue import render_issue
from ui.record_annotations import render_record_annotations
from ui.record_judgements import render_record_judgements
from ui.record_scores import render_record_scores
from ui.steps import render_diff, render_timeline

from mira_core.errors import MiraError
from mira_core.storage import read_conn
from mira_core.views import (
    escape_badge_label,
    escape_markdown,
    metadata_rows,
    report_summary,
    split_diff,
    view_from_params,
)
from mira_core.views.browse_params import view_to_params
from mira_core.views.record import RecordContext, load_record_context
from mira_core.views.record_meta import altered_note

OUTCOME_COLORS: dict[str, Literal["green", "red", "gray"]] = {
    "resolved": "green", "not_resolved": "red", "unknown": "gray"}
ss = st.session_state


def _go(record_id: str) -> None:
    st.query_params["id"] = record_id


def _pick() -> None:
    rid = (ss.get("record_pick") or "").strip()
    ss.record_pick = ""
    if rid:
        st.query_params["id"] = rid


def _no_record() -> None:
    st.title("Record")
    st.info("No record chosen: open one from Browse (select a row), or paste a record id here.")
    st.text_input("Record id", key="record_pick", on_change=_pick)
    st.page_link("screens/browse.py", label="Browse", icon=":material/table_rows:")


def _header(meta: dict, synthetic: bool) -> None:
    title = meta.get("instance_id") or meta["record_id"]
    st.subheader(escape_markdown(str(title), max_chars=200))
    if synthetic:
        synthetic_marker()
    with st.container(horizontal=True):
        outcome = str(meta.get("outcome"))
        st.badge(escape_badge_label(outcome), color=OUTCOME_COLORS.get(outcome, "gray"))
        st.badge(escape_badge_label(report_summary(meta)), color="gray")
        st.badge(escape_badge_label(str(meta.get("source"))), color="blue", icon=":material/database:")
        st.badge(f"{int(meta.get('token_estimate') or 0):,} tokens", color="gray")
        st.badge(f"{meta.get('n_steps')} steps", color="gray")
        n_err = int(meta.get("n_errors") or 0)
        st.badge(f"{n_err} errors", color="red" if n_err else "gray")
    who = [f"{label} {meta[k]}" for k, label in (("agent", "agent"), ("model", "model"), ("format", "format"),
                                                 ("exit_status", "exit status")) if meta.get(k)]
    if who:
        st.caption(escape_markdown(" · ".join(who), max_chars=300))


def _nav(view_params: dict, prev_id: str | None, next_id: str | None, where: str) -> None:
    with st.container(horizontal=True, vertical_alignment="center"):
        if st.button("Browse", key="record_back", shortcut="B", icon=":material/arrow_back:"):
            st.switch_page("screens/browse.py", query_params=view_params)
        st.button("Previous", key="record_prev", shortcut="K", disabled=prev_id is None,
                  on_click=_go, args=(prev_id,), icon=":material/chevron_left:")
        st.button("Next", key="record_next", shortcut="J", disabled=next_id is None,
                  on_click=_go, args=(next_id,), icon=":material/chevron_right:")
        st.caption(where)


# Stable labels: the open one is the URL's `tab=` (bound), so it survives J / K and a shared link.
TABS = ("Issue", "Steps", "Patch", "Scores", "Student vs teacher", "Metadata", "Annotation")


def _open_tab() -> tuple[str, DeltaGenerator]:
    """The open tab and its container: the URL's, else the one this session last had open (B, then back)."""
    if "tab" not in st.query_params and ss.get("record_tab_last") in TABS:
        ss["tab"] = ss.record_tab_last  # a bound tab is set through its key, never st.query_params
    tabs = st.tabs(TABS, key="tab", bind="query-params")
    i = next((i for i, t in enumerate(tabs) if t.open), 0)
    ss.record_tab_last = TABS[i]
    return TABS[i], tabs[i]


def _metadata(meta: dict) -> None:
    st.dataframe(pd.DataFrame(metadata_rows(meta), columns=["field", "value"]), hide_index=True, width="stretch")
    note = altered_note(meta)
    if note:
        st.info(escape_markdown(note), icon=":material/warning:")


def _patch(got: RecordContext, rid: str) -> None:
    sections = split_diff(got.record.patch)
    n_files = len(sections.files)
    st.caption(f"{n_files} file{'' if n_files == 1 else 's'} changed")
    render_diff(sections, got.record.patch, rid)


def _tabs(got: RecordContext, rid: str) -> None:
    """Only the open tab's body is rendered: the browser gets one section, not the whole record."""
    rec, meta = got.record, got.meta
    shown, tab = _open_tab()
    bodies: dict[str, Callable[[], None]] = {
        "Issue": lambda: render_issue(rec.issue, key="record_issue"),
        "Steps": lambda: render_timeline(rec.steps, rid),
        "Patch": lambda: _patch(got, rid),
        "Scores": lambda: render_record_scores(rid),
        "Student vs teacher": lambda: render_record_judgements(rid),
        "Metadata": lambda: _metadata(meta),
        "Annotation": lambda: render_record_annotations(rid),
    }
    with tab:
        bodies[shown]()


def main() -> None:
    """Render the page: `?id=` plus the Browse view's parameters (for previous / next and Back)."""
    params = current_params()
    rid = (params.get("id") or [""])[-1].strip()
    if not rid:
        _no_record()
        return
    parsed = view_from_params(params)
    view = parsed.view
    try:
        with read_conn(engine()) as conn:
            got = load_record_context(conn, rid, view)
    except MiraError as e:
        st.title("Record")
        st.error(escape_markdown(str(e).splitlines()[0] if str(e) else type(e).__name__))
        st.page_link("screens/browse.py", label="Back to Browse", icon=":material/arrow_back:",
                     query_params=view_to_params(view))
        return

    show_problems(parsed.problems)
    _nav(view_to_params(got.back_view), got.prev_id, got.next_id, got.where)
    _header(got.meta, got.record.synthetic)
    _tabs(got, rid)
    shortcut_table([
        ("J", "next record in the filter"),
        ("K", "previous record in the filter"),
        ("B", "back to Browse (same filter)"),
        ("N", "next page of steps"),
        ("P", "previous page of steps"),
    ])


main()
