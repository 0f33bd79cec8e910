"""Render a trajectory's timeline (one page of steps) and its patch (per-file diff sections).

Every record-derived string is rendered with st.text / st.code / st.json, or escaped with
`escape_markdown` where Streamlit only takes markdown (expander labels, badges).

Only what is visible is sent to the browser: a folded observation's rest, a tool call's arguments and a
collapsed file's diff sit in lazy expanders (`on_change="rerun"`) whose body is rendered only once opened,
so a record with huge observations costs one page of heads, not its whole text. The Record and Spot-check
pages both use these; `prefix` keeps their widget keys apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from mira_core.records import Step, StepKind
from mira_core.views import (
    DiffFile,
    DiffSections,
    StepView,
    TimelinePage,
    escape_badge_label,
    escape_markdown,
    fold_text,
    shape_timeline,
    visible_controls,
)
from mira_core.views.timeline import split_args

AVATARS = {
    StepKind.system: ":material/settings:",
    StepKind.user: ":material/person:",
    StepKind.thought: ":material/psychology:",
    StepKind.action: ":material/terminal:",
    StepKind.observation: ":material/output:",
    StepKind.message: ":material/chat:",
}
BadgeColor = Literal["red", "orange", "yellow", "blue", "green", "violet", "gray"]
KIND_COLORS: dict[StepKind, BadgeColor] = {
    StepKind.system: "gray",
    StepKind.user: "blue",
    StepKind.thought: "violet",
    StepKind.action: "orange",
    StepKind.observation: "green",
    StepKind.message: "blue",
}
ss = st.session_state


DIFF_FOLD_LINES = 400
DIFF_FOLD_CHARS = 40_000


def _turn(prefix: str, delta: int, n_pages: int) -> None:
    key = f"{prefix}_step_page"
    ss[key] = min(max(1, ss[key] + delta), n_pages)


def lazy_expander(label: str, key: str, *, icon: str, expanded: bool = False) -> DeltaGenerator | None:
    """An expander whose body the caller renders only when it is open (the browser gets nothing before)."""
    box = st.expander(label, expanded=expanded, key=key, icon=icon, on_change="rerun")
    return box if box.open else None


def _show(text: str, *, code: bool) -> None:
    if code:
        st.code(text, language=None, wrap_lines=True)
    else:
        st.text(text)


def _folded(v: StepView, key: str, *, code: bool) -> None:
    if v.head:
        _show(v.head, code=code)
    if v.rest and (box := lazy_expander(f"show {v.hidden_lines:,} more lines", f"{key}_more", icon=":material/unfold_more:")):
        with box:
            _show(v.rest, code=code)


def _call(v: StepView, key: str) -> None:
    """A tool call: its command and arguments, sent only when the curator opens it."""
    label = escape_markdown(v.tool_name or "tool call", max_chars=60)
    if v.args_preview:
        label += " — " + escape_markdown(v.args_preview, max_chars=90)
    box = lazy_expander(label, f"{key}_call", icon=":material/build:")
    if box is None:
        return
    with box:
        if v.command is not None:
            st.code(v.command, language="bash", wrap_lines=True)
        others = {k: a for k, a in (v.tool_args or {}).items() if not (k == "command" and v.command is not None)}
        short, long = split_args(others)
        if short:
            st.json(short, expanded=2)
        for name, text in long.items():
            st.caption(escape_markdown(name, max_chars=80))
            st.code(text, language=None, wrap_lines=True)


def _step(v: StepView, key: str) -> None:
    with st.chat_message(v.kind.value, avatar=AVATARS[v.kind]):
        with st.container(horizontal=True, vertical_alignment="center"):
            st.badge(f"#{v.index} {v.kind.value}", color=KIND_COLORS[v.kind])
            if v.tool_name and v.kind != StepKind.action:
                st.badge(escape_badge_label(v.tool_name, max_chars=60), color="gray", icon=":material/build:")
            if v.exit_code is not None:
                st.badge(f"exit {v.exit_code}", color="green" if v.exit_code == 0 else "red")
            if v.error:
                st.badge("error", color="red", icon=":material/error:")
        key = f"{key}_{v.index}"
        if v.kind == StepKind.action:
            _call(v, key)
        _folded(v, key, code=v.kind == StepKind.observation)


def _first_page(prefix: str) -> None:
    ss[f"{prefix}_step_page"] = 1


def _page_controls(tl: TimelinePage, prefix: str, where: str) -> None:
    with st.container(horizontal=True, vertical_alignment="center"):
        keys = where == "top"  # one set of buttons carries the shortcuts
        st.button("Previous steps", key=f"{prefix}_steps_prev_{where}", shortcut="P" if keys else None,
                  disabled=tl.page <= 1, on_click=_turn, args=(prefix, -1, tl.n_pages), icon=":material/chevron_left:")
        st.button("Next steps", key=f"{prefix}_steps_next_{where}", shortcut="N" if keys else None,
                  disabled=tl.page >= tl.n_pages, on_click=_turn, args=(prefix, 1, tl.n_pages),
                  icon=":material/chevron_right:")
        last = tl.first + len(tl.items) - 1 if tl.items else 0
        st.caption(f"steps {tl.first:,}–{last:,} of {tl.total:,} · page {tl.page} of {tl.n_pages}")


def render_timeline(steps: Sequence[Step], record_id: str, *, prefix: str = "record") -> None:
    """Kind/error filters, one page of steps, and paging controls (keyboard N / P, or a page number)."""
    page_key = f"{prefix}_step_page"
    if ss.get(f"{prefix}_steps_of") != record_id:
        ss[f"{prefix}_steps_of"] = record_id
        ss[page_key] = 1
    c1, c2, c3 = st.columns([4, 1, 1], vertical_alignment="bottom")
    kinds = c1.multiselect("Show kinds", list(StepKind), format_func=lambda k: k.value, key=f"{prefix}_kinds",
                           placeholder="all kinds", on_change=_first_page, args=(prefix,))
    errors_only = c2.toggle("Errors only", key=f"{prefix}_errors_only", on_change=_first_page, args=(prefix,))
    tl = shape_timeline(steps, page=int(ss.get(page_key) or 1), kinds=kinds or None, errors_only=errors_only)
    ss[page_key] = tl.page  # clamped, set before the page-number widget exists in this run
    c3.number_input("Step page", min_value=1, max_value=tl.n_pages, step=1, key=page_key)
    _page_controls(tl, prefix, "top")
    if not tl.items:
        st.info("No steps match." if steps else "This record has no steps.")
    for v in tl.items:
        _step(v, f"{prefix}_{record_id}")
    if len(tl.items) > 5:
        _page_controls(tl, prefix, "bottom")


def _diff_file(f: DiffFile, key: str, *, expanded: bool) -> None:
    """One file's diff in a lazy expander; a huge diff shows its head and the rest on request."""
    label = f"{escape_markdown(f.path or '(unnamed)', max_chars=150)} · {f.status} · +{f.added} −{f.removed}"
    box = lazy_expander(label, key, icon=":material/description:", expanded=expanded)
    if box is None:
        return
    with box:
        folded = fold_text(visible_controls(f.text), max_lines=DIFF_FOLD_LINES, max_chars=DIFF_FOLD_CHARS)
        st.code(folded.head, language="diff")
        if folded.rest and (more := lazy_expander(f"show {folded.hidden_lines:,} more lines", f"{key}_more",
                                          icon=":material/unfold_more:")):
            with more:
                st.code(folded.rest, language="diff")


def render_diff(sections: DiffSections, patch: str, record_id: str, *, prefix: str = "record") -> None:
    """The final patch as syntax-highlighted diff sections (from `split_diff`), one expander per file."""
    if not patch.strip():
        st.info("This record has no patch.")
        return
    st.download_button("Download patch", data=patch.encode("utf-8"), file_name=f"{record_id}.patch",
                       mime="text/x-diff", icon=":material/download:", key=f"{prefix}_patch_download")
    if sections.preamble.strip():
        st.code(visible_controls(sections.preamble), language=None, wrap_lines=True)
    many = len(sections.files) > 8
    for i, f in enumerate(sections.files):
        _diff_file(f, f"{prefix}_{record_id}_file_{i}", expanded=not many or i < 3)
