"""Exports: rows and decisions on the hand-made corpus, byte-identical re-exports (whoever exports), refusals
write nothing, and who wrote which list is in the activity log."""

import csv
import hashlib
import io
import json
import os
import stat

import pyarrow.parquet as pq
import pytest

from mira_core.errors import NotFoundError
from mira_core.identity import Actor, PermissionDenied, Role
from mira_core.selection.diff import diff_policies
from mira_core.selection.export import ExportError, export_files, export_policy
from mira_core.selection.policies import CutSpec, Policy
from mira_core.selection.store import policy_revision, save_policy
from mira_core.settings import Settings
from mira_core.storage.engine import read_conn, write_tx
from mira_core.team import list_changes
from tests.selection.dbcorpus import seed

ANN = Actor(user_id="ann@example.org", role=Role.curator)
BOB = Actor(user_id="bob", role=Role.admin, via="cli")

POLICY = Policy(name="p1", cuts={"A": CutSpec(mode="threshold", value=6), "B": CutSpec(mode="threshold", value=5)},
                downsample_weight=0.25)


def _save(engine, policy=POLICY):
    with write_tx(engine) as conn:
        return save_policy(conn, policy, actor=ANN)


def test_jsonl_rows_decisions_and_weights(sqlite_engine):
    seed(sqlite_engine)
    files = export_files(sqlite_engine, _save(sqlite_engine), "jsonl")
    rows = [json.loads(line) for line in files.list_bytes.decode().splitlines()]
    # A: a1 (8, scorer keep), a2 and a3 (6, scorer downsample -> weight 0.25); B: b1 (7) and b4 (forced, unscored)
    assert [(r["record_id"], r["decision"], r["weight"]) for r in rows] == [
        ("a1", "keep", 1.0), ("a2", "downsample", 0.25), ("a3", "downsample", 0.25), ("b1", "keep", 1.0),
        ("b4", "force_keep", 1.0)]
    assert rows[0] == {"record_id": "a1", "source": "A", "instance_id": "inst-a1", "aggregate": 8.0,
                       "decision": "keep", "weight": 1.0, "token_count": 100}
    assert rows[-1]["aggregate"] is None
    manifest = json.loads(files.manifest_bytes)
    assert manifest["list"]["sha256"] == hashlib.sha256(files.list_bytes).hexdigest()
    assert manifest["counts"]["per_source"]["B"]["kept_tokens"] == 60  # b1 50 + b4 10
    assert manifest["counts"]["total"]["unscored"] == 1 and manifest["counts"]["total"]["force_drop"] == 1
    assert manifest["scorer"]["runs"] == [{"model": "mira-student", "prompt_version": "v1", "records": 7}]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_two_exports_are_byte_identical(sqlite_engine, tmp_path, fmt):
    seed(sqlite_engine)
    policy = _save(sqlite_engine)
    first = export_policy(sqlite_engine, policy, fmt, Settings(), actor=ANN)
    body, manifest = first.list_path.read_bytes(), first.manifest_path.read_bytes()
    os.remove(first.list_path)
    second = export_policy(sqlite_engine, policy, fmt, Settings(), out=f"again/x.{fmt}", actor=ANN)
    assert second.list_path.read_bytes() == body
    assert json.loads(second.manifest_path.read_bytes())["list"]["sha256"] == json.loads(manifest)["list"]["sha256"]
    third = export_policy(sqlite_engine, policy, fmt, Settings(), actor=BOB)  # another person: same bytes
    assert third.manifest_path.read_bytes() == manifest  # the manifest too: its time is the policy's save time
    assert b"bob" not in third.manifest_path.read_bytes()  # who exported is in the activity log only
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(body.decode())))
        assert rows[1]["aggregate"] == "6.000000" and rows[4]["aggregate"] == ""
    if fmt == "parquet":
        table = pq.read_table(second.list_path)
        assert table.column("record_id").to_pylist() == ["a1", "a2", "a3", "b1", "b4"]


def test_refusals_write_nothing(sqlite_engine, tmp_path, monkeypatch):
    export_dir = tmp_path / "exports"
    policy = _save(sqlite_engine)
    with pytest.raises(NotFoundError, match="no complete student scores"):
        export_policy(sqlite_engine, policy, "jsonl", Settings(), actor=ANN)
    seed(sqlite_engine)
    with pytest.raises(ExportError, match="only inside the export folder"):
        export_policy(sqlite_engine, policy, "jsonl", Settings(), out=tmp_path / "elsewhere.jsonl", actor=ANN)
    with pytest.raises(ExportError, match="only inside the export folder"):
        export_policy(sqlite_engine, policy, "jsonl", Settings(), out="../escape.jsonl", actor=ANN)
    with pytest.raises(ExportError, match="unknown format"):
        export_policy(sqlite_engine, policy, "xlsx", Settings(), actor=ANN)  # type: ignore[arg-type]
    assert not export_dir.exists() or not any(export_dir.rglob("*"))
    assert not (tmp_path / "elsewhere.jsonl").exists() and not (tmp_path / "escape.jsonl").exists()

    def boom(*_a, **_k):
        raise OSError("disk full")

    monkeypatch.setattr("mira_core.selection.export.os.replace", boom)
    with pytest.raises(OSError):
        export_policy(sqlite_engine, policy, "jsonl", Settings(), actor=ANN)
    assert not any(p.is_file() for p in export_dir.rglob("*"))  # temp files removed, nothing half-written
    with read_conn(sqlite_engine) as conn:
        assert [c.kind for c in list_changes(conn)] == ["policy.save"]  # no export was logged


def test_diff_two_policies(sqlite_engine):
    seed(sqlite_engine)
    _save(sqlite_engine)
    _save(sqlite_engine, Policy(name="p2", cuts={"A": CutSpec(mode="top_records", value=25),
                                                   "B": CutSpec(mode="threshold", value=0)}))
    by_source = {d.source: d for d in diff_policies(sqlite_engine, "p1", "p2")}
    # A: p1 keeps a1, a2, a3; p2 keeps the top 1 of 4 (a1): a2 and a3 leave with 200 + 300 tokens
    assert (by_source["A"].leaving, by_source["A"].leaving_tokens, by_source["A"].entering) == (2, 500, 0)
    assert by_source["A"].sample_leaving == ("a2", "a3")
    # B: p2 adds b2 (2 >= 0, 60 tokens); b1 and b4 stay
    assert (by_source["B"].entering, by_source["B"].entering_tokens, by_source["B"].staying) == (1, 60, 2)
    with pytest.raises(NotFoundError):
        diff_policies(sqlite_engine, "p1", "missing")


@pytest.mark.parametrize("role", list(Role))
def test_writing_an_export_needs_a_curator_and_is_logged(engine, tmp_path, role):
    seed(engine)
    policy = _save(engine)
    who = Actor(user_id=f"{role}@example.org", role=role)
    if role is Role.viewer:
        with pytest.raises(PermissionDenied, match="writing exports needs the curator role; viewer@"):
            export_policy(engine, policy, "csv", Settings(), actor=who)
        assert not (tmp_path / "exports").exists()
        with read_conn(engine) as conn:
            assert [c.kind for c in list_changes(conn)] == ["policy.save"]  # refused: no files, no activity
        return
    res = export_policy(engine, policy, "csv", Settings(), out="lists/p1.csv", actor=who)
    assert res.list_path.is_file() and res.manifest_path.is_file()
    with read_conn(engine) as conn:
        log = list_changes(conn, kinds=["export.write"])
    assert [(c.actor, c.target_kind, c.target_id) for c in log] == [(who.user_id, "export", "lists/p1.csv")]
    assert log[0].detail == {"policy": "p1", "revision": policy_revision(policy), "format": "csv", "rows": 5,
                             "sha256": res.sha256}


def test_each_format_names_its_own_manifest(sqlite_engine):
    seed(sqlite_engine)
    policy = _save(sqlite_engine)
    names = {fmt: export_files(sqlite_engine, policy, fmt) for fmt in ("jsonl", "csv", "parquet")}
    assert [(f.list_name, f.manifest_name) for f in names.values()] == [
        ("keep-p1.jsonl", "keep-p1.jsonl.manifest.json"), ("keep-p1.csv", "keep-p1.csv.manifest.json"),
        ("keep-p1.parquet", "keep-p1.parquet.manifest.json")]


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600)])
def test_exported_files_get_the_permissions_of_any_new_file(sqlite_engine, umask, mode):
    # A keep list in a shared folder is read by teammates and the training job: not a private temp file's 0600.
    seed(sqlite_engine)
    policy = _save(sqlite_engine)
    old = os.umask(umask)
    try:
        res = export_policy(sqlite_engine, policy, "jsonl", Settings(), out=f"perm-{umask:o}.jsonl", actor=ANN)
    finally:
        os.umask(old)
    assert stat.S_IMODE(res.list_path.stat().st_mode) == mode
    assert stat.S_IMODE(res.manifest_path.stat().st_mode) == mode
    assert not [p for p in res.list_path.parent.iterdir() if p.name.endswith(".tmp")]
