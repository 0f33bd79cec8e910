"""A job over several replicas, on SQLite and PostgreSQL: one replica dying lowers capacity, it never pauses
the job; the Scoring page's endpoint table shows what the worker sees (state, in flight, throughput)."""

from mira_core.cli import main
from mira_core.query import RecordFilter
from mira_core.scoring import jobs
from mira_core.scoring.settings import ScorerSettings
from mira_core.scoring.worker_lock import worker_state
from mira_core.views.scoring import endpoint_rows
from tests.scoring.support import db_url, running_worker, wait_for
from tests.scoring.test_jobs import CY, _corpus, _scores


def _settings(urls: list[str]) -> ScorerSettings:
    return ScorerSettings(base_url=urls[0], replicas=urls[1:], concurrency=2, backoff_base=0.001, backoff_max=0.02,
                          max_retries=3, down_after=2, pause_seconds=30, pause_max=30, probe_timeout=0.5)


def _status(engine, job_id: str, seen: set[str]) -> str:
    """The job's status, noting each one seen on the way."""
    status = jobs.job_progress(engine, job_id).status
    seen.add(status)
    return status


def test_a_replica_that_dies_mid_job_lowers_capacity_and_the_job_finishes(engine, tmp_path, sim):
    ids = _corpus(engine, tmp_path, 40)
    a, b = sim(latency=0.05, concurrency=2), sim(latency=0.05, concurrency=2)
    job_id = jobs.start_job(engine, _settings([a.base_url, b.base_url]), actor=CY, record_filter=RecordFilter())
    with running_worker(engine) as worker:
        wait_for(lambda: len(worker_state(engine).endpoints) == 2 and jobs.job_progress(engine, job_id).done >= 6)
        seen = {s.url: s for s in worker_state(engine).endpoints}
        assert {s.state for s in seen.values()} == {"up"} and all(s.ceiling == 2 for s in seen.values())
        b.crash()
        statuses: set[str] = set()
        wait_for(lambda: _status(engine, job_id, statuses) == "done", every=0.005)
        assert worker.error is None and "paused" not in statuses
    scores = _scores(engine, job_id)
    assert sorted(s["record_id"] for s in scores) == ids  # every record scored once
    assert a.stats.counts["ok"] + b.stats.counts.get("ok", 0) >= 40 and b.stats.counts.get("ok", 0) > 0
    assert jobs.job_progress(engine, job_id).last_event == "finished"


def test_the_endpoint_table_shows_each_endpoint_while_a_job_runs(engine, tmp_path, sim, monkeypatch, capsys):
    _corpus(engine, tmp_path, 30)
    a = sim(latency=0.3, concurrency=2)
    dead = "http://127.0.0.1:9/v1"  # the discard port: nothing answers there
    job_id = jobs.start_job(engine, _settings([a.base_url, dead]), actor=CY, record_filter=RecordFilter())
    with running_worker(engine):
        wait_for(lambda: any(s.answered >= 4 and s.in_flight for s in worker_state(engine).endpoints))
        table = endpoint_rows(worker_state(engine), [a.base_url, dead, "http://spare:8000/v1"])
        assert jobs.job_progress(engine, job_id).status == "running"  # one endpoint down did not pause it
        monkeypatch.setenv("MIRA_DATABASE_URL", db_url(engine))
        monkeypatch.setenv("MIRA_WORKER_AUTOSTART", "0")
        assert main(["jobs"]) == 0
    printed = capsys.readouterr().out
    assert f"endpoint {a.base_url}  up  in flight " in printed
    assert f"endpoint {dead}  down" in printed and "next probe in" in printed
    rows = {r["endpoint"]: r for r in table.to_dict("records")}
    assert rows[a.base_url]["state"] == "up" and rows[a.base_url]["in flight"].endswith("/ 2")
    assert rows[a.base_url]["answered"] >= 4 and rows[a.base_url]["answers/s"] > 0
    assert rows[dead]["state"].startswith("down") and rows[dead]["next probe"] and rows[dead]["last error"]
    assert rows["http://spare:8000/v1"]["state"] == "idle (no job running)"


def test_while_a_job_waits_out_an_outage_its_endpoints_stay_shown_down_with_the_next_probe(engine, tmp_path, sim):
    _corpus(engine, tmp_path, 20)
    a, b = sim(latency=0.05, concurrency=2), sim(latency=0.05, concurrency=2)
    job_id = jobs.start_job(engine, _settings([a.base_url, b.base_url]), actor=CY, record_filter=RecordFilter())
    with running_worker(engine):
        wait_for(lambda: jobs.job_progress(engine, job_id).done >= 4)
        a.crash()
        b.crash()
        wait_for(lambda: jobs.job_progress(engine, job_id).status == "paused")
        wait_for(lambda: {(s.url, s.state) for s in worker_state(engine).endpoints}
                 == {(a.base_url, "down"), (b.base_url, "down")})
        shown = worker_state(engine).endpoints
        assert all(s.in_flight == 0 for s in shown)
        assert all(s.retry_in is not None and 0 < s.retry_in <= 30 for s in shown)
        assert all(s.answered >= 1 for s in shown)  # what each answered before the outage is kept
        rows = {r["endpoint"]: r for r in endpoint_rows(worker_state(engine), [a.base_url, b.base_url])
                .to_dict("records")}
        assert all(r["state"].startswith("down") and r["next probe"] for r in rows.values())
        jobs.cancel_job(engine, job_id, actor=CY)  # the outage no longer holds a job: the table empties
        wait_for(lambda: worker_state(engine).endpoints == [])
