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


def _filters(choices: ActivityPage) -> tuple[list[str], list[str], str]:
    c1, c2, c3 = st.columns([2, 2, 2])
    people = c1.multiselect("Person", choices.people, key="activity_people", on_change=_reset_paging)
    kinds = c2.multiselect("Kind", choices.kinds, key="activity_kinds", on_change=_reset_paging)
    record = c3.text_input("Record id", key="activity_record", on_change=_reset_paging).strip()
    return people, kinds, record


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
    with read_conn(engine()) as conn:
        choices = load_activity(conn, limit=0)
    people, kinds, record = _filters(choices)
    page = _load(people, kinds, record)
    if page.rows.empty:
        st.info("No changes match." if (people or kinds or record) else "No changes recorded yet.")
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
