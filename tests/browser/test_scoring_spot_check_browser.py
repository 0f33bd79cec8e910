"""Scoring and Spot-check pages in chromium, end to end: a job started from the page is scored by the
worker the page starts, against the SIMULATED scorer over HTTP; a spot-check is answered from the keyboard."""

import os
import signal

import numpy as np
import pytest
from sqlalchemy import text

from mira_core.reliability.demo_teacher import label_demo_corpus
from mira_core.reliability.spot_check_store import create_spot_check
from mira_core.scoring.simulator import SimulatorConfig, start_in_thread
from mira_core.scoring.worker_lock import worker_state
from mira_core.storage import migrate
from mira_core.storage import spot_checks_repo as spot
from mira_core.storage.engine import make_engine, read_conn, write_tx
from tests.browser.conftest import press_shortcut, serve_app
from tests.reliability.builders import add_scores, make_records, person

pytestmark = pytest.mark.browser
N_RECORDS = 12


@pytest.fixture(scope="module")
def scoring_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("scoring")
    url = f"sqlite:///{tmp / 'scoring.sqlite'}"
    eng = make_engine(url)
    migrate.upgrade(eng)
    ids = make_records(eng, N_RECORDS, sources=("src_a",))
    add_scores(eng, ids, np.random.default_rng(0).integers(0, 11, (N_RECORDS, 15)).astype(float), judge="mira")
    label_demo_corpus(eng, actor=person(), coverage=1.0)
    with write_tx(eng) as conn:
        sid = create_spot_check(conn, source="src_a", slot="A7", size=4, seed=0, actor=person("ann"),
                                teacher="kimi-k2.6-SIMULATED")
    simulator, _ = start_in_thread(SimulatorConfig(latency=0.05, concurrency=8, seed=3), port=0)
    env = {"MIRA_SCORER_BASE_URL": simulator.base_url, "MIRA_SCORER_CONFIG": str(tmp / "scorer.toml"),
           "MIRA_SCORER_API_KEY": "test-key", "MIRA_CURATOR": "bob", "MIRA_WORKER_AUTOSTART": "1"}
    try:
        with serve_app(url, tmp, extra_env=env) as base:
            yield base, eng, sid
    finally:
        state = worker_state(eng)
        if state.pid and state.alive:  # the worker the page started; it would idle for 10 minutes
            os.kill(state.pid, signal.SIGTERM)
        simulator.shutdown()
        simulator.server_close()
        eng.dispose()


def _student_scores(eng) -> list[tuple[str, int]]:
    with read_conn(eng) as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT judge, complete FROM scores WHERE judge_kind = 'student' AND job_id IS NOT NULL"))]


def test_a_job_started_on_the_page_is_scored_by_the_worker_it_starts(scoring_server, page):
    from playwright.sync_api import expect

    base, eng, _ = scoring_server
    page.goto(f"{base}/scoring")
    expect(page.get_by_text("SIMULATED", exact=False).first).to_be_visible()
    expect(page.get_by_text(f"all records ({N_RECORDS})")).to_be_visible()
    page.get_by_role("button", name="Start scoring job").click()
    # The jobs panel refreshes every 2 s: the first metric is "done".
    expect(page.get_by_test_id("stMetricValue").first).to_have_text(str(N_RECORDS), timeout=90_000)
    expect(page.get_by_text("Worker running (pid")).to_be_visible(timeout=30_000)
    scored = _student_scores(eng)
    assert len(scored) == N_RECORDS and all(complete for _, complete in scored)
    assert all("SIMULATED" in judge for judge, _ in scored)


def test_spot_check_answered_from_the_keyboard(scoring_server, page):
    from playwright.sync_api import expect

    base, eng, sid = scoring_server
    page.goto(f"{base}/spot_check?id={sid}")
    expect(page.get_by_text("item 1 of 4")).to_be_visible()
    press_shortcut(page, "7", "^7", page.get_by_text("item 2 of 4"))
    expect(page.get_by_text("1 of 4 answered by you")).to_be_visible()
    press_shortcut(page, "s", "^Skip", page.get_by_text("item 3 of 4"))
    press_shortcut(page, "k", "^Previous", page.get_by_text("item 2 of 4"))
    expect(page.get_by_text("Your answer: skipped.")).to_be_visible()
    with read_conn(eng) as conn:  # the page showed "skipped" read back from the store: it is written
        items = spot.spot_check_items_frame(conn, sid, reviewer="bob")
    assert int(items.human_score.iloc[0]) == 7 and items.answered.iloc[0]
    assert bool(items.skipped.iloc[1]) and items.human_score.iloc[1] != items.human_score.iloc[1]  # NaN
    assert not items.skipped.iloc[2] and items.human_score.iloc[2:].isna().all()
