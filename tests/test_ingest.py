"""The import pipeline: idempotent, bounded, and every bad item reported with its place."""

import json

from mira_core.ingest import import_paths
from mira_core.query import RecordFilter
from mira_core.storage import records_repo
from mira_core.storage.engine import read_conn


def _row(i: int, **extra) -> str:
    msgs = [
        {"role": "system", "content": "You are a coder."},
        {"role": "user", "content": f"Fix bug number {i} in parser"},
        {"role": "assistant", "content": "Looking", "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "bash", "arguments": json.dumps({"command": "ls"})}}]},
        {"role": "tool", "name": "bash", "tool_call_id": "c1", "content": "a.py"},
    ]
    return json.dumps({"messages": msgs, "instance_id": f"o__r-{i}", **extra})


def test_import_is_idempotent_and_reports_bad_lines(engine, tmp_path):
    f = tmp_path / "rows.jsonl"
    lines = [_row(1), "{not json", _row(2, resolved=True), '{"messages": [1, 2]}', "", _row(3)]
    f.write_text("\n".join(lines) + "\n")
    s1 = import_paths(engine, [f], source="swe_qa")
    assert (s1.imported, s1.present) == (3, 0)
    assert sorted(r.where for r in s1.rejected) == [f"{f}:2", f"{f}:4"]
    assert "invalid JSON" in s1.rejected[0].reason
    s2 = import_paths(engine, [f], source="swe_qa")
    assert (s2.imported, s2.present) == (0, 3)
    with read_conn(engine) as conn:
        assert records_repo.count_records(conn, RecordFilter()) == 3
        page = records_repo.list_records(conn, RecordFilter(outcomes=["resolved"]))
        assert list(page.instance_id) == ["o__r-2"]
        rid = page.record_id[0]
        assert records_repo.get_raw(conn, rid) == lines[2].encode()
        rec = records_repo.get_record(conn, rid)
        assert [s.kind for s in rec.steps] == ["system", "user", "thought", "action", "observation"]
        assert rec.steps[3].tool_args == {"command": "ls"}


def test_full_text_search_finds_issue_words(engine, tmp_path):
    f = tmp_path / "rows.jsonl"
    f.write_text(_row(1) + "\n" + _row(2).replace("parser", "tokenizer") + "\n")
    import_paths(engine, [f], source="swe_qa")
    with read_conn(engine) as conn:
        assert records_repo.count_records(conn, RecordFilter(text="tokenizer")) == 1
        assert records_repo.count_records(conn, RecordFilter(text="parser")) == 1
        assert records_repo.count_records(conn, RecordFilter(text="bug")) == 2
