"""Worker processes start light and one pool serves several imports (the import's start-up cost)."""

import json
import subprocess
import sys

from mira_core.ingest import Importer, WorkerPool, import_paths

HEAVY = ("pandas", "mira_core.storage.records_repo", "mira_core.ingest")


def test_the_worker_module_loads_neither_pandas_nor_the_repositories():
    """Every spawned worker imports this module first: the storage stack there cost ~0.8 s per worker."""
    probe = f"import sys, mira_core.ingest_worker; print([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def _rows(path, start: int) -> None:
    msgs = [{"role": "user", "content": "Fix it"}, {"role": "assistant", "content": "done"}]
    path.write_text("".join(json.dumps({"messages": msgs, "instance_id": f"o__r-{i}"}) + "\n"
                            for i in range(start, start + 20)))


def test_one_pool_serves_several_import_runs_and_is_closed_by_its_owner(sqlite_engine, tmp_path, monkeypatch):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    _rows(a, 0)
    _rows(b, 100)
    monkeypatch.setattr("mira_core.ingest.PARALLEL_MIN_BYTES", 0)
    with WorkerPool(2) as pool:
        first = import_paths(sqlite_engine, [a], source="swe_qa", pool=pool)
        executor = pool.executor()
        second = import_paths(sqlite_engine, [b], source="swe_qa", pool=pool)
        assert pool.executor() is executor  # the same processes, not a pool per run
        assert (first.imported, second.imported) == (20, 20)
    assert pool._executor is None
    own = Importer(sqlite_engine, source="swe_qa", workers=2, parallel_min_bytes=0)
    assert own.run([a]).present == 20
    assert own.pool._executor is None  # a run's own pool stops with the run
