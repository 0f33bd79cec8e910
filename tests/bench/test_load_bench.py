"""`bench load` end to end, tiny: 200 records, 2 signed-in sessions at once, 1 loop, a scoring job running.

On the suite's PostgreSQL server when there is one (a database of its own), else on SQLite. No timing
asserts: every figure is there, every write the pages confirmed is in the database, nothing failed.
"""

from __future__ import annotations

import json
import os
import statistics
import uuid

import pytest
from sqlalchemy import create_engine, text

from mira_core.bench.load_session import ACTIONS
from mira_core.cli import main

pytestmark = pytest.mark.browser


@pytest.fixture
def store_args(tmp_path):
    base = os.environ.get("MIRA_TEST_PG_URL")
    if not base:
        yield ["--backend", "sqlite"]
        return
    name = "t_load_" + uuid.uuid4().hex[:8]
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield ["--database-url", base.rsplit("/", 1)[0] + "/" + name]
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_bench_load_two_sessions_lose_no_write(tmp_path, capsys, store_args):
    argv = ["bench", "load", "--records", "200", "--sessions", "2", "--loops", "1", "--idle-s", "2",
            "--scorer-concurrency", "2", "--think-s", "0.2", "--browser-nice", "3", "--navigate", "sidebar", "--stagger-s", "0.5",
            "--worker-nice", "4", "--work-dir", str(tmp_path),
            *store_args]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["benchmark"] == "load" and out["records"] == 200
    assert out["think_s"] == 0.2 and out["browser_nice"] == 3 and out["navigate"] == "sidebar"
    assert out["stagger_s"] == 0.5 and out["worker_nice"] == 4
    expected = min(os.nice(0) + 4, 19)
    assert f"(niceness {expected})" in (tmp_path / "worker.log").read_text()  # the worker really runs lowered
    assert [r["sessions"] for r in out["runs"]] == [2]
    for run in out["runs"]:
        assert run["errors"] == 0, run["error_examples"]
        for action in ACTIONS:  # one sample per session per action
            assert run["actions_ms"][action]["n"] == run["sessions"], action
            assert run["actions_ms"][action]["p95"] > 0, action
            every = run["samples_ms"][action]  # each session's own samples, loop by loop
            assert len(every) == run["sessions"] and all(len(s) == 1 for s in every), action
            assert statistics.median(x for s in every for x in s) == pytest.approx(run["actions_ms"][action]["p50"], abs=1)
        assert run["server_rss_mb_peak"] > 0 and run["server_threads_peak"] > 0
        assert run["cpu_s"]["server"] > 0 and run["cpu_s"]["browsers"] > 0
        assert run["cpu_s_per_action"]["browsers"] == pytest.approx(run["cpu_s"]["browsers"] / (9 * run["sessions"]),
                                                                    abs=0.001)
        for action, server in run["in_page_server_answer_ms"].items():  # the server answered before the frame
            assert 0 < server["p95"] <= run["actions_ms"][action]["p95"], action
        assert run["scoring_rps"] > 0  # the job moved while the sessions worked
    assert out["writes"] == {"tags_confirmed": 2, "tags_in_db": 2, "answers_confirmed": 2, "answers_in_db": 2,
                             "lost": 0}
    assert out["goals"]["lost_writes_0"] and out["goals"]["errors_0"]
    assert set(out["goals"]["p95_vs_1_session"]) == set(ACTIONS)
