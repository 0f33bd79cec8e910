"""Spot-check review: one item at a time, keyboard-first (0-9 and T for 10, J/K next/previous, S skip).

Every answer is stored at once and is the reviewer's own: several curators can review one spot-check,
each resuming at the first item they have not answered. Review is blind: another reviewer's answer shows
only after you have answered the item yourself.

The answer buttons sit above the evidence, so they never scroll away. The evidence is what the dimension
is judged on: for a trajectory dimension the folded timeline first, then the patch and the issue (the
Record page's components, sent only for the open tab); for an issue/patch dimension the issue and patch.
The item is a fragment: an answer, a move, a tab or an unfolded step reruns it alone, not the whole page.
"""

from __future__ import annotations

import streamlit as st
from ui.common import shortcut_table
from ui.db import current_actor, dimension_names, engine, settings
from ui.issue import render_issue
from ui.steps import lazy_expander, render_diff, render_timeline

from mira_core.errors import MiraError
from mira_core.reliability import record_review
from mira_core.storage import read_conn, write_tx
from mira_core.views import escape_markdown, split_diff
from mira_core.views.spot_check import (
    JudgeLabel,
    SpotCheckItem,
    anchors_for,
    load_spot_check_item,
    load_spot_checks,
)

ss = st.session_state
SCORE_KEYS = {**{i: str(i) for i in range(10)}, 10: "T"}


def _pick() -> None:
    st.title("Spot-checks")
    with read_conn(engine()) as conn:
        checks = load_spot_checks(conn, reviewer=current_actor().user_id)
    if checks.empty:
        st.info("No spot-checks yet: start one from a cell on the Reliability page.")
        st.page_link("screens/reliability.py", label="Reliability", icon=":material/grid_on:")
        return
    for row in checks.itertuples():
        st.page_link("screens/spot_check.py", query_params={"id": row.spot_check_id},
                     label=f"{escape_markdown(str(row.source))} · {row.slot} · {row.mine}/{row.size} answered by you"
                           f" · {_people(row.reviewers)} · {row.done}/{row.size} answered by anyone · {row.status}"
                           f" · by {escape_markdown(str(row.created_by))} {row.created_at:%Y-%m-%d %H:%M}")


def _people(n: int) -> str:
    return f"{n} reviewer{'' if n == 1 else 's'}"


def _answer(sid: str, pos: int, n: int, score: int | None, skipped: bool) -> None:
    """Store the answer for the item at `pos`, then move on (a callback: runs before the rerun)."""
    note = ss.get(f"sc_note_{sid}_{pos}", "")
    st.query_params["id"] = sid  # keep the spot-check in the URL across the rerun (shareable, resumable)
    try:
        with write_tx(engine()) as conn:
            record_review(conn, spot_check_id=sid, position=pos, human_score=score, skipped=skipped, note=note,
                          actor=current_actor())
    except MiraError as exc:  # PermissionDenied, or the spot-check is gone: stay on the item
        st.error(escape_markdown(str(exc)))
        return
    ss[f"sc_pos_{sid}"] = min(pos + 1, n - 1)


def _move(sid: str, pos: int) -> None:
    ss[f"sc_pos_{sid}"] = pos
    st.query_params["id"] = sid


def _judges(student: JudgeLabel | None, teacher: JudgeLabel | None) -> None:
    cols = st.columns(2)
    for col, title, label in ((cols[0], "Student", student), (cols[1], "Teacher", teacher)):
        with col:
            if label is None:
                st.markdown(f"**{title}:** no score")
                continue
            score = "–" if label.score is None else f"{label.score:g}"
            st.markdown(f"**{title}** ({escape_markdown(label.judge, max_chars=80)}): **{score}**/10")
            st.text(label.rationale or "(no rationale)")


def _item(item: SpotCheckItem) -> None:
    """The dimension under review, what it judges, and where the item sits."""
    dim = dimension_names()[item.slot]
    st.title(f"Spot-check · {escape_markdown(item.source)} · {item.slot}")
    st.progress(item.n_answered / max(item.n_items, 1),
                text=f"{item.n_answered} of {item.n_items} answered by you ({escape_markdown(item.reviewer)})")
    st.markdown(f"**{item.slot} · {escape_markdown(dim.name)}**", help=escape_markdown(dim.description) or None)
    if dim.description:
        st.caption(escape_markdown(dim.description, max_chars=500))
    st.caption(f"item {item.position + 1} of {item.n_items} · sampled as {item.stratum} · "
               f"this spot-check drew {item.sampled}")
    st.text(item.title)


def _anchors(slot: str) -> None:
    """The dimension's anchored examples (calibration references), for the scale."""
    try:
        refs = anchors_for(slot, settings().calibration_path)
    except MiraError as exc:
        st.caption(escape_markdown(f"anchors unreadable: {exc}", max_chars=300))
        return
    box = lazy_expander(f"Anchors for {slot} ({len(refs)})", f"sc_anchors_{slot}", icon=":material/straighten:")
    if box is None:  # closed: its examples are not sent, so an answer redraws less
        return
    with box:
        if not refs:
            st.caption("The calibration file has no anchored example for this dimension.")
        for ref in refs:
            st.markdown(f"**{ref.score:g}/10** — {escape_markdown(ref.excerpt)}")
            if ref.rationale:
                st.caption(escape_markdown(ref.rationale))


def _evidence(item: SpotCheckItem) -> None:
    """The record as the dimension needs it; only the open tab is rendered."""
    order = (("Timeline", "Patch", "Issue") if item.evidence == "trajectory" else ("Issue", "Patch", "Timeline"))
    tabs = st.tabs(order, key=f"sc_evidence_{item.evidence}", on_change="rerun")
    bodies = {
        "Timeline": lambda: render_timeline(item.steps, item.record_id, prefix="sc"),
        "Patch": lambda: render_diff(split_diff(item.patch), item.patch, item.record_id, prefix="sc"),
        "Issue": lambda: render_issue(item.full_issue, key="sc_issue"),
    }
    for label, tab in zip(order, tabs, strict=True):
        if tab.open:
            with tab:
                bodies[label]()
    st.page_link("screens/record.py", query_params={"id": item.record_id}, label="open the full record",
                 icon=":material/article:")


def _answer_controls(item: SpotCheckItem) -> None:
    """The stored answer, the note and the score / move / skip buttons."""
    sid, pos, n = item.spot_check_id, item.position, item.n_items
    if item.answered:
        mine = "skipped" if item.skipped else f"{item.human_score}"
        earlier = f" (earlier: {', '.join(item.earlier)})" if item.earlier else ""
        st.caption(f"Your answer: {mine}{earlier}. Answering again keeps the earlier one in the history.")
    st.text_input("Note (optional)", value=item.note, key=f"sc_note_{sid}_{pos}")
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


def _other_reviewers(item: SpotCheckItem) -> None:
    """How many others answered; what they answered only once this reviewer has (blind review)."""
    if item.others_hidden:
        st.caption(f"{_people(item.others_hidden)} answered this item already; their answers show after yours "
                   "(blind review).")
    elif not item.others.empty:
        st.markdown("**Other reviewers' answers**")
        shown = item.others.assign(answer=[("skipped" if r.skipped else f"{int(r.human_score)}")
                                           for r in item.others.itertuples()])
        st.dataframe(shown[["reviewer", "answer", "note", "reviewed_at"]], hide_index=True, key="sc_others")
    elif item.answered:
        st.caption("No other reviewer has answered this item yet.")


def main() -> None:
    """Render the page: the list without `?id=`, else the item where this session is (or the review resumes)."""
    sid = (st.query_params.get("id") or "").strip()
    if not sid:
        _pick()
        return
    st.fragment(_review)(sid)


def _review(sid: str) -> None:
    """The item where this session is (or the review resumes), its answer controls and its evidence."""
    pos_key = f"sc_pos_{sid}"
    try:
        with read_conn(engine()) as conn:
            item = load_spot_check_item(conn, spot_check_id=sid, position=ss.get(pos_key),
                                        reviewer=current_actor().user_id)
    except MiraError as exc:
        st.error(escape_markdown(str(exc)))
        return
    ss.setdefault(pos_key, item.resume_at)
    _item(item)
    _answer_controls(item)
    _other_reviewers(item)
    if item.all_answered:
        st.success("You have answered every item: the agreement shows on the Reliability page.")
    _judges(item.student, item.teacher)
    _anchors(item.slot)
    _evidence(item)
    if not item.reviewers.empty:
        st.caption("By reviewer: " + " · ".join(
            f"{escape_markdown(str(r.reviewer))} {int(r.scored)} scored, {int(r.skipped)} skipped"
            for r in item.reviewers.itertuples()))
    shortcut_table([("0 … 9", "score 0-9"), ("T", "score 10"), ("J", "next item"), ("K", "previous item"),
                    ("S", "skip")])


main()
