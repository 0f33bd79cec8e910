"""Activity: every change, newest first, filtered by person, kind and record.

Who, when, through the app or the CLI, and what; older pages on demand. Nothing here changes anything.
"""

from __future__ import annotations

import streamlit as st
from ui.db import engine

from mira_core.errors import MiraError
from mira_core.storage import read_conn
from mira_core.views import escape_markdown
from mira_core.views.activity import ActivityPage, load_activity

ss = st.session_state


def _reset_paging() -> None:
    ss.activity_before = []


def _filters(page: ActivityPage) -> None:
    c1, c2, c3 = st.columns([2, 2, 2])
    c1.multiselect("Person", page.people, key="activity_people", on_change=_reset_paging)
    c2.multiselect("Kind", page.kinds, key="activity_kinds", on_change=_reset_paging)
    c3.text_input("Record id", key="activity_record", on_change=_reset_paging)


def _load(people: list[str], kinds: list[str], record: str) -> ActivityPage:
    before = ss.activity_before[-1] if ss.activity_before else None
    try:
        with read_conn(engine()) as conn:
            return load_activity(conn, people=people, kinds=kinds, record_id=record, before_id=before)
    except MiraError as e:
        st.error("Could not read the activity log: " + escape_markdown(str(e)))
        st.stop()


def main() -> None:
    """Render the page: filters, one page of changes, newer / older."""
    st.title("Activity")
    ss.setdefault("activity_before", [])
    # The filters' values are in the session already (a change reruns the page), so one read gives the rows
    # and the filters' choices.
    people, kinds = list(ss.get("activity_people", [])), list(ss.get("activity_kinds", []))
    page = _load(people, kinds, (ss.get("activity_record") or "").strip())
    _filters(page)
    if page.rows.empty:
        filtered = people or kinds or ss.get("activity_record")
        st.info("No changes match." if filtered else "No changes recorded yet.")
        return
    st.dataframe(page.rows, hide_index=True, width="stretch", column_config={
        "when": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss"),
        "open": st.column_config.LinkColumn("open", display_text="open"),
    })
    with st.container(horizontal=True):
        if st.button("Newer", key="activity_newer", disabled=not ss.activity_before, icon=":material/chevron_left:"):
            ss.activity_before.pop()
            st.rerun()
        if st.button("Older", key="activity_older", disabled=page.older_than is None,
                     icon=":material/chevron_right:"):
            ss.activity_before.append(page.older_than)
            st.rerun()


main()
