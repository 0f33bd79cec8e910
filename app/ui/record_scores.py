"""The Record page's scores panel.

Per dimension the latest student score (bars) beside the teacher's and the human spot-check answers the
viewer may see (blind review), masked dimensions greyed; then the summary fields, which run produced it,
earlier runs, and a button that scores this record (a one-record job). While a job has yet to score the
record, the panel is a fragment that polls, so the new score appears without a reload.

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
from mira_core.views.record_scores import ScoresTab, job_in_flight, load_scores_tab
from mira_core.views.scoring import ScoreSummary
from ui.db import current_actor, dimension_names, engine, settings
from ui.dimension_legend import dimension_help, render_dimension_legend
from ui.record_judgements import grey_masked

POLL_SECONDS = 2.0
SHOWN = ["slot", "dimension", "score", "teacher", "human", "mask", "rationale", "problem"]


def _slot_names() -> dict[str, str]:
    return {slot: d.name for slot, d in dimension_names().items()}


def _score_button(record_id: str, in_flight: str | None) -> None:
    nonce = st.session_state.setdefault(f"score_record_job_{record_id}", new_job_id())
    actor = current_actor()
    if st.button("Score this record", key=f"score_record_{record_id}", icon=":material/play_arrow:",
                 disabled=not actor.can(Role.curator) or in_flight is not None):
        try:
            # A replayed click (reconnect) finds the same job id and creates nothing new.
            start_job(engine(), load_scorer_settings(), actor=actor, record_ids=[record_id], job_id=nonce)
            st.session_state[f"score_record_job_{record_id}"] = new_job_id()
            ensure_worker(engine(), settings().database_url)
        except MiraError as exc:
            st.error(escape_markdown(str(exc)))
        else:
            st.rerun()  # the whole page again: the panel now polls until the job has scored the record


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


def _table(got: ScoresTab, record_id: str) -> None:
    one_decimal = st.column_config.NumberColumn(format="%.1f")
    st.dataframe(grey_masked(got.table[SHOWN], got.table.masked), hide_index=True, width="stretch",
                 key=f"scores_{record_id}", column_config={
        "dimension": st.column_config.TextColumn("dimension", help=dimension_help()),
        "score": st.column_config.ProgressColumn("student", min_value=0.0, max_value=10.0, format="%.1f"),
        "teacher": one_decimal,
        "human": st.column_config.TextColumn("human", help="Spot-check answers (score and reviewer)"),
        "rationale": st.column_config.TextColumn("rationale", width="large"),
    })
    if got.hidden_human:
        n = got.hidden_human
        st.caption(f"{n} spot-check answer{'' if n == 1 else 's'} held back: you have not answered "
                   f"{'that item' if n == 1 else 'those items'} yourself yet (blind review).")
    render_dimension_legend(key=f"scores_legend_{record_id}")


def _render(got: ScoresTab, head: ScoreSummary) -> None:
    if head.simulated:
        st.warning("**SIMULATED** scores: produced by `mira-curator simulate-scorer`, not by the model.",
                   icon=":material/science:")
    _headline(head)
    for problem in got.scores.problems:
        st.caption(escape_markdown(problem))
    st.caption(escape_markdown(head.provenance))
    with st.expander("Raw output"):
        st.code(head.raw_output, language=None)
    if len(got.scores.runs) > 1:
        st.caption(f"All {len(got.scores.runs)} runs (latest first)")
        st.dataframe(got.scores.runs, hide_index=True, width="stretch")


def _panel(record_id: str, polling: bool) -> None:
    """The panel's body; `polling` says whether this fragment was started to poll for a job."""
    with read_conn(engine()) as conn:
        got = load_scores_tab(conn, record_id, viewer=current_actor().user_id, slot_names=_slot_names())
    if polling and got.job_in_flight is None:
        st.rerun()  # the job has scored the record: one full run shows it and stops the polling
    if got.job_in_flight:
        st.info(f"Scoring job {got.job_in_flight} has yet to score this record: the score appears here when it "
                "does.", icon=":material/hourglass_top:")
    if got.scores.latest is None:
        st.info("This record has no score yet.")
    _table(got, record_id)
    if got.scores.latest is not None:
        _render(got, got.scores.latest)
    _score_button(record_id, got.job_in_flight)


def render_record_scores(record_id: str) -> None:
    """Scores of one record (latest first); polls every POLL_SECONDS while a job has yet to score it."""
    try:
        with read_conn(engine()) as conn:
            polling = job_in_flight(conn, record_id) is not None
    except MiraError as exc:
        st.error(escape_markdown(str(exc)))
        return
    st.fragment(_panel, run_every=POLL_SECONDS if polling else None)(record_id, polling)
