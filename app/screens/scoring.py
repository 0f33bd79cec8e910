"""Scoring: endpoint settings, start a job over the Browse filter (or everything), live job progress.

Jobs run in a worker process (`mira-curator worker`), never in this script: reruns and closed tabs do
not stop or duplicate them. The page only writes job rows and reads progress. Every write passes the
acting person; the core checks the role (buttons a role may not use are only greyed out here as a hint).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st
from ui.common import current_params, show_problems
from ui.db import current_actor, engine, settings

from mira_core.errors import MiraError
from mira_core.identity import Role
from mira_core.records import Outcome
from mira_core.scoring import (
    JobProgress,
    ModelInfo,
    ScorerSettings,
    api_key_source,
    cancel_job,
    check_connection,
    checked_settings,
    config_path,
    confirm_job_endpoint,
    ensure_worker,
    env_overrides,
    load_scorer_settings,
    new_job_id,
    pause_job,
    probe_endpoints,
    requeue_failed,
    requeue_partial,
    resume_job,
    save_scorer_settings,
    start_job,
    worker_for_open_jobs,
    worker_log_path,
)
from mira_core.storage import read_conn
from mira_core.views import escape_markdown, view_from_params
from mira_core.views.scoring import (
    JobsPanel,
    ScoreChoice,
    ScoreTarget,
    ScoringChoices,
    count_matching,
    current_run,
    endpoint_rows,
    format_duration,
    key_withheld,
    load_jobs_panel,
    load_partial_items,
    load_scoring_choices,
    may_cancel,
    requeueable,
)

ss = st.session_state
ss.setdefault("scoring_autostart", settings().worker_autostart)
ss.setdefault("scoring_next_job", new_job_id())

st.title("Scoring")
try:
    scorer_settings = load_scorer_settings()
except MiraError as exc:
    st.error(escape_markdown(str(exc)))
    st.stop()


def _start_worker_if_wanted() -> None:
    if not ss.scoring_autostart:
        return
    pid = ensure_worker(engine(), settings().database_url)
    if pid:
        st.toast(f"started a scoring worker (pid {pid})")


def _settings_form(current: ScorerSettings) -> None:
    with st.expander("Endpoint settings", icon=":material/settings:"):
        with st.form("scoring_settings"):
            c1, c2 = st.columns(2)
            values = {
                "base_url": c1.text_input("Base URL", current.base_url).strip(),
                "model": c2.text_input("Model", current.model).strip(),
                "temperature": c1.number_input("Temperature", 0.0, 2.0, current.temperature, 0.05),
                "top_p": c2.number_input("top_p", 0.01, 1.0, current.top_p, 0.01),
                "max_tokens": int(c1.number_input("max_tokens", 1, 65536, current.max_tokens)),
                "max_model_len": int(c2.number_input("max_model_len", 1024, 1_048_576, current.max_model_len)),
                "concurrency": int(c1.number_input("Concurrency (requests in flight per endpoint)", 1, 4096,
                                                   current.concurrency)),
                "request_timeout": float(c2.number_input("Request timeout (s)", 1.0, 3600.0, current.request_timeout)),
                "replicas": st.text_area(
                    "Replicas: more Base URLs serving the same model, one per line", "\n".join(current.replicas),
                    help="Each request goes to the endpoint with the fewest requests in flight; an endpoint "
                         "that stops answering is left out and probed again, the others carry on."),
            }
            admin = current_actor().can(Role.admin)
            hint = None if admin else "Endpoint settings are changed and tested by an admin."
            with st.container(horizontal=True):
                saved = st.form_submit_button("Save settings", disabled=not admin, help=hint)
                tested = st.form_submit_button("Test connection", disabled=not admin, help=hint)
        st.caption(f"API key: {escape_markdown(api_key_source()[1])}. It is never shown, stored in the "
                   "database or written to logs, and is sent only to the saved Base URL (or one an admin "
                   "confirmed for a job).")
        overrides = env_overrides()
        st.caption(f"Saved to {escape_markdown(str(config_path()))}; "
                   + (escape_markdown(", ".join(f"{v} overrides {k}" for k, v in overrides.items())) + "."
                      if overrides else "no `MIRA_SCORER_*` environment variable overrides it."))
    if saved or tested:
        try:
            new = checked_settings({**current.public_dict(), **values})
            if tested:
                _show_connection(new.model_copy(update={"api_key": current.api_key}), current.base_url)
            else:
                _save(current, new)
        except (OSError, MiraError) as exc:
            st.error(escape_markdown(f"settings not {'tested' if tested else 'saved'}: {exc}"))


def _save(current: ScorerSettings, new: ScorerSettings) -> None:
    result = save_scorer_settings(engine(), new, actor=current_actor())
    what = f" ({', '.join(result.changed)} changed)" if result.changed else " (nothing changed)"
    st.success(f"Settings saved{what}; new jobs use them (running jobs keep the settings they started with).")
    overrides = env_overrides()
    for name in [f for f in result.changed if f in overrides]:
        st.warning(escape_markdown(
            f"{name}: saved to the file, but the environment variable {overrides[name]} overrides it, so jobs "
            f"still use {getattr(current, name)!r}. Unset {overrides[name]} (and restart) for the saved value "
            "to count."), icon=":material/warning:")


def _show_connection(candidate: ScorerSettings, trusted_url: str) -> None:
    check = check_connection(candidate, trusted_url)
    where = escape_markdown(candidate.base_url)
    key = "" if check.key_sent or not candidate.api_key else (
        " The API key was not sent: this is not the saved Base URL (save it first).")
    if check.info is None:
        st.error(f"{where}/models did not answer with a model list.{key}")
        return
    mml = f"max_model_len {check.info.max_model_len:,}" if check.info.max_model_len else "no max_model_len reported"
    st.success(f"{where} serves {escape_markdown(check.info.id)} ({mml}).{key}")


def _target(choices: ScoringChoices) -> ScoreTarget:
    """The "choose…" form: sources, outcomes, and whether to skip what is already scored."""
    c1, c2 = st.columns(2)
    sources = c1.multiselect("Sources (none: all)", choices.sources, key="scoring_sources")
    outcomes = c2.multiselect("Outcomes (none: all)", list(Outcome), format_func=lambda o: o.value,
                              key="scoring_outcomes")
    unscored = c1.checkbox("Only records without a complete score", key="scoring_unscored")
    not_current = c2.checkbox(f"Only records not scored by the current model + prompt "
                              f"({escape_markdown(choices.current.judges[0])}, prompt {choices.current.prompt_version})",
                              key="scoring_not_current")
    return ScoreTarget(tuple(sources), tuple(outcomes), unscored, not_current)


def _start_section(current: ScorerSettings) -> None:
    parsed = view_from_params(current_params())
    show_problems(parsed.problems)
    with read_conn(engine()) as conn:
        choices = load_scoring_choices(conn, parsed.view.filter, current_run(settings(), current))
    choice: ScoreChoice = st.radio("Score", choices.options, format_func=choices.label, key="scoring_selection",
                                   horizontal=True)
    target = _target(choices) if choice == "choose" else None
    record_filter = choices.record_filter(choice, target)
    if choice == "choose":
        with read_conn(engine()) as conn:
            st.caption(f"{count_matching(conn, record_filter):,} records match.")
    st.toggle("Start a worker if none is running", key="scoring_autostart")
    actor = current_actor()
    if st.button("Start scoring job", type="primary", icon=":material/play_arrow:",
                 disabled=not actor.can(Role.curator)):
        try:
            with st.spinner("freezing the selection…"):
                # The id is chosen before the click is handled, so a replayed click returns the same job.
                job_id = start_job(engine(), current, actor=actor, record_filter=record_filter,
                                   job_id=ss.scoring_next_job)
        except MiraError as exc:
            st.error(escape_markdown(str(exc)))
            return
        ss.scoring_next_job = new_job_id()
        _follow(job_id)  # the panel below shows the new job, and the URL names it
        st.toast(f"job {job_id} queued")
        _start_worker_if_wanted()


def _follow(job_id: str) -> None:
    ss.scoring_job = job_id
    st.query_params["job"] = job_id


@st.cache_data(ttl=15, show_spinner=False, max_entries=4)
def _endpoints(urls: tuple[str, ...], model: str) -> dict[str, ModelInfo | None]:
    return probe_endpoints(load_scorer_settings().model_copy(
        update={"base_url": urls[0], "replicas": list(urls[1:]), "model": model}))


def _endpoint_line(current: ScorerSettings) -> None:
    infos = _endpoints(tuple(current.endpoints), current.model)
    answering = [(url, info) for url, info in infos.items() if info is not None]
    silent = [escape_markdown(url) for url, info in infos.items() if info is None]
    if not answering:
        st.warning(f"The endpoint{'s' if len(silent) > 1 else ''} {', '.join(silent)} "
                   f"{'do' if len(silent) > 1 else 'does'} not answer: jobs will wait (paused) until one does.",
                   icon=":material/cloud_off:")
        return
    url, info = answering[0]
    where = escape_markdown(url) + (f" and {len(answering) - 1} more" if len(answering) > 1 else "")
    if info.simulated:
        st.warning(f"The endpoint {where} is the **SIMULATED** scorer ({escape_markdown(info.id)}): its "
                   "scores come from prompt features, not from the model.", icon=":material/science:")
    else:
        st.caption(f"Endpoint {where} serves {escape_markdown(info.id)}"
                   + (f" (max_model_len {info.max_model_len:,})." if info.max_model_len else "."))
    if silent:
        st.warning(f"Not answering: {', '.join(silent)}. Jobs go on with the others.", icon=":material/cloud_off:")


def _endpoints_table(panel: JobsPanel) -> None:
    st.caption("Endpoints (as the running workers see them)")
    st.dataframe(endpoint_rows(panel.worker, scorer_settings.endpoints), hide_index=True, width="stretch",
                 key="scoring_endpoints", column_config={
                     "answers/s": st.column_config.NumberColumn("answers/s", format="%.2f")})


def _worker_line(panel: JobsPanel) -> None:
    state = panel.worker
    if not state.alive and ss.scoring_autostart and (pid := worker_for_open_jobs(engine(), settings().database_url)):
        st.toast(f"started a scoring worker for the open jobs (pid {pid})")
    if state.alive:
        more = f" and {state.count - 1} more" if state.count > 1 else ""
        st.caption(f"Worker running (pid {state.pid} on {escape_markdown(state.host or '')}, "
                   f"heartbeat {state.heartbeat_age or 0:.0f} s ago){more}.")
    else:
        with st.container(horizontal=True):
            st.warning("No scoring worker is running: queued jobs wait until one starts.", icon=":material/pause:")
            if st.button("Start worker", key="scoring_start_worker"):
                pid = ensure_worker(engine(), settings().database_url)
                st.toast(f"started a scoring worker (pid {pid})" if pid else "a worker is already running")
        st.caption(f"Worker output: {escape_markdown(str(worker_log_path(settings().database_url)))}")


def _control(action: str, job_id: str) -> None:
    actor = current_actor()
    try:
        if action == "pause":
            pause_job(engine(), job_id, actor=actor)
        elif action == "resume":
            resume_job(engine(), job_id, actor=actor)
            _start_worker_if_wanted()
        elif action == "cancel":
            cancel_job(engine(), job_id, actor=actor)
        elif action == "confirm":
            confirm_job_endpoint(engine(), job_id, actor=actor)
        elif action == "requeue":
            n = requeue_failed(engine(), job_id, actor=actor)
            st.toast(f"{n} items re-queued")
            _start_worker_if_wanted()
        elif action == "requeue_partial":
            n = requeue_partial(engine(), job_id, actor=actor)
            st.toast(f"{n} partial items re-queued")
            _start_worker_if_wanted()
    except MiraError as exc:
        ss.scoring_error = str(exc)


def _job_detail(p: JobProgress) -> None:
    """The chosen job's counters, warnings and control buttons."""
    cols = st.columns(6)
    cols[0].metric("done", f"{p.done:,}")
    cols[1].metric("partial", f"{p.partial:,}",
                   help="Scored, but some dimensions were missing or invalid: Re-queue partial scores them again.")
    cols[2].metric("failed / too long / incomplete", f"{p.failed:,}")
    cols[3].metric("remaining", f"{p.remaining:,}")
    cols[4].metric("throughput", "paused" if p.status == "paused" else f"{p.throughput_per_s:.1f}/s",
                   help="Items finished per second over the last minute.")
    cols[5].metric("ETA", format_duration(p.eta_seconds))
    st.caption(f"Job {p.job_id} · {escape_markdown(p.label)} · {p.status}"
               + (f" ({escape_markdown(p.pause_reason)})" if p.pause_reason else ""))
    if p.simulated:
        st.warning("**SIMULATED** scores: this job runs against `mira-curator simulate-scorer`, not the model.",
                   icon=":material/science:")
    if p.last_event:
        st.caption(escape_markdown(p.last_event))
    if p.created_by:
        st.caption(f"Started by {escape_markdown(p.created_by)}.")
    _endpoint_trust(p)
    actor = current_actor()
    curator, cancel_ok = actor.can(Role.curator), may_cancel(actor, p)
    with st.container(horizontal=True):
        st.button("Pause", key="scoring_pause", disabled=not curator or p.status not in ("queued", "running"),
                  on_click=_control, args=("pause", p.job_id))
        st.button("Resume", key="scoring_resume", disabled=not curator or p.status != "paused",
                  on_click=_control, args=("resume", p.job_id))
        st.button("Cancel", key="scoring_cancel", disabled=not cancel_ok or p.status in ("cancelled", "done"),
                  on_click=_control, args=("cancel", p.job_id),
                  help=None if cancel_ok else f"Only an admin cancels {escape_markdown(p.created_by)}'s job.")
        n = requeueable(p)
        st.button(f"Re-queue failed ({n})", key="scoring_requeue", disabled=not curator or not n,
                  on_click=_control, args=("requeue", p.job_id))
        st.button(f"Re-queue partial ({p.partial})", key="scoring_requeue_partial",
                  disabled=not curator or not p.partial, on_click=_control, args=("requeue_partial", p.job_id),
                  help="Score again the records whose answer missed or garbled dimensions.")


def _endpoint_trust(p: JobProgress) -> None:
    """Say when the job's Base URL does not get the API key, and let an admin confirm it."""
    where = escape_markdown(p.base_url)
    if p.endpoint_confirmed_by:
        st.caption(f"Endpoint {where} confirmed for this job by {escape_markdown(p.endpoint_confirmed_by)}.")
    if not key_withheld(p, scorer_settings.base_url):
        return
    with st.container(horizontal=True):
        st.warning(f"This job's Base URL {where} is not the saved one ({escape_markdown(scorer_settings.base_url)}): "
                   "the API key is not sent to it until an admin confirms it.", icon=":material/key_off:")
        admin = current_actor().can(Role.admin)
        st.button("Confirm endpoint", key="scoring_confirm", disabled=not admin, on_click=_control,
                  args=("confirm", p.job_id), help=None if admin else "An admin confirms a job's endpoint.")


@st.fragment(run_every=2.0)
def _jobs_panel() -> None:
    panel = load_jobs_panel(engine(), limit=20)
    _worker_line(panel)
    _endpoints_table(panel)
    if not panel.progress:
        st.info("No scoring jobs yet.")
        return
    st.dataframe(panel.table, hide_index=True, width="stretch", column_config={
        "progress": st.column_config.ProgressColumn("progress", min_value=0.0, max_value=1.0, format="percent"),
        "created": st.column_config.DatetimeColumn("created", format="YYYY-MM-DD HH:mm:ss"),
    })
    ids = [p.job_id for p in panel.progress]
    wanted = ss.get("scoring_job") or st.query_params.get("job")
    if wanted not in ids:  # a job from the URL that is not among the recent ones, or none yet: the newest
        wanted = ids[0]
    ss.scoring_job = wanted
    job_id = st.selectbox("Job", ids, key="scoring_job", format_func=lambda j: f"{j} · {panel.job(j).label}",
                          on_change=lambda: _follow(ss.scoring_job))
    _job_detail(panel.job(job_id))
    if ss.get("scoring_error"):
        st.error(escape_markdown(ss.pop("scoring_error")))
    if (errors := panel.job(job_id).errors):
        st.caption("Errors by kind")
        st.dataframe(pd.DataFrame([e.model_dump() for e in errors]), hide_index=True, width="stretch")
    if panel.job(job_id).partial:
        st.caption("Partial answers (most recent first): scored, but these dimensions were missing or invalid")
        st.dataframe(load_partial_items(engine(), job_id), hide_index=True, width="stretch", key="scoring_partial")


_endpoint_line(scorer_settings)
_settings_form(scorer_settings)
_start_section(scorer_settings)
st.divider()
_jobs_panel()
