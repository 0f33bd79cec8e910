"""The worker-pool import path stores and rejects exactly what the serial path does."""

import json

import pytest

from mira_core import ingest
from mira_core.ingest import Importer
from mira_core.query import RecordFilter
from mira_core.storage import migrate, records_repo
from mira_core.storage.engine import make_engine, read_conn


def _row(i: int, **extra) -> bytes:
    msgs = [
        {"role": "system", "content": "You are a coder."},
        {"role": "user", "content": f"Fix bug number {i} in parser"},
        {"role": "assistant", "content": "Looking", "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "bash", "arguments": json.dumps({"command": "ls"})}}]},
        {"role": "tool", "name": "bash", "tool_call_id": "c1", "content": f"a{i}.py"},
    ]
    return json.dumps({"messages": msgs, "instance_id": f"o__r-{i}", **extra}).encode()


@pytest.fixture
def mixed_file(tmp_path):
    """Good rows with bad ones between them: reader rejections (too long) and normalizer rejections."""
    lines = []
    for i in range(1, 31):
        lines.append(_row(i, resolved=i % 2 == 0))
        if i % 7 == 0:
            lines.append(b"{not json")
        if i % 11 == 0:
            lines.append(json.dumps({"instance_id": "x", "pad": "y" * 5000}).encode())  # longer than max_bytes
        if i % 13 == 0:
            lines.append(json.dumps({"instance_id": "x"}).encode())  # no messages
    lines.append(lines[0])  # a duplicate of an earlier line: stored once
    f = tmp_path / "rows.jsonl"
    f.write_bytes(b"\n".join(lines) + b"\n")
    return f


def _run(engine, path, *, workers: int):
    imp = Importer(engine, source="swe_qa", max_bytes=4096, batch_size=4, workers=workers, parallel_min_bytes=0)
    return imp.run([path])


def _stored(engine) -> dict[str, tuple]:
    out = {}
    with read_conn(engine) as conn:
        for meta in records_repo.iter_record_metadata(conn, RecordFilter()):
            rid = meta["record_id"]
            full = records_repo.get_metadata(conn, rid)
            full.pop("imported_at", None)
            rec = records_repo.get_record(conn, rid).model_dump(mode="json")
            out[rid] = (full, rec, records_repo.get_raw(conn, rid))
    return out


def test_parallel_and_serial_paths_store_and_reject_the_same(engine, mixed_file, tmp_path, monkeypatch):
    monkeypatch.setattr(ingest, "CHUNK_ITEMS", 3)  # many chunks, more than the in-flight limit
    serial_engine = make_engine(f"sqlite:///{tmp_path / 'serial.sqlite'}")
    migrate.upgrade(serial_engine)
    try:
        serial = _run(serial_engine, mixed_file, workers=1)
        parallel = _run(engine, mixed_file, workers=2)
        assert serial.as_dict() == parallel.as_dict()
        assert (parallel.imported, parallel.present) == (30, 1)
        assert [(r.where, r.reason) for r in parallel.rejected] == [(r.where, r.reason) for r in serial.rejected]
        assert len(parallel.rejected) == 4 + 2 + 2
        assert sum("over the 4,096-byte limit" in r.reason for r in parallel.rejected) == 2
        assert f"{mixed_file}:8" in {r.where for r in parallel.rejected}  # the first '{not json'
        expected, got = _stored(serial_engine), _stored(engine)
        assert len(got) == 30
        assert got.keys() == expected.keys()
        for rid, (meta, rec, raw) in expected.items():
            assert got[rid][0] == meta, rid
            assert got[rid][1] == rec, rid
            assert got[rid][2] == raw, rid
        again = _run(engine, mixed_file, workers=2)
        assert (again.imported, again.present) == (0, 31)
        assert [r.where for r in again.rejected] == [r.where for r in serial.rejected]
        assert len(_stored(engine)) == 30
    finally:
        serial_engine.dispose()


def test_outcome_reports_travel_back_from_the_worker_pool(sqlite_engine, mixed_file, tmp_path):
    """Predictions rows become OutcomeReports in the workers; they come back pickled and join as serially."""
    preds = tmp_path / "all_preds.jsonl"
    preds.write_text("".join(json.dumps({"instance_id": f"o__r-{i}", "model_name_or_path": f"m{i}",
                                         "model_patch": "diff"}) + "\n" for i in range(1, 31)))
    summary = _run(sqlite_engine, mixed_file, workers=1)
    imp = Importer(sqlite_engine, source="swe_qa", batch_size=4, workers=2, parallel_min_bytes=0)
    got = imp.run([preds])
    assert (got.reports, got.rejected) == (30, [])
    assert summary.imported == 30
    models = {m["instance_id"]: m["model"] for m in (v[0] for v in _stored(sqlite_engine).values())}
    assert models == {f"o__r-{i}": f"m{i}" for i in range(1, 31)}
