"""What each dimension judges, beside every table of scores (A1/A4 and A14/A15 have near-identical names)."""

from __future__ import annotations

import streamlit as st

from mira_core.views import escape_markdown
from ui.db import dimension_names


def dimension_help() -> str:
    """A column header's tooltip pointing at the legend."""
    return "What each dimension judges: see “What the dimensions judge” under the table."


def render_dimension_legend(slots: list[str] | None = None, *, key: str) -> None:
    """A collapsed legend: slot · name — description, for `slots` (all 15 by default)."""
    dims = dimension_names()
    with st.expander("What the dimensions judge", icon=":material/help:", key=key):
        lines = [f"- **{slot} · {escape_markdown(dims[slot].name)}** — {escape_markdown(dims[slot].description)}"
                 for slot in (slots or list(dims))]
        st.markdown("\n".join(lines))
