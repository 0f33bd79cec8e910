"""Priorities: a small job runs ahead of a bulk one (which yields its slots, and is not cancelled); bulk jobs
take turns. Asserted through what the simulator and the items saw, not wall time."""

from mira_core.query import RecordFilter
from mira_core.scoring import jobs
from tests.scoring.support import running_worker, wait_for
from tests.scoring.test_jobs import CY, _corpus, _scores
from tests.scoring.test_worker_resilience import _settings


def test_a_one_record_job_overtakes_a_running_bulk_job(engine, tmp_path, sim):
    ids = _corpus(engine, tmp_path, 60)
    server = sim(latency=0.2, concurrency=4)
    bulk = jobs.start_job(engine, _settings(server.base_url), actor=CY, record_filter=RecordFilter())
    with running_worker(engine, small_job_max=5):
        wait_for(lambda: jobs.job_progress(engine, bulk).done >= 4)
        before = jobs.job_progress(engine, bulk).done
        one = jobs.start_job(engine, _settings(server.base_url), actor=CY, record_ids=[ids[7]])
        wait_for(lambda: jobs.job_progress(engine, one).status == "done")
        meanwhile = jobs.job_progress(engine, bulk).done - before
        wait_for(lambda: jobs.job_progress(engine, bulk).status == "done", timeout=60)
    # Only the bulk calls already at the server (concurrency 4) finished while the one-record job waited:
    # it waited about one request latency for the slots, then one for its own call.
    assert meanwhile <= 2 * 4, meanwhile
    prog = jobs.job_progress(engine, bulk)
    assert (prog.done, prog.failed) == (60, 0)  # yielded, not cancelled
    assert sorted(r["record_id"] for r in _scores(engine, bulk)) == ids
    assert [r["record_id"] for r in _scores(engine, one)] == [ids[7]]
    sent = server.requests_per_prompt()  # ids[7]'s prompt twice: once per job
    assert sum(sent.values()) == 61  # the calls the bulk job held back went back unsent: none was sent twice


def test_bulk_jobs_take_turns(sqlite_engine, tmp_path, sim):
    ids = _corpus(sqlite_engine, tmp_path, 40)
    server = sim(latency=0.02, concurrency=4)
    first = jobs.start_job(sqlite_engine, _settings(server.base_url), actor=CY, record_ids=ids[:20])
    second = jobs.start_job(sqlite_engine, _settings(server.base_url), actor=CY, record_ids=ids[20:])
    with running_worker(sqlite_engine, small_job_max=5, bulk_slice=0.1):
        wait_for(lambda: jobs.job_progress(sqlite_engine, first).status == "done")
        second_done_when_first_finished = jobs.job_progress(sqlite_engine, second).done
        wait_for(lambda: jobs.job_progress(sqlite_engine, second).status == "done")
    assert second_done_when_first_finished > 0  # the second did not wait for the first to finish
    assert jobs.job_progress(sqlite_engine, second).done == 20
