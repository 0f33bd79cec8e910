"""The Reliability page's way into one cell, and what it shows of the cell's largest disagreements.

A click on the heatmap opens the cell; the disagreements carry both judges' rationales side by side
(shortened in the table, whole under it for the chosen row).
"""

from __future__ import annotations

import html

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from mira_core.dimensions import SLOTS
from mira_core.views.disagreements import shorten
from mira_core.views.reliability import HeatmapGrid

ss = st.session_state


def click_targets(grid: HeatmapGrid) -> go.Scatter:
    """Invisible square markers on the heatmap's cells, which carry its clicks.

    Plotly reports clicks on scatter points, not on heatmap cells; the markers also carry the same hover text.
    """
    xs = [slot for _ in grid.rows for slot in grid.cols]
    ys = [html.escape(r) for r in grid.rows for _ in grid.cols]
    hover = [h for row in grid.hover for h in row]
    return go.Scatter(x=xs, y=ys, mode="markers", customdata=hover, hovertemplate="%{customdata}<extra></extra>",
                      marker={"symbol": "square", "size": 30, "color": "rgba(0,0,0,0)"}, name="cells")


def apply_heatmap_click(event: object, rows: list[str]) -> None:
    """Point the cell selectboxes at a clicked heatmap cell (before they are drawn in this run).

    A selection stays in the chart's state across reruns, so only a new click moves the selectboxes: choosing
    another cell in them afterwards is not undone by the old click.
    """
    points = getattr(getattr(event, "selection", None), "points", None) or []
    if not points:
        return
    x, y = points[0].get("x"), points[0].get("y")
    by_label = {html.escape(r): r for r in rows}  # the chart's row labels are escaped source names
    if x not in SLOTS or y not in by_label:
        return
    clicked = (by_label[y], str(x))
    if ss.get("rel_heat_clicked") == clicked:
        return
    ss["rel_heat_clicked"] = clicked
    ss["rel_cell_source"], ss["rel_cell_slot"] = clicked


def disagreement_table(rows: pd.DataFrame) -> None:
    """The rows with shortened rationales; the chosen row's whole rationales side by side below."""
    shown = rows.assign(student_rationale=rows.student_rationale.map(shorten),
                        teacher_rationale=rows.teacher_rationale.map(shorten))
    shown.insert(0, "open", ["record?id=" + rid for rid in shown.record_id])
    event = st.dataframe(shown, hide_index=True, key="rel_top", on_select="rerun", selection_mode="single-row",
                         column_config={
                             "open": st.column_config.LinkColumn("record", display_text="open"),
                             "student_rationale": st.column_config.TextColumn("student's rationale", width="large"),
                             "teacher_rationale": st.column_config.TextColumn("teacher's rationale", width="large"),
                         })
    picked = list(event.selection.rows) if event is not None else []
    if not picked:
        st.caption("Select a row to read both rationales in full.")
        return
    row = rows.iloc[picked[0]]
    left, right = st.columns(2)
    with left.container(border=True, key="rel_student_rationale"):
        st.markdown(f"**Student: {row.student:g}**")
        st.text(row.student_rationale or "(no rationale)")
    with right.container(border=True, key="rel_teacher_rationale"):
        st.markdown(f"**Teacher: {row.teacher:g}**")
        st.text(row.teacher_rationale or "(no rationale)")
