"""Bulk tagging for Browse: add or remove a tag on every record the current filter matches (not one page)."""

from __future__ import annotations

import streamlit as st

from mira_core.errors import MiraError
from mira_core.query import RecordFilter
from mira_core.storage import read_conn, write_tx
from mira_core.views import escape_markdown
from mira_core.views.annotations import apply_bulk_tag, count_matches
from ui.db import current_actor, engine


def render_bulk_tag(f: RecordFilter, *, n: int | None = None, exact: bool = True, key: str = "bulk_tag") -> None:
    """A small form: tag, add/remove, and a confirmation naming how many records it will touch.

    `n` is the match count when the caller already has it; with `exact` False more than `n` match (a capped
    text search), and the exact number is counted only when the form is applied. After a change the page
    reruns, so counts, tag lists and the table show the new tags; the result message survives the rerun.
    """
    if (done := st.session_state.pop(f"{key}_done", None)) is not None:
        st.success(done)
    if n is None:
        with read_conn(engine()) as conn:
            n = count_matches(conn, f)
    with st.form(key):
        st.markdown(f"**Tag all {n:,} records matching this filter**" if exact else
                    f"**Tag all records matching this filter (more than {n:,})**")
        tag = st.text_input("Tag", key=f"{key}_tag")
        remove = st.toggle("remove the tag instead", key=f"{key}_remove")
        if st.form_submit_button("Apply to all matches", icon=":material/sell:"):
            try:
                with write_tx(engine()) as conn:
                    matched = n if exact else count_matches(conn, f)
                    result = apply_bulk_tag(conn, f, tag=tag, remove=remove, matched=matched, actor=current_actor())
            except MiraError as exc:  # InvalidAnnotation, PermissionDenied: nothing was tagged
                st.error(escape_markdown(str(exc)))
                return
            st.session_state[f"{key}_done"] = result.message
            st.rerun()
