"""The Record page's scores panel.

The latest score's 15 anchors as bars with rationales, the summary fields, which run produced it, earlier
runs, and a button that scores this record (a one-record job).

Scorer output is untrusted text: rationales, tag and brief go through st.dataframe / st.text /
escaped markdown only. Scores from the simulator say SIMULATED wherever they appear.
"""

from __future__ import annotations

import streamlit as st

from mira_core.errors import MiraError
from mira_core.identity import Role
from mira_core.scoring import ensure_worker, load_scorer_settings, new_job_id, start_job
from mira_core.storage import read_conn
from mira_core.views import escape_markdown
from mira_core.views.scoring import RecordScores, ScoreSummary, load_record_scores
from ui.db import current_actor, dimension_names, engine, settings


def _slot_names() -> dict[str, str]:
    return {slot: d.name for slot, d in dimension_names().items()}


def _score_button(record_id: str) -> None:
    nonce = st.session_state.setdefault(f"score_record_job_{record_id}", new_job_id())
    actor = current_actor()
    if st.button("Score this record", key=f"score_record_{record_id}", icon=":material/play_arrow:",
                 disabled=not actor.can(Role.curator)):
        try:
            # A replayed click (reconnect) finds the same job id and creates nothing new.
            job_id = start_job(engine(), load_scorer_settings(), actor=actor, record_ids=[record_id],
                               job_id=nonce)
            st.session_state[f"score_record_job_{record_id}"] = new_job_id()
            ensure_worker(engine(), settings().database_url)
        except MiraError as exc:
            st.error(escape_markdown(str(exc)))
        else:
            st.toast(f"job {job_id} queued: follow it on the Scoring page")


def _headline(head: ScoreSummary) -> None:
    """Overall, recommendation, completeness, domain tag and brief (plain text: it is the scorer's output)."""
    cols = st.columns(3)
    cols[0].metric("overall", "—" if head.overall is None else str(head.overall))
    cols[1].metric("recommendation", head.recommendation or "—")
    cols[2].metric("complete parse", "yes" if head.complete else "no")
    st.caption("domain tag")
    st.text(head.domain_tag or "—")
    st.caption("brief")
    st.text(head.brief or "—")


def _render(got: RecordScores, head: ScoreSummary) -> None:
    if head.simulated:
        st.warning("**SIMULATED** scores: produced by `mira-curator simulate-scorer`, not by the model.",
                   icon=":material/science:")
    st.dataframe(got.anchors, hide_index=True, width="stretch", column_config={
        "score": st.column_config.ProgressColumn("score", min_value=0.0, max_value=10.0, format="%.1f"),
        "rationale": st.column_config.TextColumn("rationale", width="large"),
    })
    _headline(head)
    for problem in got.problems:
        st.caption(escape_markdown(problem))
    st.caption(escape_markdown(head.provenance))
    with st.expander("Raw output"):
        st.code(head.raw_output, language=None)
    if len(got.runs) > 1:
        st.caption(f"All {len(got.runs)} runs (latest first)")
        st.dataframe(got.runs, hide_index=True, width="stretch")


def render_record_scores(record_id: str) -> None:
    """Scores of one record (latest first); shows how to get one when there is none."""
    with read_conn(engine()) as conn:
        got = load_record_scores(conn, record_id, slot_names=_slot_names())
    if got.latest is None:
        st.info("This record has no score yet.")
    else:
        _render(got, got.latest)
    _score_button(record_id)
