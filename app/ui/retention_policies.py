"""The Retention page's saved policies: the table of them, a diff of two, loading one, downloading its list.

The diff is computed when "Diff" is pressed and kept in the session, so paging through the records that
enter and leave does not recompute two keep lists.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from mira_core.errors import MiraError
from mira_core.identity import Role
from mira_core.selection import FORMATS, LoadedSelection, ScorerRule
from mira_core.storage import read_conn
from mira_core.views import escape_markdown
from mira_core.views.retention_policies import (
    PolicyDiffView,
    load_policy_diff,
    load_policy_table,
    policy_names,
    policy_stamps,
    prepare_download,
)
from ui.db import current_actor, engine

ss = st.session_state
DIFF_PAGE = 50
"""Records per page of the diff's record table."""


def read_only() -> bool:
    """Whether the acting person may not save or export (the core refuses anyway; this only greys buttons)."""
    return not current_actor().can(Role.curator)


def read_only_help() -> str | None:
    """Why the save and export buttons are grey, for their tooltip."""
    return "Saving policies and exports needs the curator role." if read_only() else None


@st.cache_data(show_spinner="Computing every policy's keep list…", max_entries=4)
def _policy_table(url: str, version: str, stamps: tuple[str, ...], weights: tuple[float, ...]) -> pd.DataFrame:
    return load_policy_table(engine(), weights=weights)


def _diff_records(view: PolicyDiffView) -> None:
    records = view.records
    if records.empty:
        st.caption("No record enters or leaves.")
        return
    pages = (len(records) + DIFF_PAGE - 1) // DIFF_PAGE
    page = int(st.number_input(f"Page (of {pages})", 1, pages, 1, key="ret_diff_page")) if pages > 1 else 1
    shown = records.iloc[(page - 1) * DIFF_PAGE: page * DIFF_PAGE].copy()
    shown.insert(0, "open", ["record?id=" + rid for rid in shown.record_id])
    st.dataframe(shown, hide_index=True, key="ret_diff_records", column_config={
        "open": st.column_config.LinkColumn("record", display_text="open"),
        "aggregate_a": st.column_config.NumberColumn("aggregate in A", format="%.3f"),
        "aggregate_b": st.column_config.NumberColumn("aggregate in B", format="%.3f"),
        "reason": st.column_config.TextColumn(width="large"),
    })
    st.caption(f"Records {(page - 1) * DIFF_PAGE + 1:,}–{min(page * DIFF_PAGE, len(records)):,} "
               f"of {len(records):,} that enter or leave.")


def _diff(names: list[str], weights: tuple[float, ...]) -> None:
    a, b, go = st.columns([2, 2, 1], vertical_alignment="bottom")
    pa = a.selectbox("Policy A", names, key="ret_diff_a")
    pb = b.selectbox("Policy B", names, index=min(1, len(names) - 1), key="ret_diff_b")
    if go.button("Diff", key="ret_diff_go"):
        ss["ret_diff"] = (pa, pb, load_policy_diff(engine(), pa, pb, weights=weights))
        ss["ret_diff_page"] = 1
    if "ret_diff" not in ss:
        return
    da, db, view = ss["ret_diff"]
    st.markdown(f"**From {escape_markdown(da)} (A) to {escape_markdown(db)} (B)**")
    by_source, by_record, by_param = st.tabs(["Per source", "Records entering and leaving", "Parameters"])
    with by_source:
        st.dataframe(view.sources, hide_index=True, key="ret_diff_sources")
    with by_record:
        _diff_records(view)
    with by_param:
        st.dataframe(view.params, hide_index=True, key="ret_diff_params")


def _downloads(names: list[str], weights: tuple[float, ...],
               cached: Callable[[str, ScorerRule], LoadedSelection] | None) -> None:
    c1, c2, c3 = st.columns([2, 1, 1], vertical_alignment="bottom")
    name = c1.selectbox("Download the keep list of", names, key="ret_dl_policy")
    fmt = c2.selectbox("Format", FORMATS, key="ret_dl_fmt")
    if c3.button("Prepare download", key="ret_dl_go", disabled=read_only(), help=read_only_help()):
        ss["ret_dl"] = prepare_download(engine(), name=name, fmt=fmt, actor=current_actor(), weights=weights,
                                        cached=cached)
    files = ss.get("ret_dl")
    if files is not None:
        st.caption(f"{files.rows:,} records · sha256 {files.sha256}")
        d1, d2 = st.columns(2)
        d1.download_button(f"Download keep list ({files.list_name})", files.list_bytes, file_name=files.list_name,
                           key="ret_dl_list")
        d2.download_button(f"Download manifest ({files.manifest_name})", files.manifest_bytes,
                           file_name=files.manifest_name, mime="application/json", key="ret_dl_manifest")


def policies_section(url: str, version: str, weights: tuple[float, ...], load: Callable[[str], None],
                     cached: Callable[[str, ScorerRule], LoadedSelection] | None = None) -> None:
    """Saved policies: the table, diff two, load one into the sliders (`load`, a callback), download one.

    `cached(version, scorer)`: the page's selection arrays, which a download reuses for the current version.
    """
    with read_conn(engine()) as conn:
        names = policy_names(conn)
        stamps = policy_stamps(conn)
    st.subheader("Saved policies")
    if ss.get("ret_saved"):
        st.success(f"Saved policy {escape_markdown(ss.pop('ret_saved'))}")
    if not names:
        st.caption("No saved policy yet: set the sliders and save one above.")
        return
    try:
        table = _policy_table(url, version, stamps, weights)
    except MiraError as exc:  # e.g. a policy's scorer has no scores any more
        st.warning(escape_markdown(str(exc)))
    else:
        st.dataframe(table, hide_index=True, key="ret_policies", column_config={
            "last saved": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
            "kept tokens": st.column_config.NumberColumn(format="%d")})
        st.caption("kept: records and tokens each policy keeps on the current scores.")
    _diff(names, weights)
    l1, l2 = st.columns([4, 1], vertical_alignment="bottom")
    chosen = l1.selectbox("Load a policy into the sliders", names, key="ret_load_name")
    l2.button("Load", key="ret_load_go", on_click=load, args=(chosen,))
    if ss.get("ret_load_note"):
        st.warning(ss.pop("ret_load_note"))
    _downloads(names, weights, cached)
