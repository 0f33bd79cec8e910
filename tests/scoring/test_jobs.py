"""Jobs end to end against the simulator: each fault knob ends in the recorded state it should, control
commands move jobs as documented, and killing the worker at random points loses and duplicates nothing."""

import json
import os
import random
import socket
import subprocess
import sys
import threading
import time

import pytest

from mira_core.errors import NotFoundError
from mira_core.identity import Actor, Role
from mira_core.query import RecordFilter
from mira_core.scoring import jobs
from mira_core.scoring.settings import ScorerSettings
from mira_core.scoring.simulator import SimulatorConfig, SimulatorServer
from mira_core.scoring.worker import Worker, WorkerOptions
from mira_core.scoring.worker_lock import worker_state
from mira_core.settings import Settings
from mira_core.storage import jobs_repo, reliability_repo, scores_repo, selection_repo
from mira_core.storage.engine import read_conn, write_tx
from mira_core.team import list_changes
from tests.app.builders import import_messages, messages_row
from tests.scoring.support import running_worker, wait_for

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CY = Actor(user_id="cy@example.org", role=Role.curator)
ADMIN = Actor(user_id="ann@example.org", role=Role.admin)




def _corpus(engine, tmp_path, n: int) -> list[str]:
    rows = [messages_row(i, resolved=i % 2 == 0, n_tools=1 + i % 3) for i in range(n)]
    import_messages(engine, tmp_path, rows)
    with read_conn(engine) as conn:
        return sorted(conn.exec_driver_sql("SELECT record_id FROM records").scalars())


def _start(engine, settings: ScorerSettings, **kw) -> str:
    """Start a job as the curator CY."""
    return jobs.start_job(engine, settings, actor=CY, **kw)


def _settings(base_url: str, **kw) -> ScorerSettings:
    base = {"concurrency": 4, "backoff_base": 0.001, "backoff_max": 0.02, "max_retries": 8, "pause_seconds": 0.0}
    return ScorerSettings(base_url=base_url, **{**base, **kw})


def _work(engine) -> None:
    """Run a worker in this process until no job is runnable."""
    Worker(engine, Settings(), WorkerOptions(idle_exit=0.0, poll=0.01, control_every=0.05)).run()


def _scores(engine, job_id: str) -> list[dict]:
    with read_conn(engine) as conn:
        rows = conn.exec_driver_sql("SELECT * FROM scores WHERE job_id = ?" if engine.dialect.name == "sqlite"
                                    else "SELECT * FROM scores WHERE job_id = %s", (job_id,)).mappings().all()
    return [dict(r) for r in rows]


def test_job_scores_each_frozen_record_once_with_a_labelled_judge(engine, tmp_path, sim):
    ids = _corpus(engine, tmp_path, 6)
    server = sim()
    job_id = _start(engine, _settings(server.base_url), record_filter=RecordFilter())
    (tmp_path / "later").mkdir()
    import_messages(engine, tmp_path / "later", [messages_row(99)], source="davinc_dev")  # after the freeze
    _work(engine)
    prog = jobs.job_progress(engine, job_id)
    assert (prog.status, prog.done, prog.failed, prog.remaining, prog.total) == ("done", 6, 0, 0, 6)
    assert prog.simulated and prog.judge == "whw06/MIRA-Agent-Group4-SIMULATED"
    rows = _scores(engine, job_id)
    assert sorted(r["record_id"] for r in rows) == ids
    assert all(r["judge"] == "whw06/MIRA-Agent-Group4-SIMULATED" and r["judge_kind"] == "student" for r in rows)
    assert all(r["a15"] is not None and r["overall"] is not None and r["raw_output"] for r in rows)
    assert all(r["complete"] for r in rows) and len({r["prompt_version"] for r in rows}) == 1
    assert "api_key" not in json.loads(jobs.job_settings(jobs.Job.from_row(scores_repo_job(engine, job_id)), "").model_dump_json())
    assert server.stats.counts["ok"] == 6


def scores_repo_job(engine, job_id):
    with read_conn(engine) as conn:
        return jobs_repo.get_job(conn, job_id)


@pytest.mark.parametrize(("knobs", "status", "stat"), [
    ({"rate_429": 0.5, "retry_after": 0.01}, "done", "429"),
    ({"rate_500": 0.4}, "done", "500"),
    ({"rate_drop": 0.3}, "done", "drop"),
])
def test_transient_faults_are_retried_until_done(sqlite_engine, tmp_path, sim, knobs, status, stat):
    _corpus(sqlite_engine, tmp_path, 8)
    server = sim(seed=2, **knobs)
    job_id = _start(sqlite_engine, _settings(server.base_url, down_after=100), record_filter=RecordFilter())
    _work(sqlite_engine)
    prog = jobs.job_progress(sqlite_engine, job_id)
    assert (prog.status, prog.done) == (status, 8)
    assert server.stats.counts[stat] > 0
    assert len(_scores(sqlite_engine, job_id)) == 8


def test_context_length_is_too_long_and_not_retried(sqlite_engine, tmp_path, sim):
    _corpus(sqlite_engine, tmp_path, 3)
    server = sim(reject_above=200)
    job_id = _start(sqlite_engine, _settings(server.base_url), record_filter=RecordFilter())
    _work(sqlite_engine)
    prog = jobs.job_progress(sqlite_engine, job_id)
    assert prog.counts["too_long"] == 3 and prog.done == 0 and prog.status == "done"
    assert [e.error_kind for e in prog.errors] == ["too_long"]
    assert server.stats.counts == {"too_long": 3, "tokenize": 2}  # the fixed part (system, template), once per run
    assert _scores(sqlite_engine, job_id) == []


def test_truncated_output_is_incomplete_kept_but_never_a_score(sqlite_engine, tmp_path, sim):
    _corpus(sqlite_engine, tmp_path, 3)
    server = sim(rate_truncated=1.0)
    job_id = _start(sqlite_engine, _settings(server.base_url), record_filter=RecordFilter())
    _work(sqlite_engine)
    prog = jobs.job_progress(sqlite_engine, job_id)
    assert prog.counts["incomplete"] == 3 and prog.done == 0
    assert _scores(sqlite_engine, job_id) == []
    with read_conn(sqlite_engine) as conn:
        items = scores_repo.job_items(conn, job_id)
    assert all(i["error_kind"] == "truncated" and i["last_output"].startswith("[A1]") for i in items)
    # A re-queue gives them another chance; with the fault gone they become scores.
    server.config.rate_truncated = 0.0
    assert jobs.requeue_failed(sqlite_engine, job_id, actor=CY) == 3
    _work(sqlite_engine)
    assert jobs.job_progress(sqlite_engine, job_id).done == 3


def test_malformed_output_is_stored_with_its_problems(sqlite_engine, tmp_path, sim):
    _corpus(sqlite_engine, tmp_path, 4)
    server = sim(rate_malformed=1.0)
    job_id = _start(sqlite_engine, _settings(server.base_url), record_filter=RecordFilter())
    _work(sqlite_engine)
    rows = _scores(sqlite_engine, job_id)
    assert len(rows) == 4 and not any(r["complete"] for r in rows)
    for r in rows:
        parsed = json.loads(r["parsed"])
        assert parsed["problems"], parsed
        bad = {p["slot"] for p in parsed["problems"] if p.get("slot")}
        assert all(r[s.lower()] is None for s in bad)  # an invalid slot is never a number


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_endpoint_down_pauses_the_job_and_it_resumes_later(sqlite_engine, tmp_path, sim):
    _corpus(sqlite_engine, tmp_path, 5)
    port = _free_port()
    job_id = _start(sqlite_engine, _settings(f"http://127.0.0.1:{port}/v1", down_after=3),
                            record_filter=RecordFilter())
    with running_worker(sqlite_engine) as worker:
        wait_for(lambda: jobs.job_progress(sqlite_engine, job_id).pause_reason == "endpoint_down")
        prog = jobs.job_progress(sqlite_engine, job_id)
        assert prog.status == "paused" and prog.failed == 0 and prog.counts["pending"] == 5
        sim(port=port)  # the endpoint comes back: the same worker resumes the job by itself
        wait_for(lambda: jobs.job_progress(sqlite_engine, job_id).status == "done")
        assert worker.is_alive()
    prog = jobs.job_progress(sqlite_engine, job_id)
    assert (prog.status, prog.done, prog.failed) == ("done", 5, 0)


def test_endpoint_dying_mid_job_pauses_instead_of_failing(sqlite_engine, tmp_path, sim):
    _corpus(sqlite_engine, tmp_path, 6)
    server = sim(rate_500=1.0)  # an engine that died but still answers 500
    job_id = _start(sqlite_engine, _settings(server.base_url, down_after=5), record_filter=RecordFilter())
    with running_worker(sqlite_engine):
        wait_for(lambda: jobs.job_progress(sqlite_engine, job_id).pause_reason == "endpoint_down")
    prog = jobs.job_progress(sqlite_engine, job_id)
    # The worker kept probing (pause_seconds=0) until stopped: nothing failed, nothing is left claimed.
    assert prog.status in ("paused", "queued") and prog.failed == 0
    assert prog.counts["running"] == 0 and prog.counts["pending"] == 6


def test_pause_resume_cancel_and_one_record_jobs(sqlite_engine, tmp_path, sim):
    ids = _corpus(sqlite_engine, tmp_path, 3)
    server = sim()
    job_id = _start(sqlite_engine, _settings(server.base_url), record_ids=[ids[1]])
    assert jobs.job_progress(sqlite_engine, job_id).label == f"record {ids[1]}"
    jobs.pause_job(sqlite_engine, job_id, actor=CY)
    _work(sqlite_engine)  # a paused job is not run
    assert jobs.job_progress(sqlite_engine, job_id).counts["pending"] == 1
    jobs.resume_job(sqlite_engine, job_id, actor=CY)
    assert jobs.job_progress(sqlite_engine, job_id).status == "queued"
    jobs.cancel_job(sqlite_engine, job_id, actor=CY)
    with pytest.raises(jobs.JobError, match="only a paused job can be resumed"):
        jobs.resume_job(sqlite_engine, job_id, actor=CY)
    with pytest.raises(jobs.JobError):
        jobs.pause_job(sqlite_engine, job_id, actor=CY)
    with pytest.raises(NotFoundError, match="job nope not found"):
        jobs.pause_job(sqlite_engine, "nope", actor=CY)
    assert jobs.job_progress(sqlite_engine, job_id).status == "cancelled"
    other = _start(sqlite_engine, _settings(server.base_url), record_ids=[ids[0]])
    _work(sqlite_engine)
    assert jobs.job_progress(sqlite_engine, other).done == 1
    assert jobs.job_progress(sqlite_engine, job_id).done == 0  # cancelled stays unscored
    empty = _start(sqlite_engine, _settings(server.base_url), record_filter=RecordFilter(sources=["none"]))
    assert jobs.job_progress(sqlite_engine, empty).status == "done"


def test_reparse_rewrites_parsed_columns_without_model_calls(sqlite_engine, tmp_path, sim):
    _corpus(sqlite_engine, tmp_path, 3)
    server = sim()
    job_id = _start(sqlite_engine, _settings(server.base_url), record_filter=RecordFilter())
    _work(sqlite_engine)
    with sqlite_engine.begin() as conn:
        conn.exec_driver_sql("UPDATE scores SET a1 = NULL, complete = 0, overall = NULL")
    calls = server.stats.counts["ok"]
    with sqlite_engine.connect() as conn:
        before = (reliability_repo.data_version(conn), selection_repo.selection_version(conn))
    summary = jobs.reparse_scores(sqlite_engine, actor=ADMIN, batch=2)
    assert (summary.scores, summary.complete_before, summary.complete_after) == (3, 0, 3)
    assert all(r["a1"] is not None and r["overall"] is not None for r in _scores(sqlite_engine, job_id))
    assert server.stats.counts["ok"] == calls
    with sqlite_engine.connect() as conn:  # same count and max id, but the pages' cached arrays must reload
        after = (reliability_repo.data_version(conn), selection_repo.selection_version(conn))
    assert after[0] != before[0] and after[1] != before[1]


def _wait_for_worker(engine, pid: int) -> None:
    for _ in range(400):
        if worker_state(engine).pid == pid:
            return
        time.sleep(0.02)
    raise AssertionError(f"worker {pid} did not start within 8 s")


def test_killing_the_worker_at_random_points_loses_and_duplicates_nothing(sqlite_engine, tmp_path):
    """22 SIGKILLs at random moments of a 40-record job, then a clean run: every record scored exactly once."""
    ids = _corpus(sqlite_engine, tmp_path, 40)
    server = SimulatorServer(config=SimulatorConfig(latency=0.4, concurrency=2, seed=7))
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    settings = _settings(server.base_url).model_copy(update={"concurrency": 2})
    job_id = _start(sqlite_engine, settings, record_filter=RecordFilter())
    env = {**os.environ, "MIRA_DATABASE_URL": str(sqlite_engine.url)}
    cmd = [sys.executable, "-m", "mira_core.scoring.worker_main", "--poll", "0.05", "--idle-exit", "5"]
    rng = random.Random(11)
    kills_mid_item, done_seen = 0, []
    try:
        for i in range(22):
            proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if i % 5 == 4:  # sometimes during start-up
                time.sleep(rng.uniform(0.1, 1.5))
            else:  # mostly once it serves the job, at a random point of its work
                _wait_for_worker(sqlite_engine, proc.pid)
                time.sleep(rng.uniform(0.0, 0.8))
            proc.kill()
            _, err = proc.communicate()
            assert proc.returncode == -9, err.decode()[-2000:]
            with read_conn(sqlite_engine) as conn:
                counts = scores_repo.item_counts(conn, job_id)
                stored = scores_repo.count_scores(conn, job_id=job_id)
            kills_mid_item += counts["running"] > 0
            assert stored == counts["done"]  # a score and its item's state are committed together
            done_seen.append(counts["done"])
        assert not worker_state(sqlite_engine).alive  # a killed worker is recognised as dead at once
        _work(sqlite_engine)
    finally:
        server.shutdown()
        server.server_close()
    prog = jobs.job_progress(sqlite_engine, job_id)
    assert (prog.status, prog.done, prog.failed, prog.remaining) == ("done", 40, 0, 0)
    rows = _scores(sqlite_engine, job_id)
    assert sorted(r["record_id"] for r in rows) == ids  # each exactly once
    assert kills_mid_item >= 5, done_seen  # many kills landed while calls were in flight
    assert done_seen[0] < 40  # the kills started before the work was over


def test_an_invalid_rubric_pauses_the_job_with_the_reason(sqlite_engine, tmp_path, sim, monkeypatch):
    _corpus(sqlite_engine, tmp_path, 2)
    bad = tmp_path / "anchors.jsonl"
    bad.write_text('{"slot": "A1"}\n')
    monkeypatch.setenv("MIRA_ANCHORS_PATH", str(bad))
    server = sim()
    job_id = _start(sqlite_engine, _settings(server.base_url), record_filter=RecordFilter())
    _work(sqlite_engine)
    prog = jobs.job_progress(sqlite_engine, job_id)
    assert (prog.status, prog.pause_reason, prog.counts["pending"]) == ("paused", "error", 2)
    assert str(bad) in prog.last_event


def test_cli_score_wait_jobs_control_and_reparse(sqlite_engine, tmp_path, sim, monkeypatch, capsys):
    from mira_core.cli import main

    ids = _corpus(sqlite_engine, tmp_path, 3)
    server = sim()
    monkeypatch.setenv("MIRA_DATABASE_URL", str(sqlite_engine.url))
    monkeypatch.setenv("MIRA_SCORER_CONFIG", str(tmp_path / "scorer.toml"))
    monkeypatch.setenv("MIRA_SCORER_BASE_URL", server.base_url)
    monkeypatch.setenv("MIRA_CURATOR", "local-op")
    assert main(["--as", "ops@example.org", "score", "--ids", ids[0], ids[1], "--wait"]) == 0
    out = capsys.readouterr().out
    job_id = out.split()[1].rstrip(":")
    assert "2 records queued" in out and "done 2/2" in out
    assert main(["jobs", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out.splitlines()[0])
    assert (listed["job_id"], listed["done"], listed["simulated"]) == (job_id, 2, True)
    assert main(["job", "pause", job_id]) == 1
    assert "only queued or running jobs can be paused" in capsys.readouterr().err
    assert main(["score", "--filter", '{"source": "swe_qa"}']) == 1
    assert "--filter: source: Extra inputs are not permitted" in capsys.readouterr().err
    assert main(["reparse"]) == 0
    assert json.loads(capsys.readouterr().out) == {"scores": 2, "complete_before": 2, "complete_after": 2}
    with read_conn(sqlite_engine) as conn:  # the operator's changes, under --as or the local user
        changes = [(c.actor, c.via, c.kind, c.target_id) for c in list_changes(conn)]
    assert changes == [("local-op", "cli", "scores.reparse", None), ("ops@example.org", "cli", "job.start", job_id)]


def test_pausing_a_running_job_stops_claiming_and_keeps_finished_results(sqlite_engine, tmp_path, sim):
    _corpus(sqlite_engine, tmp_path, 16)
    server = sim(latency=0.1, concurrency=2)
    job_id = _start(sqlite_engine, _settings(server.base_url).model_copy(update={"concurrency": 2}),
                            record_filter=RecordFilter())
    worker = threading.Thread(target=_work, args=(sqlite_engine,))
    worker.start()
    for _ in range(500):
        if jobs.job_progress(sqlite_engine, job_id).done >= 2:
            break
        time.sleep(0.01)
    jobs.pause_job(sqlite_engine, job_id, actor=CY)
    worker.join(timeout=30)
    prog = jobs.job_progress(sqlite_engine, job_id)
    assert (prog.status, prog.counts["running"]) == ("paused", 0)
    assert 2 <= prog.done < 16 and prog.done + prog.counts["pending"] == 16
    assert len(_scores(sqlite_engine, job_id)) == prog.done
    jobs.resume_job(sqlite_engine, job_id, actor=CY)
    _work(sqlite_engine)
    assert jobs.job_progress(sqlite_engine, job_id).done == 16


def test_a_record_over_the_endpoint_budget_is_shortened_never_rejected(sqlite_engine, sim):
    from tests.app.builders import insert_records, long_record

    big = long_record(200)
    insert_records(sqlite_engine, [big])
    server = sim(max_model_len=6000)  # reported by /v1/models; the 400 comes above the same length
    settings = _settings(server.base_url, max_tokens=512)  # settings say 65536: the endpoint's figure wins
    job_id = _start(sqlite_engine, settings, record_ids=[big.record_id])
    _work(sqlite_engine)
    assert jobs.job_progress(sqlite_engine, job_id).done == 1
    [row] = _scores(sqlite_engine, job_id)
    assert row["shortened"] and row["elided_tokens"] > 0
    assert "too_long" not in server.stats.counts and server.stats.counts["tokenize"] >= 1


def test_starting_with_the_same_job_id_is_idempotent(sqlite_engine, tmp_path):
    ids = _corpus(sqlite_engine, tmp_path, 4)
    settings = _settings("http://127.0.0.1:9/v1")
    first = _start(sqlite_engine, settings, record_filter=RecordFilter(), job_id="click-1")
    again = _start(sqlite_engine, settings, record_ids=ids[:1], job_id="click-1")
    assert first == again == "click-1"
    assert jobs.job_progress(sqlite_engine, "click-1").total == 4  # the first selection, not the replay's
    # An interrupted freeze (still preparing, half the items in) is completed by the replay.
    with write_tx(sqlite_engine) as conn:
        jobs_repo.create_job(conn, job_id="click-2", label="t", filter_json=RecordFilter().model_dump_json(),
                               settings_json="{}", created_by="me")
        jobs_repo.add_job_items(conn, "click-2", ids[:2])
    _start(sqlite_engine, settings, record_filter=RecordFilter(), job_id="click-2")
    prog = jobs.job_progress(sqlite_engine, "click-2")
    assert (prog.status, prog.total) == ("queued", 4)


def test_malformed_answers_are_counted_partial_and_can_be_scored_again(engine, tmp_path, sim, monkeypatch, capsys):
    from mira_core.cli import main

    ids = _corpus(engine, tmp_path, 12)
    server = sim(rate_malformed=0.5, seed=4)
    job_id = _start(engine, _settings(server.base_url), record_filter=RecordFilter())
    _work(engine)
    prog = jobs.job_progress(engine, job_id)
    assert prog.status == "done" and prog.partial > 0 and prog.done + prog.partial == 12 and prog.failed == 0
    assert "partial" in {e.error_kind for e in prog.errors}
    assert sum(not r["complete"] for r in _scores(engine, job_id)) == prog.partial
    server.config.rate_malformed = 0.0
    monkeypatch.setenv("MIRA_DATABASE_URL", str(engine.url.render_as_string(hide_password=False)))
    assert main(["--as", "cy@example.org", "job", "requeue-partial", job_id]) == 0
    assert f"{prog.partial} partial items re-queued" in capsys.readouterr().out
    _work(engine)
    prog = jobs.job_progress(engine, job_id)
    assert (prog.status, prog.done, prog.partial) == ("done", 12, 0)
    rows = _scores(engine, job_id)
    assert sorted(r["record_id"] for r in rows) == ids and all(r["complete"] for r in rows)  # replaced, not added
    with read_conn(engine) as conn:
        kinds = [c.kind for c in list_changes(conn)]
    assert "job.requeue_partial" in kinds
    assert jobs.requeue_partial(engine, job_id, actor=CY) == 0


def test_sustained_429s_slow_the_job_down_but_fail_nothing(sqlite_engine, tmp_path, sim):
    _corpus(sqlite_engine, tmp_path, 8)
    server = sim(rate_429=0.8, retry_after=0.001, seed=3)
    # One retry per call and one attempt per item: before, these 429s failed most items.
    job_id = _start(sqlite_engine, _settings(server.base_url, max_retries=1, max_item_attempts=1),
                    record_filter=RecordFilter())
    _work(sqlite_engine)
    prog = jobs.job_progress(sqlite_engine, job_id)
    assert (prog.status, prog.done, prog.failed) == ("done", 8, 0)
    assert server.stats.counts["429"] > 8
