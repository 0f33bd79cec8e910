"""Render a trajectory's timeline (one page of steps) and its patch (per-file diff sections).

Every record-derived string is rendered with st.text / st.code / st.json, or escaped with
`escape_markdown` where Streamlit only takes markdown (expander labels, badges).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import streamlit as st

from mira_core.records import Step, StepKind
from mira_core.views import (
    DiffSections,
    StepView,
    TimelinePage,
    escape_badge_label,
    escape_markdown,
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


def _turn(delta: int, n_pages: int) -> None:
    ss.record_step_page = min(max(1, ss.record_step_page + delta), n_pages)


def _folded(v: StepView, *, code: bool) -> None:
    if v.head:
        (st.code(v.head, language=None, wrap_lines=True) if code else st.text(v.head))
    if v.rest:
        with st.expander(f"show {v.hidden_lines:,} more lines", icon=":material/unfold_more:"):
            st.code(v.rest, language=None, wrap_lines=True) if code else st.text(v.rest)


def _step(v: StepView) -> None:
    with st.chat_message(v.kind.value, avatar=AVATARS[v.kind]):
        with st.container(horizontal=True, vertical_alignment="center"):
            st.badge(f"#{v.index} {v.kind.value}", color=KIND_COLORS[v.kind])
            if v.tool_name and v.kind != StepKind.action:
                st.badge(escape_badge_label(v.tool_name, max_chars=60), color="gray", icon=":material/build:")
            if v.exit_code is not None:
                st.badge(f"exit {v.exit_code}", color="green" if v.exit_code == 0 else "red")
            if v.error:
                st.badge("error", color="red", icon=":material/error:")
        if v.kind == StepKind.action:
            label = escape_markdown(v.tool_name or "tool call", max_chars=60)
            if v.args_preview:
                label += " — " + escape_markdown(v.args_preview, max_chars=90)
            with st.expander(label, icon=":material/build:", expanded=False):
                if v.command is not None:
                    st.code(v.command, language="bash", wrap_lines=True)
                others = {k: a for k, a in (v.tool_args or {}).items() if not (k == "command" and v.command is not None)}
                short, long = split_args(others)
                if short:
                    st.json(short, expanded=2)
                for name, text in long.items():
                    st.caption(escape_markdown(name, max_chars=80))
                    st.code(text, language=None, wrap_lines=True)
            _folded(v, code=False)
        elif v.kind == StepKind.observation:
            _folded(v, code=True)
        else:
            _folded(v, code=False)


def _first_page() -> None:
    ss.record_step_page = 1


def _page_controls(tl: TimelinePage, where: str) -> None:
    with st.container(horizontal=True, vertical_alignment="center"):
        keys = where == "top"  # one set of buttons carries the shortcuts
        st.button("Previous steps", key=f"record_steps_prev_{where}", shortcut="P" if keys else None,
                  disabled=tl.page <= 1, on_click=_turn, args=(-1, tl.n_pages), icon=":material/chevron_left:")
        st.button("Next steps", key=f"record_steps_next_{where}", shortcut="N" if keys else None,
                  disabled=tl.page >= tl.n_pages, on_click=_turn, args=(1, tl.n_pages), icon=":material/chevron_right:")
        last = tl.first + len(tl.items) - 1 if tl.items else 0
        st.caption(f"steps {tl.first:,}–{last:,} of {tl.total:,} · page {tl.page} of {tl.n_pages}")


def render_timeline(steps: Sequence[Step], record_id: str) -> None:
    """Kind/error filters, one page of steps, and paging controls (keyboard N / P, or a page number)."""
    if ss.get("record_steps_of") != record_id:
        ss.record_steps_of = record_id
        ss.record_step_page = 1
    c1, c2, c3 = st.columns([4, 1, 1], vertical_alignment="bottom")
    kinds = c1.multiselect("Show kinds", list(StepKind), format_func=lambda k: k.value, key="record_kinds",
                           placeholder="all kinds", on_change=_first_page)
    errors_only = c2.toggle("Errors only", key="record_errors_only", on_change=_first_page)
    tl = shape_timeline(steps, page=int(ss.get("record_step_page") or 1), kinds=kinds or None, errors_only=errors_only)
    ss.record_step_page = tl.page  # clamped, set before the page-number widget exists in this run
    c3.number_input("Step page", min_value=1, max_value=tl.n_pages, step=1, key="record_step_page")
    _page_controls(tl, "top")
    if not tl.items:
        st.info("No steps match." if steps else "This record has no steps.")
    for v in tl.items:
        _step(v)
    if len(tl.items) > 5:
        _page_controls(tl, "bottom")


def render_diff(sections: DiffSections, patch: str, record_id: str) -> None:
    """The final patch as syntax-highlighted diff sections (from `split_diff`), one expander per file."""
    if not patch.strip():
        st.info("This record has no patch.")
        return
    st.download_button("Download patch", data=patch.encode("utf-8"), file_name=f"{record_id}.patch",
                       mime="text/x-diff", icon=":material/download:", key="record_patch_download")
    if sections.preamble.strip():
        st.code(visible_controls(sections.preamble), language=None, wrap_lines=True)
    many = len(sections.files) > 8
    for i, f in enumerate(sections.files):
        label = f"{escape_markdown(f.path or '(unnamed)', max_chars=150)} · {f.status} · +{f.added} −{f.removed}"
        with st.expander(label, expanded=not many or i < 3, icon=":material/description:"):
            st.code(visible_controls(f.text), language="diff")
