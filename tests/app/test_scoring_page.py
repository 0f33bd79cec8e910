"""Scoring page and the Record page's scores panel through AppTest (no worker is spawned by these tests)."""

import os
import socket
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from mira_core.identity import Actor, Role
from mira_core.query import RecordFilter
from mira_core.scoring import jobs
from mira_core.scoring.settings import ScorerSettings
from mira_core.scoring.simulator import SimulatorConfig, start_in_thread
from mira_core.scoring.worker import Worker, WorkerOptions
from mira_core.settings import Settings
from mira_core.storage import migrate
from mira_core.storage.engine import make_engine
from mira_core.team import cli_operator
from mira_core.views import escape_markdown

MAIN = str(Path(__file__).resolve().parents[2] / "app" / "main.py")
SECRET = "sk-test-never-shown-123"
OPS = cli_operator("ops")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(autouse=True)
def _scorer_env(tmp_path, monkeypatch):
    monkeypatch.setenv("MIRA_SCORER_CONFIG", str(tmp_path / "scorer.toml"))
    monkeypatch.setenv("MIRA_SCORER_API_KEY", SECRET)
    monkeypatch.setenv("MIRA_SCORER_BASE_URL", f"http://127.0.0.1:{_free_port()}/v1")  # nothing listens


def _page(params: dict | None = None) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=60)
    at.run()
    at.switch_page("screens/scoring.py")
    at.query_params.update(params or {})
    at.session_state["scoring_autostart"] = False  # tests never leave a worker process behind
    at.run()
    assert not at.exception, at.exception
    return at


def _all_text(at: AppTest) -> str:
    parts = [str(e.value) for kind in ("markdown", "caption", "text", "warning", "info", "success", "error")
             for e in getattr(at, kind)]
    parts += [str(t.value) for t in at.text_input]
    return "\n".join(parts)


def _table_with(at: AppTest, column: str):
    """The page's dataframe that has `column` (the jobs table has "status", the endpoints table "endpoint")."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _jobs(at: AppTest):
    return _table_with(at, "status")


def _endpoints(at: AppTest):
    return _table_with(at, "endpoint")


def test_start_a_job_for_the_browse_filter_and_see_it_listed(corpus, monkeypatch):
    monkeypatch.setenv("MIRA_CURATOR", "ann@example.org")  # local mode: the local user, as admin
    at = _page({"source": "swe_qa"})
    radio = at.radio(key="scoring_selection")
    assert radio.options[0].startswith("current Browse filter (3 records)")
    at.button[[b.label for b in at.button].index("Start scoring job")].click().run()
    assert not at.exception, at.exception
    table = _jobs(at)
    assert list(table["total"]) == [3] and list(table["status"]) == ["queued"]
    assert "sources=['swe_qa']" in table["label"][0] and list(table["started by"]) == ["ann@example.org"]
    at.button(key="scoring_pause").click().run()
    assert list(_jobs(at)["status"]) == ["paused (user)"]
    assert escape_markdown("paused by ann@example.org") in [c.value for c in at.caption]
    assert any("No scoring worker is running" in w.value for w in at.warning)
    assert any("does not answer: jobs will wait" in w.value for w in at.warning)


def test_the_page_says_when_the_endpoint_is_the_simulator(corpus, monkeypatch):
    server, _ = start_in_thread(SimulatorConfig(latency=0.0))
    try:
        monkeypatch.setenv("MIRA_SCORER_BASE_URL", server.base_url)
        at = _page()
    finally:
        server.shutdown()
        server.server_close()
    assert any("is the **SIMULATED** scorer" in w.value for w in at.warning)


def test_api_key_is_never_displayed_only_its_source(corpus):
    at = _page()
    text = _all_text(at)
    assert SECRET not in text
    assert "environment variable MIRA\\_SCORER\\_API\\_KEY" in text


def test_settings_form_saves_without_the_key(corpus, tmp_path):
    at = _page()
    at.text_input[0].set_value("http://127.0.0.1:9/v1")
    at.button[[b.label for b in at.button].index("Save settings")].click().run()
    assert not at.exception, at.exception
    saved = (tmp_path / "scorer.toml").read_text()
    assert 'base_url = "http://127.0.0.1:9/v1"' in saved and SECRET not in saved


def _acting_as(monkeypatch, actor: Actor) -> None:
    """Sign the page in as `actor` (the pages ask `ui.db.current_actor` on every run)."""
    import ui.db

    monkeypatch.setattr(ui.db, "current_actor", lambda: actor)


def _disabled(at: AppTest) -> dict[str, bool]:
    return {b.label: b.disabled for b in at.button}


def test_a_viewer_sees_the_controls_greyed_out(corpus, monkeypatch):
    _eng_job(corpus)
    _acting_as(monkeypatch, Actor(user_id="vi@example.org", role=Role.viewer))
    at = _page()
    disabled = _disabled(at)
    assert disabled["Start scoring job"] and disabled["Save settings"]
    assert disabled["Pause"] and disabled["Cancel"]
    assert list(_jobs(at)["started by"]) == ["ops"]


def test_a_curator_may_pause_but_not_cancel_someone_else_s_job(corpus, monkeypatch):
    _eng_job(corpus)
    _acting_as(monkeypatch, Actor(user_id="cy@example.org", role=Role.curator))
    at = _page()
    disabled = _disabled(at)
    assert not disabled["Start scoring job"] and not disabled["Pause"]
    assert disabled["Cancel"] and disabled["Save settings"]
    assert any(c.value == "Started by ops." for c in at.caption)


def _eng_job(record_id: str) -> None:
    """One queued job over the record, started by the operator `ops`."""
    eng = make_engine(os.environ["MIRA_DATABASE_URL"])
    jobs.start_job(eng, ScorerSettings(), actor=OPS, record_ids=[record_id])
    eng.dispose()


def _render(record_id: str) -> None:
    from ui.record_scores import render_record_scores

    render_record_scores(record_id)


def _score_twice(record_id: str) -> None:
    server, _ = start_in_thread(SimulatorConfig(latency=0.0))
    try:
        eng = make_engine(os.environ["MIRA_DATABASE_URL"])
        migrate.upgrade(eng)
        settings = ScorerSettings(base_url=server.base_url, concurrency=2)
        jobs.start_job(eng, settings, actor=OPS, record_ids=[record_id])
        jobs.start_job(eng, settings, actor=OPS, record_filter=RecordFilter(record_ids=[record_id]))
        Worker(eng, Settings(), WorkerOptions(idle_exit=0.0, poll=0.01)).run()
        eng.dispose()
    finally:
        server.shutdown()
        server.server_close()


def test_jobs_scored_by_the_simulator_say_so(corpus):
    _score_twice(corpus)
    at = _page()
    table = _jobs(at)
    assert list(table["status"]) == ["done", "done"]
    assert (table["model"] == "whw06/MIRA-Agent-Group4-SIMULATED").all()
    assert any("SIMULATED" in w.value for w in at.warning)


def test_record_scores_panel_shows_anchors_and_says_simulated(corpus):
    _score_twice(corpus)
    at = AppTest.from_function(_render, args=(corpus,), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    anchors = at.dataframe[0].value
    assert list(anchors["slot"]) == [f"A{i}" for i in range(1, 16)]
    assert anchors["dimension"][0] == "Plan Quality / Reasoning Transparency (Goal Achievement)"
    assert anchors["score"].between(0, 10).all() and anchors["rationale"].str.contains("SIMULATED").all()
    assert any("SIMULATED" in w.value for w in at.warning)
    assert next(t.value for t in at.text) == "SIMULATED"  # the domain tag, as plain text
    runs = at.dataframe[1].value
    assert len(runs) == 2 and (runs["judge"] == "whw06/MIRA-Agent-Group4-SIMULATED").all()
    assert any(b.label == "Score this record" for b in at.button)


def test_record_without_scores_offers_the_button(corpus):
    at = AppTest.from_function(_render, args=(corpus,), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    assert at.info[0].value == "This record has no score yet."
    assert [b.label for b in at.button] == ["Score this record"]


def test_a_viewer_cannot_score_a_record_from_its_page(corpus, monkeypatch):
    import ui.record_scores

    monkeypatch.setattr(ui.record_scores, "current_actor", lambda: Actor(user_id="vi@example.org", role=Role.viewer))
    at = AppTest.from_function(_render, args=(corpus,), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    assert _disabled(at) == {"Score this record": True}


def _click(at: AppTest, label: str) -> AppTest:
    at.button[[b.label for b in at.button].index(label)].click().run()
    assert not at.exception, at.exception
    return at


def test_a_base_url_that_is_not_a_url_is_refused_naming_the_field(corpus, tmp_path):
    at = _page()
    at.text_input[0].set_value("not a url")
    _click(at, "Save settings")
    [error] = [e.value for e in at.error]
    assert "settings not saved\\: scorer setting base\\_url\\: must be an http" in error
    assert not (tmp_path / "scorer.toml").exists() and not at.success


def test_saving_a_field_the_environment_overrides_warns_naming_the_variable(corpus, tmp_path):
    at = _page()
    assert any("MIRA\\_SCORER\\_BASE\\_URL overrides base\\_url" in c.value for c in at.caption)
    at.text_input[0].set_value("http://127.0.0.1:9/v1")
    _click(at, "Save settings")
    assert any("(base_url changed)" in s.value for s in at.success)
    [warning] = [w.value for w in at.warning if "saved to the file" in w.value]
    assert "environment variable MIRA\\_SCORER\\_BASE\\_URL overrides it" in warning


def test_test_connection_shows_the_model_and_max_model_len(corpus, monkeypatch):
    server, _ = start_in_thread(SimulatorConfig(latency=0.0, max_model_len=32768))
    try:
        monkeypatch.setenv("MIRA_SCORER_BASE_URL", server.base_url)
        at = _click(_page(), "Test connection")
    finally:
        server.shutdown()
        server.server_close()
    [ok] = [s.value for s in at.success]
    assert escape_markdown("whw06/MIRA-Agent-Group4-SIMULATED") in ok and "(max_model_len 32,768)" in ok
    assert "not sent" not in ok


def test_a_job_on_another_base_url_waits_for_an_admin_s_confirmation(corpus, monkeypatch):
    eng = make_engine(os.environ["MIRA_DATABASE_URL"])
    jobs.start_job(eng, ScorerSettings(base_url="http://127.0.0.1:9/v1"), actor=OPS, record_ids=[corpus])
    eng.dispose()
    _acting_as(monkeypatch, Actor(user_id="cy@example.org", role=Role.curator))
    at = _page()
    assert any("is not the saved one" in w.value and "until an admin confirms it" in w.value for w in at.warning)
    assert _disabled(at)["Confirm endpoint"]
    _acting_as(monkeypatch, Actor(user_id="ann@example.org", role=Role.admin))
    at.run()
    _click(at, "Confirm endpoint")
    assert "Confirm endpoint" not in _disabled(at)
    by = escape_markdown("ann@example.org")
    assert any(c.value.endswith(f"confirmed for this job by {by}.") for c in at.caption)


def test_after_start_the_panel_follows_the_new_job_and_the_url_names_it(corpus, monkeypatch):
    eng = make_engine(os.environ["MIRA_DATABASE_URL"])
    older = jobs.start_job(eng, ScorerSettings(), actor=OPS, record_filter=RecordFilter(sources=["swe_qa"]))
    eng.dispose()
    at = _page({"job": older})
    assert at.selectbox(key="scoring_job").value == older
    table = _jobs(at)
    assert list(table["eta"]) == ["–"]  # nothing moves yet: a dash, never None
    at.button[[b.label for b in at.button].index("Start scoring job")].click().run()
    assert not at.exception, at.exception
    newest = _jobs(at)["job"][0]
    assert newest != older and at.selectbox(key="scoring_job").value == newest
    assert at.query_params["job"] in (newest, [newest])
    at.button(key="scoring_pause").click().run()  # Pause acts on the job shown: the new one
    statuses = dict(zip(_jobs(at)["job"], _jobs(at)["status"], strict=True))
    assert statuses == {newest: "paused (user)", older: "queued"}
    assert dict(zip(_jobs(at)["job"], _jobs(at)["per second"], strict=True))[newest] == "paused"


def test_choose_what_to_score_on_the_page(corpus, monkeypatch):
    from mira_core.views.scoring import current_run
    from tests.reliability.builders import add_scores

    eng = make_engine(os.environ["MIRA_DATABASE_URL"])
    with eng.connect() as conn:
        swe = sorted(conn.exec_driver_sql("SELECT record_id FROM records WHERE source = 'swe_qa'").scalars())
    current = current_run(Settings(), ScorerSettings())
    import numpy as np

    add_scores(eng, swe[:1], np.full((1, 15), 5.0), judge=current.judges[1], prompt_version=current.prompt_version)
    add_scores(eng, swe[1:2], np.full((1, 15), 5.0), judge=current.judges[0], prompt_version="older-prompt")
    at = _page()
    at.radio(key="scoring_selection").set_value("choose").run()
    at.multiselect(key="scoring_sources").set_value(["swe_qa"]).run()
    assert "3 records match." in [c.value for c in at.caption]
    at.checkbox(key="scoring_not_current").check().run()
    assert "2 records match." in [c.value for c in at.caption]  # re-scoring the older prompt's record too
    at.button[[b.label for b in at.button].index("Start scoring job")].click().run()
    assert not at.exception, at.exception
    job_id = at.selectbox(key="scoring_job").value
    with eng.connect() as conn:
        items = sorted(conn.exec_driver_sql(
            f"SELECT record_id FROM score_job_items WHERE job_id = '{job_id}'").scalars())
    eng.dispose()
    assert items == swe[1:]


def test_replicas_are_saved_and_each_endpoint_is_listed_with_its_state(corpus, tmp_path, monkeypatch):
    monkeypatch.delenv("MIRA_SCORER_BASE_URL")
    server, _ = start_in_thread(SimulatorConfig(latency=0.0))
    dead = f"http://127.0.0.1:{_free_port()}/v1"
    try:
        (tmp_path / "scorer.toml").write_text(f'[scorer]\nbase_url = "{server.base_url}"\n')
        at = _page()
        at.text_area[0].set_value(f"{dead}\n  \n")
        _click(at, "Save settings")
        assert "replicas = " in (tmp_path / "scorer.toml").read_text() and dead in (tmp_path / "scorer.toml").read_text()
        at = _page()
        text = _all_text(at)
        assert f"Not answering: {escape_markdown(dead)}" in text and "SIMULATED" in text
        table = _endpoints(at)
        assert list(table["endpoint"]) == [server.base_url, dead]
        assert set(table["state"]) == {"idle (no worker)"}
    finally:
        server.shutdown()
        server.server_close()
