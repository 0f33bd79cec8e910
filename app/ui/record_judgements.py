"""The Record page's per-dimension scores: student and teacher side by side, masked dimensions greyed.

Masked dimensions stay visible (the scorer still emits them) but are greyed with the reason, because
the active mask keeps them out of every aggregate.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st
from pandas.io.formats.style import Styler

from mira_core.errors import MiraError
from mira_core.storage import read_conn
from mira_core.views import escape_markdown
from mira_core.views.record_judgements import load_record_judgements
from ui.db import dimension_names, engine
from ui.dimension_legend import dimension_help, render_dimension_legend


def grey_masked(table: pd.DataFrame, masked: pd.Series) -> Styler:
    """The table with masked dimensions' rows in grey (they stay visible but count in no aggregate)."""
    styled = table.style.apply(lambda row: ["color: #9e9e9e" if masked[row.name] else "" for _ in row], axis=1)
    return styled.format(precision=1, na_rep="–")


def render_record_judgements(record_id: str, *, teacher: str | None = None) -> None:
    """Scores per dimension with the mask state, then both rationales per dimension in expanders."""
    try:
        with read_conn(engine()) as conn:
            got = load_record_judgements(conn, record_id=record_id, teacher=teacher)
    except MiraError as exc:
        st.error(escape_markdown(str(exc)))
        return
    if not got.has_scores:
        st.caption("No student score or teacher label for this record yet.")
        return
    dims = dimension_names()
    df = got.rows
    table = pd.DataFrame({
        "dimension": [f"{s} · {dims[s].name}" for s in df.slot],
        "student": df.student, "teacher": df.teacher,
        "mask": ["masked: " + r if m else "" for m, r in zip(df.masked, df.mask_reason, strict=True)],
    })
    one_decimal = st.column_config.NumberColumn(format="%.1f")
    st.dataframe(grey_masked(table, df.masked), hide_index=True, key=f"judgements_{record_id}",
                 column_config={"student": one_decimal, "teacher": one_decimal,
                                "dimension": st.column_config.TextColumn("dimension", help=dimension_help())})
    render_dimension_legend(key=f"judgements_legend_{record_id}")
    for row in df.itertuples():
        label = f"{row.slot} · {dims[row.slot].name}" + (" (masked)" if row.masked else "")
        with st.expander(escape_markdown(label, max_chars=120)):
            left, right = st.columns(2)
            left.markdown("**Student**")
            left.text(row.student_rationale or "(no rationale)")
            right.markdown("**Teacher**")
            right.text(row.teacher_rationale or "(no teacher label)")
