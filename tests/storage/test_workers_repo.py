"""Worker rows and item leases on SQLite and PostgreSQL: a dead worker's claims come back, a live one's never."""

from mira_core.storage import scores_repo, workers_repo
from mira_core.storage.engine import read_conn, write_tx
from tests.storage.test_scores_repo import _job, _records


def test_rows_heartbeat_and_reclaiming_a_dead_workers_items(engine, tmp_path):
    ids = _records(engine, tmp_path, 4)
    _job(engine, ids)
    with write_tx(engine) as conn:
        assert workers_repo.worker_rows(conn) == []
        workers_repo.register_worker(conn, token="a", pid=1, host="h")
        workers_repo.register_worker(conn, token="b", pid=2, host="h")  # a second row, no collision
        assert workers_repo.heartbeat(conn, "a") and not workers_repo.heartbeat(conn, "zz")
        assert [i for i, _ in scores_repo.claim_items(conn, "j1", 2, "a")] == ids[:2]
        assert [i for i, _ in scores_repo.claim_items(conn, "j1", 5, "b")] == ids[2:]
        assert workers_repo.reclaim_orphans(conn) == 0  # both claimers have rows
        assert workers_repo.delete_workers(conn, ["b"]) == 1  # b was found dead
        assert not workers_repo.heartbeat(conn, "b")  # ... and learns it at its next beat
        assert workers_repo.reclaim_orphans(conn) == 2
    with read_conn(engine) as conn:
        items = {i["record_id"]: i for i in scores_repo.job_items(conn, "j1")}
        assert [items[r]["status"] for r in ids] == ["running", "running", "pending", "pending"]
        assert items[ids[2]]["attempts"] == 0 and items[ids[2]]["claim_token"] is None
        assert [r["token"] for r in workers_repo.worker_rows(conn)] == ["a"]
