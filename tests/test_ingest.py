"""The import pipeline: idempotent, bounded, and every bad item reported with its place."""

import json
import tracemalloc

import pytest

from mira_core.ingest import Importer, import_paths
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


# ----------------------------------------------------------------------------- bad input


def _good(i: int) -> bytes:
    return _row(i).encode()


def _instances(engine) -> list[str]:
    with read_conn(engine) as conn:
        return sorted(r["instance_id"] for r in records_repo.iter_record_metadata(conn, RecordFilter()))


def test_bad_lines_are_reported_and_neighbours_imported(engine, tmp_path):
    f = tmp_path / "bad.jsonl"
    lines = [
        _good(1),
        b'{"messages": [{"role": "user", "content": "caf\xe9"}]}',  # latin-1 byte: invalid UTF-8
        b'{"messages": [], "score": NaN}',
        b"[" * 100_000 + b"]" * 100_000,
        json.dumps({"instance_id": "x"}).encode(),  # no messages
        _good(2),
    ]
    f.write_bytes(b"\n".join(lines) + b"\n")
    summary = import_paths(engine, [f], source="swe_qa")
    reasons = {r.where: r.reason for r in summary.rejected}
    assert set(reasons) == {f"{f}:2", f"{f}:3", f"{f}:4", f"{f}:5"}
    assert reasons[f"{f}:2"].startswith("invalid UTF-8 at byte")
    assert "NaN is not valid JSON" in reasons[f"{f}:3"]
    assert reasons[f"{f}:4"] == "JSON nested too deeply"
    assert reasons[f"{f}:5"] == "missing required field 'messages' (a list)"
    assert _instances(engine) == ["o__r-1", "o__r-2"]


def test_bad_first_line_does_not_hide_the_file(engine, tmp_path):
    f = tmp_path / "first_bad.jsonl"
    f.write_bytes(b"{oops\n" + _good(1) + b"\n" + _good(2) + b"\n")
    summary = import_paths(engine, [f], source="swe_qa")
    assert [r.where for r in summary.rejected] == [f"{f}:1"]
    assert summary.imported == 2


def _store_one(engine, tmp_path, content_json: str):
    f = tmp_path / "odd.jsonl"
    line = ('{"instance_id": "o__r-9", "messages": [{"role": "user", "content": ' + content_json + "}]}").encode()
    f.write_bytes(line + b"\n")
    summary = import_paths(engine, [f], source="swe_qa")
    assert summary.rejected == [] and summary.imported == 1
    with read_conn(engine) as conn:
        rid = next(iter(records_repo.iter_record_metadata(conn, RecordFilter())))["record_id"]
        return line, records_repo.get_record(conn, rid), records_repo.get_raw(conn, rid), records_repo.get_metadata(conn, rid)


def test_nul_is_stored_by_the_documented_rule(engine, tmp_path):
    line, rec, raw, meta = _store_one(engine, tmp_path, '"a\\u0000b"')
    assert rec.issue == "a\u2400b" and rec.steps[0].content == "a\u2400b"
    assert rec.altered_fields == ["messages"] and json.loads(meta["altered_fields"]) == ["messages"]
    assert raw == line


def test_lone_surrogate_is_stored_by_the_documented_rule(engine, tmp_path):
    line, rec, raw, _ = _store_one(engine, tmp_path, '"x\\ud800y \\ud83d\\ude00"')
    assert rec.steps[0].content == "x\ufffdy \U0001f600"  # the valid pair stays an emoji
    assert rec.altered_fields == ["messages"]
    assert raw == line


def test_unknown_layout_and_non_json(engine, tmp_path):
    (tmp_path / "a.json").write_text('{"foo": 1}')
    (tmp_path / "b.jsonl").write_text("hello world\n")
    summary = import_paths(engine, [tmp_path], source="swe_qa")
    reasons = {r.where: r.reason for r in summary.rejected}
    assert reasons[str(tmp_path / "a.json")].startswith("unknown layout (known: openhands_resolver,")
    assert "pass --format" in reasons[str(tmp_path / "a.json")]
    assert reasons[str(tmp_path / "b.jsonl")].startswith("unknown layout")


def test_truncated_array_keeps_the_complete_elements(engine, tmp_path):
    f = tmp_path / "cut.json"
    f.write_bytes(b"[" + _good(1) + b",\n" + b'{"messages": [{"role": "user", "content": "caf\xe9"}]},' + _good(2) + b', {"messages": [{"ro')
    summary = import_paths(engine, [f], source="swe_qa")
    assert [(r.where, r.reason.split(" ")[0]) for r in summary.rejected] == [(f"{f}#1", "invalid"), (f"{f}#3", "file")]
    assert "truncated" in summary.rejected[1].reason
    assert _instances(engine) == ["o__r-1", "o__r-2"]


def test_missing_required_field_in_a_known_layout(engine, tmp_path):
    f = tmp_path / "output.jsonl"
    good = {"instance_id": "o__r-1", "instance": {"problem_statement": "p"}, "history": [], "metadata": {}}
    f.write_text(json.dumps(good) + "\n" + json.dumps({"instance_id": "o__r-2", "history": "nope"}) + "\n")
    summary = import_paths(engine, [f], source="agent_openhands")
    assert [(r.where, r.reason) for r in summary.rejected] == [(f"{f}:2", "field 'history' must be list, got str")]
    assert summary.imported == 1


def test_huge_line_and_element_are_rejected_in_bounded_memory(sqlite_engine, tmp_path):
    """A 50 MB line (first, so sniffing must skip it) and a 50 MB array element, with a 4 MB limit:
    both rejected with their place, neighbours imported, and the import never holds either item whole."""
    limit = 4 << 20
    huge = b'{"messages": [{"role": "user", "content": "' + b"x" * (50 << 20) + b'"}]}'
    lines = tmp_path / "huge.jsonl"
    lines.write_bytes(huge + b"\n" + _good(1) + b"\n" + _good(2) + b"\n")
    array = tmp_path / "huge.json"
    array.write_bytes(b"[" + _good(3) + b"," + huge + b"," + _good(4) + b"]")
    del huge
    tracemalloc.start()
    try:
        summary = import_paths(sqlite_engine, [lines, array], source="swe_qa", max_bytes=limit)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [r.where for r in summary.rejected] == [f"{lines}:1", f"{array}#1"]
    assert "over the 4,194,304-byte limit" in summary.rejected[0].reason
    assert summary.imported == 4
    assert peak < 4 * limit  # far below the 50 MB item


def test_progress_moves_inside_one_file(sqlite_engine, tmp_path):
    f = tmp_path / "rows.jsonl"
    f.write_text("\n".join(_row(i) for i in range(6)) + "\n")
    seen: list[int] = []
    Importer(sqlite_engine, source="swe_qa", batch_size=2, progress=lambda p: seen.append(p.bytes_done)).run([f])
    total = f.stat().st_size
    assert seen == sorted(seen) and seen[-1] == total
    assert any(0 < b < total for b in seen)  # the bar moves before the file is finished


def test_a_whole_file_is_parsed_once(sqlite_engine, tmp_path, monkeypatch):
    """A pretty-printed .traj / report is read and parsed while sniffing; the import reuses that parse."""
    from mira_core import ingest_worker, input_files

    calls: list[int] = []
    real = ingest_worker.parse_json
    counted = lambda raw, where: calls.append(len(raw)) or real(raw, where)  # noqa: E731
    monkeypatch.setattr(ingest_worker, "parse_json", counted)  # normalizing (ingest_worker.normalize_item)
    monkeypatch.setattr(input_files, "parse_json", counted)  # sniffing
    traj = {"environment": "o__r-1", "history": [{"role": "user", "content": "ISSUE:\nx"}], "trajectory": [], "info": {}}
    f = tmp_path / "o__r-1.traj"
    f.write_text(json.dumps(traj, indent=2))
    summary = import_paths(sqlite_engine, [f], source="swe_qa")
    assert summary.imported == 1
    assert calls.count(f.stat().st_size) == 1


def test_a_record_the_database_refuses_is_isolated(sqlite_engine, tmp_path, monkeypatch):
    """A failing batch is retried record by record: only the bad one is rejected."""
    from sqlalchemy.exc import IntegrityError

    from mira_core import ingest

    real = ingest.insert_prepared

    def picky(conn, rows):
        if any(r.instance_id == "o__r-2" for r in rows):
            raise IntegrityError("INSERT", {}, Exception("CHECK constraint failed"))
        return real(conn, rows)

    monkeypatch.setattr(ingest, "insert_prepared", picky)
    f = tmp_path / "rows.jsonl"
    f.write_text("\n".join(_row(i) for i in range(1, 4)) + "\n")
    summary = import_paths(sqlite_engine, [f], source="swe_qa")
    assert summary.imported == 2
    assert [(r.where, r.reason) for r in summary.rejected] == [
        (f"{f}:2", "database refused the record: CHECK constraint failed")
    ]


def test_a_storage_crash_reaches_the_caller(sqlite_engine, tmp_path, monkeypatch):
    from mira_core import ingest

    def broken(conn, rows):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(ingest, "insert_prepared", broken)
    f = tmp_path / "rows.jsonl"
    f.write_text(_row(1) + "\n")
    with pytest.raises(RuntimeError, match="disk on fire"):
        import_paths(sqlite_engine, [f], source="swe_qa")
