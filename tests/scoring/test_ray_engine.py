"""Ray Data runs of a scoring job on a local Ray instance, against the SIMULATED scorer over HTTP.

One Ray instance serves the whole module (it takes seconds to start and ~2 GB): loopback only, its files
in a temporary folder. The same prompts give the same scores as the built-in worker; a re-run adds
nothing; a fault run ends with every item in a recorded state; the CLI runs it with a progress bar.
"""

import os
import shutil
import tempfile

import pytest

from mira_core.identity import Actor, Role
from mira_core.query import RecordFilter
from mira_core.scoring import jobs
from mira_core.scoring.ray_engine import RayOptions, result_from_body, run_stored_job_on_ray
from mira_core.scoring.settings import ScorerSettings
from mira_core.scoring.worker import Worker, WorkerOptions
from mira_core.settings import Settings
from mira_core.storage import jobs_repo, migrate, scores_repo
from mira_core.storage.engine import make_engine, read_conn, write_tx
from mira_core.team import list_changes
from tests.app.builders import import_messages, messages_row

# Ray swaps a loopback node address for the machine's own unless clustering is off: keep it on 127.0.0.1.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
ray = pytest.importorskip("ray", reason="the ray extra is not installed: pip install -e '.[ray]' (make test does)")
pytestmark = pytest.mark.ray

CY = Actor(user_id="cy@example.org", role=Role.curator)
N = 200


@pytest.fixture(scope="module")
def local_ray():
    folder = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    os.environ["RAY_TMPDIR"] = folder
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", _temp_dir=folder,
             log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A SQLite store with N records (on its own file per module: runs write to it)."""
    tmp = tmp_path_factory.mktemp("ray_corpus")
    eng = make_engine(f"sqlite:///{tmp / 'ray.sqlite'}")
    migrate.upgrade(eng)
    import_messages(eng, tmp, [messages_row(i, resolved=i % 2 == 0, n_tools=1 + i % 3) for i in range(N)])
    yield eng
    eng.dispose()


def _settings(base_url: str) -> ScorerSettings:
    return ScorerSettings(base_url=base_url, concurrency=4, backoff_base=0.001, backoff_max=0.02, max_retries=2,
                          pause_seconds=0.0, max_item_attempts=2)


def _slots(engine, job_id: str) -> dict[str, tuple]:
    with read_conn(engine) as conn:
        rows = conn.exec_driver_sql(
            "SELECT record_id, prompt_version, a1, a7, a15, overall FROM scores WHERE job_id = ?", (job_id,)).all()
    return {r[0]: tuple(r[1:]) for r in rows}


def _ray_run(engine, job_id: str):
    return run_stored_job_on_ray(engine, Settings(), job_id, actor=CY, api_key="",
                                 options=RayOptions(concurrency=2, batch_size=8, chunk=100))


def test_a_ray_run_scores_like_the_worker_and_a_rerun_adds_nothing(local_ray, corpus, sim, monkeypatch):
    server = sim()
    settings = _settings(server.base_url)
    by_worker = jobs.start_job(corpus, settings, actor=CY, record_filter=RecordFilter())
    by_ray = jobs.start_job(corpus, settings, actor=CY, record_filter=RecordFilter(), runner="ray")
    Worker(corpus, Settings(), WorkerOptions(idle_exit=0.0, poll=0.01, control_every=0.05)).run()
    with read_conn(corpus) as conn:  # the built-in worker leaves the Ray job alone
        assert scores_repo.item_counts(conn, by_ray)["pending"] == N
    calls_before = server.stats.counts.get("ok", 0)
    summary = _ray_run(corpus, by_ray)
    assert (summary.status, summary.stored, summary.failed) == ("done", N, 0)
    assert server.stats.counts.get("ok", 0) - calls_before == N  # each record sent once
    assert _slots(corpus, by_ray) == _slots(corpus, by_worker)  # same prompts, same version, same scores
    prog = jobs.job_progress(corpus, by_ray)
    assert (prog.status, prog.done, prog.failed) == ("done", N, 0)
    again = _ray_run(corpus, by_ray)
    assert (again.sent, again.stored) == (0, 0) and len(_slots(corpus, by_ray)) == N
    assert server.stats.counts.get("ok", 0) - calls_before == N
    with read_conn(corpus) as conn:
        assert [c.kind for c in list_changes(conn, actors=[CY.user_id], kinds=["job.run_ray"])] == ["job.run_ray"] * 2


def test_a_fault_run_ends_with_every_item_recorded(local_ray, corpus, sim):
    server = sim(rate_500=0.3, seed=3)
    job_id = jobs.start_job(corpus, _settings(server.base_url), actor=CY, record_ids=None,
                            record_filter=RecordFilter(sources=["swe_qa"]), runner="ray", label="faults")
    summary = _ray_run(corpus, job_id)
    with read_conn(corpus) as conn:
        counts = scores_repo.item_counts(conn, job_id)
        errors = {g["error_kind"] for g in scores_repo.error_groups(conn, job_id)}
    assert counts["pending"] == counts["running"] == 0  # nothing stranded
    assert counts["done"] + counts["failed"] == N and counts["failed"] == summary.failed > 0
    assert counts["done"] == summary.stored > N // 2
    assert errors == {"http_5xx"}
    assert jobs.job_progress(corpus, job_id).status == "done"


def test_an_endpoint_that_does_not_answer_leaves_the_job_queued(local_ray, corpus):
    from mira_core.errors import ConfigError

    job_id = jobs.start_job(corpus, _settings("http://127.0.0.1:9/v1"), actor=CY, record_filter=RecordFilter(),
                            runner="ray")
    with pytest.raises(ConfigError, match="answered /v1/models"):
        _ray_run(corpus, job_id)
    with read_conn(corpus) as conn:
        assert scores_repo.item_counts(conn, job_id)["pending"] == N  # nothing claimed


def test_a_ray_run_deals_its_rows_over_the_replicas_that_answer(local_ray, corpus, sim):
    a, b = sim(), sim()
    settings = _settings(a.base_url).model_copy(update={"replicas": [b.base_url, "http://127.0.0.1:9/v1"]})
    job_id = jobs.start_job(corpus, settings, actor=CY, record_filter=RecordFilter(), runner="ray")
    summary = _ray_run(corpus, job_id)
    assert (summary.status, summary.stored, summary.failed) == ("done", N, 0)
    assert a.stats.counts["ok"] + b.stats.counts["ok"] == N and abs(a.stats.counts["ok"] - b.stats.counts["ok"]) <= 1


def test_ray_jobs_keep_no_worker_busy(corpus):
    """A queued Ray job is not work for the built-in workers: they may go idle and are not started for it."""
    job_id = jobs.start_job(corpus, _settings("http://127.0.0.1:9/v1"), actor=CY, record_filter=RecordFilter(),
                            runner="ray", label="waits for a Ray run")
    with read_conn(corpus) as conn:
        assert not jobs_repo.has_open_jobs(conn)
        assert jobs_repo.next_runnable_job(conn, scores_repo.utcnow()) is None
        assert jobs.job_progress(corpus, job_id).status == "queued"


def test_error_bodies_become_the_workers_error_kinds():
    too_long = result_from_body({"object": "error", "code": 400,
                                 "message": "This model's maximum context length is 8 tokens. However, ..."})
    assert (too_long.status, too_long.error_kind) == ("too_long", "too_long")
    assert result_from_body({"error": {"message": "boom", "code": 503}}).error_kind == "http_5xx"
    assert result_from_body({"object": "error", "code": 400, "message": "bad"}).error_kind == "bad_request"
    ok = result_from_body({"id": "x", "object": "chat.completion", "created": 0, "model": "m-SIMULATED",
                           "choices": [{"index": 0, "message": {"role": "assistant", "content": "[A1] x: 5"},
                                        "finish_reason": "stop"}]})
    assert ok.status == "ok" and ok.simulated


class _DriverDied(Exception):
    pass


def test_a_run_that_dies_half_way_is_continued_without_sending_anything_twice(local_ray, corpus, sim):
    server = sim()
    job_id = jobs.start_job(corpus, _settings(server.base_url), actor=CY, record_filter=RecordFilter(),
                            runner="ray", label="dies")

    def die(summary):
        raise _DriverDied  # the driver is killed after its first chunk is stored

    with pytest.raises(_DriverDied):
        run_stored_job_on_ray(corpus, Settings(), job_id, actor=CY, api_key="",
                              options=RayOptions(chunk=60), progress=die)
    with write_tx(corpus) as conn:  # and it had claimed the next chunk when it died: held by a dead token
        scores_repo.claim_items(conn, job_id, 50, "ray-dead-run")
    with read_conn(corpus) as conn:
        counts = scores_repo.item_counts(conn, job_id)
    assert (counts["done"], counts["running"], counts["pending"]) == (60, 50, N - 110)
    sent_before = server.stats.counts.get("ok", 0)
    summary = _ray_run(corpus, job_id)
    assert (summary.status, summary.stored) == ("done", N - 60)
    assert server.stats.counts.get("ok", 0) - sent_before == N - 60  # the first 60 were not sent again
    assert len(_slots(corpus, job_id)) == N
