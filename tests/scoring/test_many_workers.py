"""Several workers on one database: any number on PostgreSQL (disjoint claims), exactly one on SQLite.

Starts are synchronised with a barrier so the contenders really meet; items sent twice are counted at the
simulator, lost and duplicated ones in the scores table.
"""

import threading

import pytest

from mira_core.query import RecordFilter
from mira_core.scoring import jobs
from mira_core.scoring.worker_lock import WorkerBusy, acquire, release
from mira_core.storage import scores_repo, workers_repo
from mira_core.storage.engine import read_conn, write_tx
from tests.scoring.support import WorkerThread, fast_options, wait_for
from tests.scoring.test_jobs import CY, _corpus, _scores
from tests.scoring.test_worker_resilience import _settings


def _together(n: int, fn) -> list:
    """Run `fn()` in n threads released at the same instant; returns each result or exception."""
    barrier, out = threading.Barrier(n), [None] * n

    def go(i: int) -> None:
        barrier.wait()
        try:
            out[i] = fn()
        except Exception as exc:  # collected: the test asserts on them
            out[i] = exc

    threads = [threading.Thread(target=go, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return out


def _stale_row(engine, token: str = "deadbeef") -> None:
    """A worker row from another machine whose heartbeat stopped an hour ago."""
    with write_tx(engine) as conn:
        workers_repo.register_worker(conn, token=token, pid=1, host="elsewhere")
        conn.exec_driver_sql("UPDATE scoring_workers SET heartbeat_at = heartbeat_at - INTERVAL '1 hour'"
                             if engine.dialect.name == "postgresql" else
                             "UPDATE scoring_workers SET heartbeat_at = datetime(heartbeat_at, '-1 hour')")


@pytest.mark.parametrize("stale", [False, True], ids=["empty-table", "stale-row"])
def test_simultaneous_acquires(engine, tmp_path, stale):
    """10 rounds of two acquire() at once: SQLite admits exactly one, PostgreSQL both (no UniqueViolation);
    a stale row's claimed item is handed back exactly once."""
    ids = _corpus(engine, tmp_path, 2)
    job_id = jobs.start_job(engine, _settings("http://127.0.0.1:9/v1"), actor=CY, record_filter=RecordFilter())
    for _ in range(10):
        if stale:
            _stale_row(engine)
            with write_tx(engine) as conn:
                assert scores_repo.claim_items(conn, job_id, 1, "deadbeef") == [(ids[0], 1)]
        results = _together(2, lambda: acquire(engine))
        tokens = [r for r in results if isinstance(r, str)]
        errors = [r for r in results if not isinstance(r, str)]
        if engine.dialect.name == "sqlite":
            assert len(tokens) == 1 and len(errors) == 1 and isinstance(errors[0], WorkerBusy), results
        else:
            assert len(tokens) == 2 and not errors, results
        with read_conn(engine) as conn:
            assert sorted(r["token"] for r in workers_repo.worker_rows(conn)) == sorted(tokens)  # stale row gone
            items = {i["record_id"]: i for i in scores_repo.job_items(conn, job_id)}
        assert items[ids[0]]["status"] == "pending" and items[ids[0]]["attempts"] == 0  # reclaimed once
        for t in tokens:
            release(engine, t)


def test_simultaneous_claims_are_disjoint(engine, tmp_path):
    ids = _corpus(engine, tmp_path, 30)
    job_id = jobs.start_job(engine, _settings("http://127.0.0.1:9/v1"), actor=CY, record_filter=RecordFilter())

    def claim(i: int):
        with write_tx(engine) as conn:
            return [rid for rid, _ in scores_repo.claim_items(conn, job_id, 10, f"t{i}")]

    counter = iter(range(4))
    got = _together(4, lambda: claim(next(counter)))
    claimed = [rid for batch in got for rid in batch]
    assert sorted(claimed) == ids  # 4 x 10 asked for 30 items: each handed out once, none twice


@pytest.mark.parametrize("n", [2, 4])
def test_workers_started_together_send_no_item_twice(engine, tmp_path, sim, n):
    ids = _corpus(engine, tmp_path, 60)
    server = sim(latency=0.03, concurrency=16)
    job_id = jobs.start_job(engine, _settings(server.base_url), actor=CY, record_filter=RecordFilter())
    barrier = threading.Barrier(n)
    workers = [WorkerThread(engine, fast_options(idle_exit=0.2), barrier) for _ in range(n)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    assert not any(w.is_alive() for w in workers)
    prog = jobs.job_progress(engine, job_id)
    assert (prog.status, prog.done, prog.failed) == ("done", 60, 0)
    sent = server.requests_per_prompt()
    assert len(sent) == 60 and set(sent.values()) == {1}  # 0 items sent twice
    assert sorted(r["record_id"] for r in _scores(engine, job_id)) == ids  # 0 lost, 0 duplicated
    busy = [w for w in workers if isinstance(w.error, WorkerBusy)]
    with read_conn(engine) as conn:
        claimers = set(conn.exec_driver_sql("SELECT DISTINCT claim_token FROM score_job_items").scalars())
    if engine.dialect.name == "sqlite":
        assert len(busy) == n - 1 and len(claimers) == 1  # one worker per SQLite database
    else:
        assert not busy and not any(w.error for w in workers) and len(claimers) >= 2  # they shared the job


def test_a_dead_workers_leases_are_taken_back_by_the_others(engine, tmp_path, sim):
    """On PostgreSQL a worker that dies holding items while another runs does not strand them: its heartbeat
    goes stale and the live worker's heartbeat thread takes its items back."""
    if engine.dialect.name == "sqlite":
        pytest.skip("one worker per SQLite database: a new worker takes over at start (test_jobs kill test)")
    ids = _corpus(engine, tmp_path, 10)
    server = sim(latency=0.01)
    job_id = jobs.start_job(engine, _settings(server.base_url), actor=CY, record_filter=RecordFilter())
    with write_tx(engine) as conn:  # a worker on another machine, alive now, claims 4 items and then dies
        workers_repo.register_worker(conn, token="b" * 32, pid=1, host="elsewhere")
        assert len(scores_repo.claim_items(conn, job_id, 4, "b" * 32)) == 4
    w = WorkerThread(engine, fast_options(idle_exit=0.1, stale_after=1.0, heartbeat_every=0.05))
    w.start()
    wait_for(lambda: jobs.job_progress(engine, job_id).done == 6)
    assert w.is_alive()  # the job is still open (4 items leased elsewhere): no idle exit
    w.join(timeout=60)
    assert w.error is None and not w.is_alive()
    prog = jobs.job_progress(engine, job_id)
    assert (prog.status, prog.done) == ("done", 10)
    assert sorted(r["record_id"] for r in _scores(engine, job_id)) == ids
    assert server.requests_per_prompt() and set(server.requests_per_prompt().values()) == {1}
