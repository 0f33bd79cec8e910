"""An issue's text as safe markdown (formatting kept; no HTML, no image load, only http(s) links).

A long issue shows its first part; the whole text is sent only when the curator asks for it. "Plain text"
shows the exact characters (code block), for when the markdown reading hides something.
"""

from __future__ import annotations

import streamlit as st

from mira_core.views import fold_text, visible_controls
from mira_core.views.safe_markdown import safe_markdown

ISSUE_LINES = 120
ISSUE_CHARS = 12_000


def render_issue(text: str, *, key: str) -> None:
    """The issue under `key` (widget keys `{key}_plain` and `{key}_all`)."""
    if not text.strip():
        st.info("(no issue text)")
        return
    head = fold_text(text, max_lines=ISSUE_LINES, max_chars=ISSUE_CHARS)
    with st.container(horizontal=True):
        plain = st.toggle("Plain text", key=f"{key}_plain", help="The exact characters, without markdown")
        whole = bool(head.rest) and st.toggle(f"Whole issue ({head.hidden_lines:,} more lines)", key=f"{key}_all")
    shown = text if whole or not head.rest else head.head
    if plain:
        st.code(visible_controls(shown), language=None, wrap_lines=True)
    else:
        with st.container(key=f"{key}_markdown"):
            st.markdown(safe_markdown(shown))
    if head.rest and not whole:
        st.caption(f"… {head.hidden_lines:,} more lines: switch on “Whole issue” to read them.")
