"""Scores, jobs and items storage on SQLite and PostgreSQL: claims guard results, every write repeats safely."""

from datetime import timedelta

from mira_core.storage import jobs_repo
from mira_core.storage import scores_repo as repo
from mira_core.storage.engine import read_conn, write_tx
from tests.app.builders import import_messages, messages_row


def _records(engine, tmp_path, n=3) -> list[str]:
    import_messages(engine, tmp_path, [messages_row(i) for i in range(n)])
    with read_conn(engine) as conn:
        return sorted(conn.exec_driver_sql("SELECT record_id FROM records").scalars())


def _score(rid: str, job_id: str | None, overall: int = 70, complete: bool = False) -> repo.NewScore:
    return repo.NewScore(
        record_id=rid, judge_kind="student", judge="m-SIMULATED", job_id=job_id, prompt_version="v1",
        raw_output="[A1] x: 7/10 — y", complete=complete, overall=overall, recommendation="keep", domain_tag="t",
        brief="b", shortened=False, elided_tokens=0, prompt_tokens=12, parsed_json="{}", slots={"A1": 7.0},
    )


def _job(engine, ids: list[str], job_id: str = "j1") -> None:
    with write_tx(engine) as conn:
        jobs_repo.create_job(conn, job_id=job_id, label="t", filter_json="{}", settings_json="{}", created_by="me")
        jobs_repo.add_job_items(conn, job_id, ids)
        jobs_repo.add_job_items(conn, job_id, ids[:1])  # repeated freeze is a no-op
        assert jobs_repo.finish_job_prep(conn, job_id) == len(ids)


def test_claim_guards_results_and_scores_are_unique_per_job(engine, tmp_path):
    ids = _records(engine, tmp_path)
    _job(engine, ids)
    with write_tx(engine) as conn:
        claimed = repo.claim_items(conn, "j1", 2, "tok")
        assert claimed == [(ids[0], 1), (ids[1], 1)]
        assert repo.claim_items(conn, "j1", 5, "tok") == [(ids[2], 1)]
        # Another claimer's token stores nothing.
        assert not repo.finish_item(conn, "j1", ids[0], "other", status="done", score=_score(ids[0], "j1"))
        assert repo.finish_item(conn, "j1", ids[0], "tok", status="done", score=_score(ids[0], "j1"))
        # The same result again (a repeated commit) is refused: the item is no longer running.
        assert not repo.finish_item(conn, "j1", ids[0], "tok", status="done", score=_score(ids[0], "j1"))
        # A partial (incomplete) score is replaced by the next answer; a complete one never is.
        assert repo.insert_score(conn, _score(ids[0], "j1", overall=80, complete=True))
        assert not repo.insert_score(conn, _score(ids[0], "j1", overall=10))
        assert repo.insert_score(conn, _score(ids[0], None))  # a label outside any job
    with read_conn(engine) as conn:
        rows = repo.scores_for_record(conn, ids[0])
        assert [r["job_id"] for r in rows] == [None, "j1"]
        assert rows[1]["a1"] == 7.0 and rows[1]["a2"] is None and rows[1]["overall"] == 80 and rows[1]["complete"]
        assert rows[1]["created_at"].tzinfo is not None
        assert repo.item_counts(conn, "j1") == {"pending": 0, "running": 2, "done": 1, "partial": 0, "failed": 0,
                                                 "too_long": 0, "incomplete": 0}


def test_release_reset_requeue_and_error_groups(engine, tmp_path):
    ids = _records(engine, tmp_path)
    _job(engine, ids)
    with write_tx(engine) as conn:
        repo.claim_items(conn, "j1", 3, "tok")
        assert repo.release_item(conn, "j1", ids[0], "tok", error_kind="connection", last_error="refused",
                                 count_attempt=False)
        assert repo.finish_item(conn, "j1", ids[1], "tok", status="failed", error_kind="bad_request",
                                last_error="400 nope")
        assert repo.reset_running(conn) == 1  # ids[2]: a dead worker's claim
    with read_conn(engine) as conn:
        assert repo.item_counts(conn, "j1")["pending"] == 2
        groups = {g["error_kind"]: g for g in repo.error_groups(conn, "j1")}
        assert groups["bad_request"]["n"] == 1 and groups["bad_request"]["example"] == "400 nope"
        items = {i["record_id"]: i for i in repo.job_items(conn, "j1")}
        assert items[ids[0]]["attempts"] == 0 and items[ids[2]]["attempts"] == 0
    with write_tx(engine) as conn:
        assert repo.requeue(conn, "j1", ["failed"]) == 1
        assert repo.item_counts(conn, "j1")["pending"] == 3


def test_next_runnable_job_waits_for_an_endpoint_pause(engine, tmp_path):
    ids = _records(engine, tmp_path, 1)
    _job(engine, ids)
    now = repo.utcnow()
    with write_tx(engine) as conn:
        assert jobs_repo.next_runnable_job(conn, now)["job_id"] == "j1"
        jobs_repo.set_job_status(conn, "j1", "paused", pause_reason="endpoint_down", resume_after=now + timedelta(seconds=30))
        assert jobs_repo.next_runnable_job(conn, now) is None
        assert jobs_repo.next_runnable_job(conn, now + timedelta(seconds=31))["job_id"] == "j1"
        jobs_repo.set_job_status(conn, "j1", "paused", pause_reason="user")
        assert jobs_repo.next_runnable_job(conn, now + timedelta(days=1)) is None
        assert not jobs_repo.set_job_status(conn, "j1", "queued", from_statuses=("running",))
