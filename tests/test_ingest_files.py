"""Strange files never stop an import: each is reported by path and reason and the rest go in; gzip and zstd
inputs are read streaming; an item over the size limit is rejected for its size."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gzip
import json
import os
import shutil
import signal
import tempfile
import tracemalloc
from pathlib import Path

import pytest
import zstandard

from mira_core.cli import main
from mira_core.ingest import Importer, import_paths
from mira_core.query import RecordFilter
from mira_core.storage import migrate, records_repo
from mira_core.storage.engine import make_engine, read_conn


def _row(i: int) -> str:
    msgs = [{"role": "user", "content": f"Fix bug {i}"},
            {"role": "assistant", "content": "ok", "tool_calls": [
                {"id": "c", "type": "function", "function": {"name": "bash", "arguments": '{"command": "ls"}'}}]},
            {"role": "tool", "name": "bash", "tool_call_id": "c", "content": "a.py"}]
    return json.dumps({"messages": msgs, "instance_id": f"o__r-{i}"})


def _rows(*ids: int) -> bytes:
    return "".join(_row(i) + "\n" for i in ids).encode()


def _instances(engine) -> list[str]:
    with read_conn(engine) as conn:
        return sorted(r["instance_id"] for r in records_repo.iter_record_metadata(conn, RecordFilter()))


@contextlib.contextmanager
def _deadline(seconds: int):
    """Fail instead of hanging (a FIFO opened for reading blocks until a writer comes)."""
    def boom(*_):
        raise TimeoutError(f"import did not finish in {seconds} s")
    old = signal.signal(signal.SIGALRM, boom)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.fixture
def strange_folder(tmp_path):
    d = tmp_path / "runs"
    d.mkdir()
    (d / "good.jsonl").write_bytes(_rows(1, 2))
    (d / "gone.jsonl").symlink_to(d / "deleted.jsonl")  # dangling
    os.mkfifo(d / "pipe.jsonl")  # reading it would block forever
    (d / "zero.jsonl").symlink_to("/dev/zero")  # a character device: reading it never ends
    (d / "notes.txt").write_text("not a trajectory")
    (d / "more.jsonl.gz").write_bytes(gzip.compress(_rows(3)))
    (d / "sub").mkdir()
    (d / "sub" / "late.json").write_text("[" + _row(4) + "]")
    (tmp_path / "elsewhere").mkdir()
    (d / "linked").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    return d


def test_strange_files_are_reported_and_the_rest_imported(engine, strange_folder):
    d = strange_folder
    with _deadline(60):
        summary = import_paths(engine, [d], source="swe_qa")
    assert _instances(engine) == ["o__r-1", "o__r-2", "o__r-3", "o__r-4"]
    rejected = {r.where: r.reason for r in summary.rejected}
    assert rejected == {
        str(d / "gone.jsonl"): f"broken symbolic link (its target {d / 'deleted.jsonl'} does not exist)",
        str(d / "pipe.jsonl"): "a FIFO (named pipe), not a regular file: skipped without opening it",
        str(d / "zero.jsonl"): "a character device, not a regular file: skipped without opening it",
    }
    skipped = {s.where: s.reason for s in summary.skipped}
    assert set(skipped) == {str(d / "notes.txt"), str(d / "linked")}
    assert skipped[str(d / "notes.txt")].startswith("not an input file name (.json, .jsonl, .traj, optionally .gz")
    assert "symbolic link to a folder: not followed" in skipped[str(d / "linked")]
    assert summary.files == 3


def test_cli_prints_each_problem_with_its_path(strange_folder, capsys):
    with _deadline(60):
        rc = main(["import", str(strange_folder), "--source", "swe_qa", "--quiet"])
    out, err = capsys.readouterr()
    assert rc == 1  # something was rejected
    assert f"rejected {strange_folder / 'pipe.jsonl'}: a FIFO (named pipe)" in err
    assert f"rejected {strange_folder / 'gone.jsonl'}: broken symbolic link" in err
    assert f"skipped {strange_folder / 'notes.txt'}: not an input file name" in err
    assert out.startswith("imported 4, already present 0, rejected 3, skipped 2,")


def test_a_fifo_named_on_the_command_line_is_not_opened(engine, tmp_path):
    fifo = tmp_path / "stream.jsonl"
    os.mkfifo(fifo)
    good = tmp_path / "a.jsonl"
    good.write_bytes(_rows(1))
    with _deadline(60):
        summary = import_paths(engine, [fifo, tmp_path / "missing.jsonl", good], source="swe_qa")
    assert [(r.where, r.reason.split(",")[0]) for r in summary.rejected] == [
        (str(fifo), "a FIFO (named pipe)"), (str(tmp_path / "missing.jsonl"), "no such file or folder")]
    assert summary.imported == 1


_LIBC = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


@contextlib.contextmanager
def _file_access_as_nobody():
    """File permission checks as user `nobody`, in this thread only (Linux fsuid).

    Root reads any file whatever its mode (CAP_DAC_OVERRIDE); a non-root filesystem uid drops that, so a
    chmod-000 file is really unreadable to the import. As a normal user chmod alone does it.
    """
    if os.geteuid() != 0:
        yield
        return
    _LIBC.setfsgid(65534)
    _LIBC.setfsuid(65534)
    try:
        if _LIBC.setfsuid(65534) != 65534:
            pytest.skip("cannot switch the filesystem uid (setfsuid refused), so a chmod-000 file stays readable to root")
        yield
    finally:
        _LIBC.setfsuid(0)
        _LIBC.setfsgid(0)


@pytest.fixture
def open_dir():
    """A folder other users can enter (tmp_path's parents are closed to them); emptied afterwards."""
    base = Path(tempfile.mkdtemp(prefix="mira-perm-"))
    base.chmod(0o777)
    yield base
    for p in base.rglob("*"):
        with contextlib.suppress(OSError):
            p.chmod(0o777 if p.is_dir() else 0o666)
    shutil.rmtree(base)


def test_unreadable_file_and_folder_are_reported(open_dir):
    """A chmod-000 file and folder, really unreadable to the importing user; the readable file goes in."""
    data = open_dir / "data"
    data.mkdir(mode=0o755)
    (data / "ok.jsonl").write_bytes(_rows(1))
    (data / "secret.jsonl").write_bytes(_rows(2))
    (data / "secret.jsonl").chmod(0o000)
    (data / "locked").mkdir()
    (data / "locked" / "inner.jsonl").write_bytes(_rows(3))
    (data / "locked").chmod(0o000)
    url = f"sqlite:///{open_dir / 'perm.sqlite'}"
    eng = make_engine(url)
    migrate.upgrade(eng)
    eng.dispose()
    (open_dir / "perm.sqlite").chmod(0o666)
    with _file_access_as_nobody():
        eng = make_engine(url)
        try:
            summary = import_paths(eng, [data], source="swe_qa")
            stored = _instances(eng)
        finally:
            eng.dispose()
    assert stored == ["o__r-1"]
    assert {r.where: r.reason for r in summary.rejected} == {
        str(data / "secret.jsonl"): "cannot read: Permission denied",
        str(data / "locked"): "cannot list this folder: Permission denied",
    }


# ----------------------------------------------------------------------------- compressed inputs


def test_gzip_and_zstd_are_read_line_by_line(engine, tmp_path):
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(_rows(1, 2)))
    (tmp_path / "b.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(_rows(3)) +
                                          zstandard.ZstdCompressor().compress(_rows(4)))  # two frames
    (tmp_path / "c.json.gz").write_bytes(gzip.compress(("[" + _row(5) + "," + _row(6) + "]").encode()))
    (tmp_path / "d.jsonl").write_bytes(gzip.compress(_rows(7)))  # gzip without the name: told by its bytes
    summary = import_paths(engine, [tmp_path], source="swe_qa")
    assert summary.rejected == [] and summary.files == 4
    assert _instances(engine) == [f"o__r-{i}" for i in range(1, 8)]
    with read_conn(engine) as conn:  # each record keeps its place in the file and its decompressed bytes
        rows = {r["instance_id"]: r for r in records_repo.iter_record_metadata(conn, RecordFilter())}
        assert records_repo.get_metadata(conn, rows["o__r-2"]["record_id"])["origin"] == f"{tmp_path / 'a.jsonl.gz'}:2"
        assert records_repo.get_raw(conn, rows["o__r-4"]["record_id"]) == _row(4).encode()


def test_a_corrupt_gzip_keeps_what_was_read_and_says_why(engine, tmp_path):
    whole = gzip.compress(_rows(1, 2, 3) + b"x" * 200_000)
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(whole[: len(whole) - 40])  # truncated stream
    summary = import_paths(engine, [cut], source="swe_qa")
    assert _instances(engine) == ["o__r-1", "o__r-2", "o__r-3"]
    reasons = [r.reason for r in summary.rejected if r.where == str(cut)]
    assert reasons and reasons[-1].startswith("cannot read the rest of this file: ")


def test_compressed_file_through_the_worker_pool(sqlite_engine, tmp_path):
    f = tmp_path / "rows.jsonl.zst"
    f.write_bytes(zstandard.ZstdCompressor().compress(_rows(*range(1, 101)) + b"{bad\n"))
    summary = Importer(sqlite_engine, source="swe_qa", workers=2, parallel_min_bytes=0).run([f])
    assert summary.imported == 100
    assert [(r.where, r.reason.split(":")[0]) for r in summary.rejected] == [(f"{f}:101", "invalid JSON")]


def test_a_huge_compressed_line_is_rejected_in_bounded_memory(sqlite_engine, tmp_path):
    limit = 4 << 20
    huge = b'{"messages": [{"role": "user", "content": "' + b"x" * (50 << 20) + b'"}]}\n'
    f = tmp_path / "huge.jsonl.zst"
    f.write_bytes(zstandard.ZstdCompressor().compress(huge + _rows(1)))
    size = len(huge)  # the line break included, as for a plain file
    del huge
    tracemalloc.start()
    try:
        summary = import_paths(sqlite_engine, [f], source="swe_qa", max_bytes=limit)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [(r.where, r.reason) for r in summary.rejected] == [
        (f"{f}:1", f"line is {size:,} bytes, over the 4,194,304-byte limit (MIRA_MAX_RECORD_BYTES)")]
    assert summary.imported == 1 and peak < 4 * limit


# ----------------------------------------------------------------------------- one item over the limit


def test_a_single_record_over_the_limit_is_rejected_for_its_size(engine, tmp_path):
    """The only line of a file, and a pretty-printed document, each over the limit: the reason is the size."""
    big = json.dumps({"messages": [{"role": "user", "content": "y" * 5000}], "instance_id": "o__r-9"})
    line = tmp_path / "one.jsonl"
    line.write_text(big + "\n")
    doc = tmp_path / "one.traj"
    doc.write_text(json.dumps({"environment": "x", "history": [{"role": "user", "content": "z" * 5000}],
                               "trajectory": []}, indent=2))
    summary = import_paths(engine, [line, doc], source="swe_qa", max_bytes=1000)
    reasons = {r.where: r.reason for r in summary.rejected}
    assert reasons[f"{line}:1"] == f"line is {len(big) + 1:,} bytes, over the 1,000-byte limit (MIRA_MAX_RECORD_BYTES)"
    assert reasons[str(doc)].startswith(f"file is {doc.stat().st_size:,} bytes, over the 1,000-byte limit")
    assert "a single JSON document this large cannot be imported" in reasons[str(doc)]
    assert not any("unknown layout" in r for r in reasons.values())


def test_progress_of_a_compressed_file_stays_within_it(sqlite_engine, tmp_path):
    """Decompressed items add up to more than the file on disk; the bar never runs ahead into the next file."""
    packed = tmp_path / "a.jsonl.gz"
    packed.write_bytes(gzip.compress(_rows(*range(1, 41))))
    plain = tmp_path / "b.jsonl"
    plain.write_bytes(_rows(*range(41, 241)))
    seen: list[tuple[int, int]] = []
    Importer(sqlite_engine, source="swe_qa", batch_size=5,
             progress=lambda p: seen.append((p.bytes_done, p.imported))).run([packed, plain])
    size = packed.stat().st_size
    assert len(_rows(1, 2, 3, 4, 5)) > size  # five decompressed rows already outweigh the whole file
    during_first = [b for b, n in seen if n <= 40]
    assert len(during_first) >= 8 and max(during_first) <= size
    assert [b for b, _ in seen] == sorted(b for b, _ in seen) and seen[-1][0] == size + plain.stat().st_size
