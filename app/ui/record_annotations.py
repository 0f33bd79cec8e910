"""The curator-annotation panel of the Record page: override, tags, note, history, conflict message.

The version the curator *read* is kept in session state when the panel first renders; a save names that
version, so if someone else saved in between the save is refused (ConflictError) and nothing is lost.

The panel is a fragment: a save reruns only the panel, not the record page around it (its header, its
previous / next in the filter), so the server reads and the browser redraws one form, not the page.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mira_core.errors import ConflictError, MiraError
from mira_core.storage import read_conn, write_tx
from mira_core.views import escape_markdown
from mira_core.views.annotations import (
    OVERRIDE_LABELS,
    Annotation,
    load_annotation_panel,
    save_annotation,
)
from ui.db import current_actor, engine

ss = st.session_state


def _keys(record_id: str) -> dict[str, str]:
    return {f: f"ann_{f}_{record_id}" for f in ("version", "override", "reason", "tags", "note")}


def _load_into_state(record_id: str, current: Annotation) -> None:
    keys = _keys(record_id)
    ss[keys["version"]] = current.version
    ss[keys["override"]] = current.override
    ss[keys["reason"]] = current.reason
    ss[keys["tags"]] = list(current.tags)
    ss[keys["note"]] = current.note


def _reload(record_id: str) -> None:
    """Callback: take the stored annotation (someone else's save) as the new starting point."""
    for key in _keys(record_id).values():
        ss.pop(key, None)


def _save(record_id: str) -> None:
    keys = _keys(record_id)
    try:
        with write_tx(engine()) as conn:
            saved = save_annotation(
                conn, record_id, expected_version=int(ss[keys["version"]]), override=ss[keys["override"]],
                reason=ss[keys["reason"]], tags=ss[keys["tags"]], note=ss[keys["note"]],
                actor=current_actor())
    except ConflictError as exc:
        st.error(escape_markdown(str(exc)), icon=":material/sync_problem:")
        st.button("Reload their version (your edits above are discarded)", key=f"ann_reload_{record_id}",
                  on_click=_reload, args=(record_id,))
        return
    except MiraError as exc:  # InvalidAnnotation, PermissionDenied: nothing was saved
        st.error(escape_markdown(str(exc)))
        return
    ss[keys["version"]] = saved.version
    st.success(f"Saved (version {saved.version}).")


def render_record_annotations(record_id: str) -> None:
    """Render the panel for one record (call it inside the Record page where the panel belongs)."""
    st.fragment(_panel)(record_id)


def _panel(record_id: str) -> None:
    """The panel's body: a save or a reload reruns this alone."""
    keys = _keys(record_id)
    with read_conn(engine()) as conn:
        panel = load_annotation_panel(conn, record_id)
    current = panel.current
    if keys["version"] not in ss:
        _load_into_state(record_id, current)
    st.subheader("Curator annotation")
    if panel.last_change:
        st.caption(panel.last_change)
    if current.version != ss[keys["version"]]:
        st.warning("Someone saved this annotation after you opened it; saving now will be refused. "
                   "Reload to see their version.", icon=":material/sync_problem:")
    with st.form(f"ann_form_{record_id}"):
        st.radio("Decision override", list(OVERRIDE_LABELS), format_func=lambda o: OVERRIDE_LABELS[o],
                 horizontal=True, key=keys["override"])
        st.text_input("Reason (required for an override)", key=keys["reason"])
        st.multiselect("Tags", sorted(set(panel.known_tags) | set(ss[keys["tags"]])), key=keys["tags"],
                       accept_new_options=True)
        st.text_area("Note", key=keys["note"], height=80)
        submitted = st.form_submit_button("Save annotation", icon=":material/save:")
    if submitted:
        _save(record_id)
    if not panel.history.empty:
        with st.expander(f"History ({len(panel.history)} changes)"):
            st.dataframe(pd.DataFrame(panel.history), hide_index=True, key=f"ann_history_{record_id}")
