"""The Record page's scores panel: the latest score's 15 anchors as bars with rationales, the summary
fields, which run produced it, earlier runs, and a button that scores this record (a one-record job).

Scorer output is untrusted text: rationales, tag and brief go through st.dataframe / st.text /
escaped markdown only. Scores from the simulator say SIMULATED wherever they appear.
"""

from __future__ import annotations

import streamlit as st

from mira_core.errors import MiraError
from mira_core.scoring import jobs
from mira_core.scoring.settings import load_scorer_settings
from mira_core.scoring.worker_process import ensure_worker
from mira_core.storage import scores_repo
from mira_core.storage.engine import read_conn
from mira_core.views import escape_markdown
from mira_core.views.scoring import general_problems, runs_table, score_table, summary
from ui.db import dimension_names, engine, settings


def _slot_names() -> dict[str, str]:
    return {slot: d.name for slot, d in dimension_names().items()}


def _score_button(record_id: str) -> None:
    nonce = st.session_state.setdefault(f"score_record_job_{record_id}", jobs.new_job_id())
    if st.button("Score this record", key=f"score_record_{record_id}", icon=":material/play_arrow:"):
        try:
            # A replayed click (reconnect) finds the same job id and creates nothing new.
            job_id = jobs.start_job(engine(), load_scorer_settings(), record_ids=[record_id],
                                    created_by=settings().curator, job_id=nonce)
            st.session_state[f"score_record_job_{record_id}"] = jobs.new_job_id()
            ensure_worker(engine(), settings().database_url)
        except MiraError as exc:
            st.error(escape_markdown(str(exc)))
        else:
            st.toast(f"job {job_id} queued: follow it on the Scoring page")


def render_record_scores(record_id: str) -> None:
    """Scores of one record (latest first); shows how to get one when there is none."""
    with read_conn(engine()) as conn:
        rows = scores_repo.scores_for_record(conn, record_id, judge_kind="student")
    if not rows:
        st.info("This record has no score yet.")
        _score_button(record_id)
        return
    latest = rows[0]
    head = summary(latest)
    if head.simulated:
        st.warning("**SIMULATED** scores: produced by `mira-curator simulate-scorer`, not by the model.",
                   icon=":material/science:")
    table = score_table(latest, _slot_names())
    st.dataframe(table, hide_index=True, width="stretch", column_config={
        "score": st.column_config.ProgressColumn("score", min_value=0.0, max_value=10.0, format="%.1f"),
        "rationale": st.column_config.TextColumn("rationale", width="large"),
    })
    cols = st.columns(3)
    cols[0].metric("overall", "—" if head.overall is None else str(head.overall))
    cols[1].metric("recommendation", head.recommendation or "—")
    cols[2].metric("complete parse", "yes" if head.complete else "no")
    st.caption("domain tag")
    st.text(head.domain_tag or "—")
    st.caption("brief")
    st.text(head.brief or "—")
    for problem in general_problems(latest):
        st.caption(escape_markdown(problem))
    when = head.created_at.strftime("%Y-%m-%d %H:%M:%S UTC") if head.created_at else "?"
    shortened = f" · shortened ({head.elided_tokens:,} tokens elided)" if head.shortened else ""
    st.caption(escape_markdown(f"{head.judge} · job {head.job_id or '—'} · prompt {head.prompt_version} · {when}{shortened}"))
    with st.expander("Raw output"):
        st.code(head.raw_output, language=None)
    if len(rows) > 1:
        st.caption(f"All {len(rows)} runs (latest first)")
        st.dataframe(runs_table(rows), hide_index=True, width="stretch")
    _score_button(record_id)
