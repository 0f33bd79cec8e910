"""The Reliability page's mask versions.

Save the preview as a named version, import one from JSON, list the versions, activate one and download its
cells. Saving needs the curator role, activating the admin role (the core checks; for anyone else the
"make it active" boxes start unticked and are disabled, and so is the Activate button).
"""

from __future__ import annotations

import streamlit as st

from mira_core.errors import MiraError
from mira_core.identity import Role
from mira_core.reliability import (
    Cell,
    Mask,
    MaskRules,
    activate_mask_version,
    mask_from_json,
    save_mask_version,
    spot_check_cells,
)
from mira_core.storage import read_conn, write_tx
from mira_core.views import escape_markdown
from mira_core.views.mask_versions import ActiveMaskView, load_mask_version, load_mask_versions
from mira_core.views.reliability import Judges
from ui.db import current_actor, engine

ADMIN_ONLY = "Only an admin can make a mask version active."


def _may_activate() -> bool:
    return current_actor().can(Role.admin)


def _save(mask: Mask, rules: MaskRules | None, *, name: str, note: str, activate: bool) -> int | None:
    """Save the version; None (with the message shown) when the core refuses it."""
    try:
        with write_tx(engine()) as conn:
            return save_mask_version(conn, name=name, mask=mask, rules=rules, note=note, actor=current_actor(),
                                     activate=activate)
    except MiraError as exc:  # PermissionDenied, MaskFormatError: nothing was saved
        st.error(escape_markdown(str(exc)))
        return None


def _save_form(mask: Mask, rules: MaskRules) -> None:
    may = _may_activate()
    with st.form("rel_save_form"):
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        name = c1.text_input("Name of the new version", key="rel_mask_name")
        activate = c2.checkbox("make it active", may, disabled=not may, help=None if may else ADMIN_ONLY,
                               key="rel_mask_activate")
        note = st.text_input("Note (optional)", key="rel_mask_note")
        if st.form_submit_button("Save mask version", icon=":material/save:"):
            if not name.strip():
                st.error("Give the version a name.")
            elif (vid := _save(mask, rules, name=name, note=note, activate=activate)) is not None:
                st.success(f"Saved mask version {vid}" + (" and made it active." if activate else "."))


def _versions() -> None:
    """The saved versions, activating one, and one version's cells with a JSON download."""
    with read_conn(engine()) as conn:
        versions = load_mask_versions(conn)
    if versions.empty:
        st.caption("No mask version saved yet: nothing is masked on the record page or in selection.")
        return
    st.dataframe(versions, hide_index=True, key="rel_versions")
    names: dict[int, str] = {int(v): str(n) for v, n in zip(versions.version_id, versions.name, strict=True)}
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    pick = int(c1.selectbox("Version", list(names), key="rel_activate_pick",
                            format_func=lambda v: f"{v} · {names[v]}"))
    may = _may_activate()
    if c2.button("Activate", key="rel_activate", disabled=not may, help=None if may else ADMIN_ONLY):
        try:
            with write_tx(engine()) as conn:
                activate_mask_version(conn, pick, actor=current_actor())
        except MiraError as exc:
            st.error(escape_markdown(str(exc)))
        else:
            st.rerun()
    with read_conn(engine()) as conn:
        chosen = load_mask_version(conn, version_id=pick)
    with st.expander(f"Cells of version {pick} ({chosen.n_masked} masked)"):
        st.dataframe(chosen.cells, hide_index=True, key="rel_version_cells")
        st.download_button("Download as JSON", chosen.json, file_name=f"mask-{pick}.json",
                           mime="application/json", key="rel_version_download")


def _import_mask() -> None:
    """Save a mask JSON file ({source: {slot: {masked, reason}}}, e.g. the MIRA repository's) as a version."""
    with st.expander("Import a mask from JSON"), st.form("rel_import_form", clear_on_submit=True):
        upload = st.file_uploader("Mask JSON", type=["json"], key="rel_import_file")
        name = st.text_input("Name of the new version", key="rel_import_name")
        may = _may_activate()
        activate = st.checkbox("make it active", may, disabled=not may, help=None if may else ADMIN_ONLY,
                               key="rel_import_activate")
        if st.form_submit_button("Import mask", icon=":material/upload:"):
            if upload is None or not name.strip():
                st.error("Choose a JSON file and give the version a name.")
                return
            try:
                mask = mask_from_json(upload.getvalue().decode("utf-8"), where=upload.name)
            except (MiraError, UnicodeDecodeError, ValueError) as exc:
                st.error(escape_markdown(str(exc)))
                return
            vid = _save(mask, None, name=name, note=f"imported from {upload.name}", activate=activate)
            if vid is not None:
                st.success(f"Imported mask version {vid}: {len(mask.masked_cells())} masked cells.")


def render_mask_versions(mask: Mask, rules: MaskRules) -> None:
    """The section under the cell drill-down: `mask` and `rules` are the preview's, saved as they are."""
    st.subheader("Mask versions")
    _save_form(mask, rules)
    _import_mask()
    _versions()


def active_mask_line(active: ActiveMaskView | None) -> None:
    """Which saved version every other page applies now (the draft below changes nothing until saved)."""
    if active is None:
        st.info("No active mask: nothing is masked on Record, Browse or Retention until a version is saved and "
                "made active below.", icon=":material/visibility:")
    else:
        st.info(escape_markdown(active.line), icon=":material/visibility_off:")


def draft_vs_active(draft: list[Cell], active: ActiveMaskView | None) -> str:
    """One line: whether the draft masks the same cells as the active version, else how many differ."""
    if active is None:
        return "Save the draft as a version (below) to apply it."
    now, then = set(draft), set(active.masked_cells)
    if now == then:
        return f"The draft masks the same cells as active version {active.version_id}."
    return (f"The draft differs from active version {active.version_id}: {len(now - then)} more masked, "
            f"{len(then - now)} unmasked; save it as a version (below) to apply it.")


def masked_spot_checks(active: ActiveMaskView | None, draft: list[Cell], judges: Judges) -> None:
    """One spot-check per masked cell of the active version (of the draft when no version is active)."""
    cells, which = (active.masked_cells, f"active mask v{active.version_id}") if active else (draft, "draft")
    if not cells:
        return
    label = f"Spot-check the {len(cells)} masked cells of the {which}"
    with st.popover(label, icon=":material/fact_check:"):
        if active is None:
            st.caption("No mask version is active: these are the cells the draft rules mask.")
        size = st.number_input("Items per cell", 1, 200, 10, key="rel_masked_spot_size")
        if st.button("Create the spot-checks", key="rel_masked_spot_go"):
            try:
                done = spot_check_cells(engine(), cells, size=int(size), actor=current_actor(),
                                        student_judge=judges.student, teacher=judges.teacher)
            except MiraError as exc:  # PermissionDenied: none was made
                st.error(escape_markdown(str(exc)))
                return
            st.success(f"Created {done.made} spot-checks of the {which}; open them on the Spot-check page.")
            for msg in done.failed[:5]:
                st.warning(escape_markdown(msg))
