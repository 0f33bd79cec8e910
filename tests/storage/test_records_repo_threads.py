"""Bodies decompress correctly when many threads read at once (Streamlit sessions and the worker use threads)."""

import json
from concurrent.futures import ThreadPoolExecutor

from mira_core.ingest import import_paths
from mira_core.storage import records_repo
from mira_core.storage.engine import read_conn


def test_concurrent_get_record_and_raw(sqlite_engine, tmp_path):
    f = tmp_path / "rows.jsonl"
    lines = []
    for i in range(40):
        msgs = [{"role": "user", "content": f"issue {i} " + "x" * (2000 + 97 * i)},
                {"role": "assistant", "content": "done " * (50 + i)}]
        lines.append(json.dumps({"messages": msgs, "instance_id": f"o__r-{i}"}))
    f.write_text("\n".join(lines) + "\n")
    assert import_paths(sqlite_engine, [f], source="swe_qa").imported == 40
    with read_conn(sqlite_engine) as conn:
        ids = list(records_repo.list_records(conn, records_repo.RecordFilter(), limit=100).record_id)

    def read(rid: str) -> tuple[str, bytes]:
        with read_conn(sqlite_engine) as conn:
            return records_repo.get_record(conn, rid).instance_id or "", records_repo.get_raw(conn, rid)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(read, ids * 10))
    for inst, raw in results:
        assert json.loads(raw)["instance_id"] == inst
