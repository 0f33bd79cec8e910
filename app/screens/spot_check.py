"""Spot-check review: one item at a time, keyboard-first (0-9 and T for 10, J/K next/previous, S skip).

Every answer is stored at once, so a spot-check can be left and resumed later by anyone; it reopens
at the first item nobody has answered yet.
"""

from __future__ import annotations

import streamlit as st
from ui.common import shortcut_table
from ui.db import dimension_names, engine, settings

from mira_core.errors import MiraError
from mira_core.storage import records_repo, spot_checks_repo
from mira_core.storage.engine import read_conn, write_tx
from mira_core.storage.reliability_repo import label_rationales
from mira_core.views import escape_markdown

ss = st.session_state
ISSUE_CHARS = 4000
SCORE_KEYS = {**{i: str(i) for i in range(10)}, 10: "T"}


def _pick() -> None:
    st.title("Spot-checks")
    with read_conn(engine()) as conn:
        checks = spot_checks_repo.list_spot_checks(conn)
    if checks.empty:
        st.info("No spot-checks yet: start one from a cell on the Reliability page.")
        st.page_link("screens/reliability.py", label="Reliability", icon=":material/grid_on:")
        return
    for row in checks.itertuples():
        st.page_link("screens/spot_check.py", query_params={"id": row.spot_check_id},
                     label=f"{escape_markdown(str(row.source))} · {row.slot} · {row.done}/{row.size} done · "
                           f"{row.status} · by {escape_markdown(str(row.created_by))} {row.created_at:%Y-%m-%d %H:%M}")


def _answer(sid: str, pos: int, n: int, score: int | None, skipped: bool) -> None:
    """Store the answer for the item at `pos`, then move on (a callback: runs before the rerun)."""
    note = ss.get(f"sc_note_{sid}_{pos}", "")
    with write_tx(engine()) as conn:
        spot_checks_repo.record_review(conn, sid, pos, human_score=score, skipped=skipped, note=note,
                                       reviewer=settings().curator)
    ss[f"sc_pos_{sid}"] = min(pos + 1, n - 1)
    st.query_params["id"] = sid  # keep the spot-check in the URL across the rerun (shareable, resumable)


def _move(sid: str, pos: int) -> None:
    ss[f"sc_pos_{sid}"] = pos
    st.query_params["id"] = sid


def _judges(rid: str, slot: str, teacher: str | None, student_judge: str | None) -> None:
    with read_conn(engine()) as conn:
        labels = label_rationales(conn, rid, slot)
    student = labels[(labels.judge_kind == "student") & ((labels.judge == student_judge) if student_judge else True)]
    student = student.head(1)
    teach = labels[(labels.judge_kind == "teacher") & ((labels.judge == teacher) if teacher else True)].head(1)
    cols = st.columns(2)
    for col, title, df in ((cols[0], "Student", student), (cols[1], "Teacher", teach)):
        with col:
            if df.empty:
                st.markdown(f"**{title}:** no score")
                continue
            r = df.iloc[0]
            score = "–" if r.score is None or r.score != r.score else f"{r.score:g}"
            st.markdown(f"**{title}** ({escape_markdown(str(r.judge), max_chars=80)}): **{score}**/10")
            st.text(r.rationale or "(no rationale)")


def main() -> None:
    """Render the page."""
    sid = (st.query_params.get("id") or "").strip()
    if not sid:
        _pick()
        return
    try:
        with read_conn(engine()) as conn:
            check = spot_checks_repo.get_spot_check(conn, sid)
            items = spot_checks_repo.spot_check_items_frame(conn, sid)
    except MiraError as exc:
        st.error(escape_markdown(str(exc)))
        return
    n = len(items)
    answered = items.human_score.notna() | items.skipped
    pos_key = f"sc_pos_{sid}"
    if pos_key not in ss:
        ss[pos_key] = int(answered.idxmin()) if not answered.all() else 0
    pos = max(0, min(int(ss[pos_key]), n - 1))
    item = items.iloc[pos]
    slot = check["slot"]
    dim = dimension_names()[slot]
    st.title(f"Spot-check · {escape_markdown(check['source'])} · {slot}")
    st.progress(int(answered.sum()) / max(n, 1), text=f"{int(answered.sum())} of {n} answered")
    st.markdown(f"**{slot} · {escape_markdown(dim.name)}**")
    if dim.description:
        st.caption(escape_markdown(dim.description, max_chars=500))
    st.caption(f"item {pos + 1} of {n} · sampled as {item.stratum}")
    st.page_link("screens/record.py", query_params={"id": item.record_id}, label="open the full record",
                 icon=":material/article:")
    with read_conn(engine()) as conn:
        issue = records_repo.get_record(conn, item.record_id).issue
    st.text(str(item.title))
    with st.expander("Issue", expanded=True):
        st.text(issue[:ISSUE_CHARS] + ("…" if len(issue) > ISSUE_CHARS else ""))
    _judges(item.record_id, slot, check.get("teacher"), check.get("student_judge"))

    if item.skipped:
        st.caption("This item was skipped.")
    elif item.human_score == item.human_score and item.human_score is not None:
        st.caption(f"Answered {int(item.human_score)} by {escape_markdown(str(item.reviewer))}.")
    st.text_input("Note (optional)", value=str(item.note or ""), key=f"sc_note_{sid}_{pos}")
    with st.container(horizontal=True):
        for score, key in SCORE_KEYS.items():
            st.button(str(score), key=f"sc_score_{score}", shortcut=key, on_click=_answer,
                      args=(sid, pos, n, score, False))
    with st.container(horizontal=True):
        st.button("Previous", key="sc_prev", shortcut="K", disabled=pos == 0, on_click=_move, args=(sid, pos - 1),
                  icon=":material/chevron_left:")
        st.button("Next", key="sc_next", shortcut="J", disabled=pos >= n - 1, on_click=_move, args=(sid, pos + 1),
                  icon=":material/chevron_right:")
        st.button("Skip", key="sc_skip", shortcut="S", on_click=_answer, args=(sid, pos, n, None, True),
                  icon=":material/skip_next:")
    if answered.all():
        st.success("Every item is answered: the agreement shows on the Reliability page.")
    with read_conn(engine()) as conn:
        per_person = spot_checks_repo.reviewer_progress(conn, sid)
    if not per_person.empty:
        st.caption("By reviewer: " + " · ".join(
            f"{escape_markdown(str(r.reviewer))} {int(r.scored)} scored, {int(r.skipped)} skipped"
            for r in per_person.itertuples()))
    shortcut_table([("0 … 9", "score 0-9"), ("T", "score 10"), ("J", "next item"), ("K", "previous item"),
                    ("S", "skip")])


main()
