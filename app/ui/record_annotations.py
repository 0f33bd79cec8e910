"""The curator-annotation panel of the Record page: override, tags, note, history, conflict message.

The version the curator *read* is kept in session state when the panel first renders; a save names that
version, so if someone else saved in between the save is refused (ConflictError) and nothing is lost.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mira_core.errors import ConflictError
from mira_core.storage import annotations_repo as ann
from mira_core.storage.engine import read_conn, write_tx
from mira_core.views import escape_markdown
from ui.db import engine, settings

OVERRIDE_LABELS = {"none": "no override", "force_keep": "force keep", "force_drop": "force drop"}
ss = st.session_state


def _keys(record_id: str) -> dict[str, str]:
    return {f: f"ann_{f}_{record_id}" for f in ("version", "override", "reason", "tags", "note")}


def _load_into_state(record_id: str, current: ann.Annotation) -> None:
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
            saved = ann.save_annotation(
                conn, record_id, expected_version=int(ss[keys["version"]]), override=ss[keys["override"]],
                reason=ss[keys["reason"]], tags=ss[keys["tags"]], note=ss[keys["note"]],
                who=settings().curator)
    except ConflictError as exc:
        st.error(escape_markdown(str(exc)), icon=":material/sync_problem:")
        st.button("Reload their version (your edits above are discarded)", key=f"ann_reload_{record_id}",
                  on_click=_reload, args=(record_id,))
        return
    except ann.InvalidAnnotation as exc:
        st.error(escape_markdown(str(exc)))
        return
    ss[keys["version"]] = saved.version
    st.success(f"Saved (version {saved.version}).")


def render_record_annotations(record_id: str) -> None:
    """Render the panel for one record (call it inside the Record page where the panel belongs)."""
    keys = _keys(record_id)
    with read_conn(engine()) as conn:
        current = ann.get_annotation(conn, record_id)
        known_tags = ann.tag_counts(conn).tag.tolist()
        hist = ann.history(conn, record_id)
    if keys["version"] not in ss:
        _load_into_state(record_id, current)
    st.subheader("Curator annotation")
    if current.version:
        st.caption(f"version {current.version} · last changed by {escape_markdown(str(current.updated_by))} at "
                   f"{current.updated_at:%Y-%m-%d %H:%M} UTC")
    if current.version != ss[keys["version"]]:
        st.warning("Someone saved this annotation after you opened it; saving now will be refused. "
                   "Reload to see their version.", icon=":material/sync_problem:")
    with st.form(f"ann_form_{record_id}"):
        st.radio("Decision override", list(OVERRIDE_LABELS), format_func=OVERRIDE_LABELS.get, horizontal=True,
                 key=keys["override"])
        st.text_input("Reason (required for an override)", key=keys["reason"])
        st.multiselect("Tags", sorted(set(known_tags) | set(ss[keys["tags"]])), key=keys["tags"],
                       accept_new_options=True)
        st.text_area("Note", key=keys["note"], height=80)
        submitted = st.form_submit_button("Save annotation", icon=":material/save:")
    if submitted:
        _save(record_id)
    if not hist.empty:
        with st.expander(f"History ({len(hist)} changes)"):
            shown = hist.assign(tags=[", ".join(t) for t in hist.tags],
                                override=[OVERRIDE_LABELS.get(o, o) for o in hist.override])
            st.dataframe(pd.DataFrame(shown), hide_index=True, key=f"ann_history_{record_id}")
