"""Teacher-label import: matching, rejections with line numbers, idempotent re-import, several teachers."""

import json

import numpy as np
import pytest

from mira_core.dimensions import SLOTS
from mira_core.identity import PermissionDenied, Role
from mira_core.reliability import teacher as teacher_module
from mira_core.reliability.demo_teacher import (
    DEMO_TEACHER,
    cell_difficulty,
    label_demo_corpus,
    make_demo_teacher_labels,
)
from mira_core.reliability.metrics import reliability_matrix
from mira_core.reliability.teacher import import_teacher_file, import_teacher_lines
from mira_core.storage import reliability_repo as repo
from mira_core.storage.engine import read_conn
from mira_core.team import list_changes
from tests.reliability.builders import add_scores, make_records, person


def full(score, rationale="r"):
    return {slot: {"score": score, "rationale": f"{rationale} {slot}"} for slot in SLOTS}


@pytest.fixture
def corpus(sqlite_engine):
    ids = make_records(sqlite_engine, 4)
    add_scores(sqlite_engine, ids, np.full((4, 15), 5.0))
    return sqlite_engine, ids


def test_import_matches_by_id_and_by_source_instance_and_reports_bad_lines(corpus, tmp_path):
    engine, ids = corpus
    lines = [
        json.dumps({"record_id": ids[0], "scores": full(7)}),
        json.dumps({"source": "src_b", "instance_id": "inst-1", "scores": {"A1": 3, "A2": {"score": None}}}),
        "",
        "{not json",
        json.dumps({"record_id": "nope", "scores": full(1)}),
        json.dumps({"source": "src_a", "instance_id": "inst-99", "scores": full(1)}),
        json.dumps({"record_id": ids[2], "scores": {"A1": 11}}),
        json.dumps({"record_id": ids[2], "scores": {"A16": 1}}),
        json.dumps({"record_id": ids[2]}),
        json.dumps({"record_id": ids[2], "scores": {"A1": "7"}}),
        json.dumps({"record_id": ids[2], "scores": {"A1": 1}}).replace("1}}", "NaN}}"),
    ]
    path = tmp_path / "teacher.jsonl"
    path.write_text("\n".join(lines) + "\n")
    summary = import_teacher_file(engine, path, teacher="kimi", actor=person())
    assert (summary.lines, summary.stored, summary.partial) == (11, 2, 1)
    reasons = dict(summary.rejections)
    assert sorted(reasons) == [4, 5, 6, 7, 8, 9, 10, 11]
    assert reasons[4].startswith("not valid JSON")
    assert reasons[5] == "unmatched: no record with id nope"
    assert reasons[6] == "unmatched: no record for source 'src_a', instance 'inst-99'"
    assert "between 0 and 10" in reasons[7] and "unknown slot 'A16'" in reasons[8]
    assert "exactly one of raw_output or scores" in reasons[9]
    assert "scores.A1" in reasons[10] and "NaN is not a valid JSON number" in reasons[11]
    with read_conn(engine) as conn:
        pairs = repo.load_score_pairs(conn, teacher="kimi")
        rationale = repo.label_rationales(conn, ids[0], "A3")
    row = {rid: i for i, rid in enumerate(pairs.record_ids)}
    assert (pairs.teacher[row[ids[0]]] == 7).all()
    assert pairs.teacher[row[ids[1]], 0] == 3 and np.isnan(pairs.teacher[row[ids[1]], 1])
    assert "r A3" in set(rationale.rationale)


def test_reimport_is_idempotent_and_teachers_coexist(corpus):
    engine, ids = corpus
    lines = [json.dumps({"record_id": rid, "scores": full(6)}) for rid in ids]
    import_teacher_lines(engine, lines, teacher="kimi", actor=person())
    with read_conn(engine) as conn:
        version = repo.data_version(conn)
    import_teacher_lines(engine, lines, teacher="kimi", actor=person())
    import_teacher_lines(engine, [json.dumps({"record_id": ids[0], "scores": full(2)})], teacher="other", actor=person())
    with read_conn(engine) as conn:
        assert repo.data_version(conn).split(":")[0] == str(int(version.split(":")[0]) + 1)  # +1 row: other
        assert repo.list_judges(conn, "teacher") == ["kimi", "other"]
        kimi = repo.load_score_pairs(conn, teacher="kimi")
        other = repo.load_score_pairs(conn, teacher="other")
    assert (kimi.teacher == 6).all()
    assert np.isfinite(other.teacher).any(axis=1).sum() == 1


def test_ambiguous_instance_needs_run_id(sqlite_engine):
    from mira_core.records import Record
    from mira_core.storage.engine import write_tx
    from mira_core.storage.records_repo import StoredItem, insert_items

    recs = [Record(record_id=f"r{i}", source="s", format="t", instance_id="same", run_id=f"run{i}") for i in range(2)]
    with write_tx(sqlite_engine) as conn:
        insert_items(conn, [StoredItem(r, b"{}") for r in recs])
    summary = import_teacher_lines(sqlite_engine, [
        json.dumps({"source": "s", "instance_id": "same", "scores": {"A1": 1}}),
        json.dumps({"source": "s", "instance_id": "same", "run_id": "run1", "scores": {"A1": 1}}),
    ], teacher="kimi", actor=person())
    assert summary.stored == 1
    assert summary.rejections[0][0] == 1 and "ambiguous: 2 records" in summary.rejections[0][1]


def test_raw_output_is_parsed_with_the_student_parser(corpus):
    pytest.importorskip("mira_core.scoring.parse")
    from mira_core.scoring.simulator import simulated_answer

    engine, ids = corpus
    text = simulated_answer("a prompt", seed=3)
    summary = import_teacher_lines(engine, [
        json.dumps({"record_id": ids[0], "raw_output": text}),
        json.dumps({"record_id": ids[1], "raw_output": "I refuse to score this."}),
    ], teacher="kimi", actor=person())
    assert summary.stored == 1 and summary.rejections[0][0] == 2
    assert summary.rejections[0][1].startswith("unparseable")
    with read_conn(engine) as conn:
        pairs = repo.load_score_pairs(conn, teacher="kimi")
    assert np.isfinite(pairs.teacher[list(pairs.record_ids).index(ids[0])]).all()


def test_demo_teacher_is_deterministic_partial_and_unevenly_reliable():
    rng = np.random.default_rng(0)
    n = 3000
    student = rng.integers(0, 11, (n, 15)).astype(float)
    sources = np.array(["agent_openhands", "davinc_dev", "swe_qa"])[rng.integers(0, 3, n)]
    rows = [(f"r{i}", sources[i], list(student[i])) for i in range(n)]
    lines = list(make_demo_teacher_labels(rows, seed=7, coverage=0.5))
    assert lines == list(make_demo_teacher_labels(rows, seed=7, coverage=0.5))
    assert 0.45 * n < len(lines) < 0.55 * n
    teacher = np.full((n, 15), np.nan)
    for line in lines:
        d = json.loads(line)
        teacher[int(d["record_id"][1:])] = [d["scores"][s]["score"] for s in SLOTS]
        assert "SIMULATED" in d["scores"]["A1"]["rationale"]
    df = reliability_matrix(student, teacher, sources, intervals=False)
    cells = df[df.source != "all sources"]
    hard = [cell_difficulty(s, slot, 7)[0] < 0.5 for s, slot in zip(cells.source, cells.slot, strict=True)]
    assert 0 < sum(hard) < len(hard) / 2  # some cells unreliable, most fine
    assert cells[hard].rho.max() < cells[[not h for h in hard]].rho.min()
    assert cells[hard].mae.min() > cells[[not h for h in hard]].mae.max() * 0.8


def test_bad_bytes_and_unstorable_text_do_not_stop_the_import(engine, tmp_path):
    ids = make_records(engine, 2)
    add_scores(engine, ids, np.full((2, 15), 5.0))
    good = json.dumps({"record_id": ids[0], "scores": {"A1": {"score": 4, "rationale": "nul\u0000 and \ud800 here"}}})
    path = tmp_path / "t.jsonl"
    path.write_bytes(b'{"record_id": "\xff\xfe"}\n' + good.encode() + b"\n")
    summary = import_teacher_file(engine, path, teacher="kimi", actor=person())
    assert summary.stored == 1 and summary.rejections == [(1, "not valid UTF-8 (byte 15)")]
    with read_conn(engine) as conn:
        rationale = repo.label_rationales(conn, ids[0], "A1")
    assert "nul\u2400 and \ufffd here" in set(rationale.rationale)


@pytest.mark.parametrize("role", list(Role))
def test_importing_teacher_labels_needs_a_curator_and_each_batch_names_them(engine, role, tmp_path, monkeypatch):
    ids = make_records(engine, 4)
    add_scores(engine, ids, np.full((4, 15), 5.0))
    monkeypatch.setattr(teacher_module, "BATCH", 3)  # 4 lines: two batches, two transactions
    path = tmp_path / "teacher.jsonl"
    path.write_text("".join(json.dumps({"record_id": rid, "scores": full(6)}) + "\n" for rid in ids))
    who = person(f"{role}@example.org", role)
    if role is Role.viewer:
        for run in (lambda: import_teacher_file(engine, path, teacher="kimi", actor=who),
                    lambda: import_teacher_lines(engine, [], teacher="kimi", actor=who),
                    lambda: label_demo_corpus(engine, actor=who)):
            with pytest.raises(PermissionDenied, match="importing teacher labels needs the curator role; viewer@"):
                run()
    else:
        assert import_teacher_file(engine, path, teacher="kimi", actor=who).stored == 4
        assert label_demo_corpus(engine, actor=who, coverage=1.0).stored == 4
    with read_conn(engine) as conn:
        teachers = repo.list_judges(conn, "teacher")
        log = list_changes(conn)
    if role is Role.viewer:
        assert (teachers, log) == ([], [])
        return
    assert sorted(teachers) == sorted(["kimi", DEMO_TEACHER])
    assert [(c.kind, c.actor, c.target_kind, c.target_id, c.detail) for c in log] == [
        ("teacher.import", who.user_id, "teacher", DEMO_TEACHER, {"labels": 1}),
        ("teacher.import", who.user_id, "teacher", DEMO_TEACHER, {"labels": 3}),
        ("teacher.import", who.user_id, "teacher", "kimi", {"labels": 1}),
        ("teacher.import", who.user_id, "teacher", "kimi", {"labels": 3}),
    ]


def test_a_line_over_the_size_limit_is_rejected_unread(corpus, tmp_path):
    """A 50 MB line with a 1 MB limit: rejected with its line number and size, never held whole."""
    import tracemalloc

    engine, ids = corpus
    huge = json.dumps({"record_id": ids[0], "raw_output": "x" * (50 << 20)})
    path = tmp_path / "teacher.jsonl"
    path.write_text(huge + "\n" + json.dumps({"record_id": ids[1], "scores": full(6)}) + "\n")
    size = len(huge) + 1
    del huge
    tracemalloc.start()
    try:
        summary = import_teacher_file(engine, path, teacher="kimi", actor=person(), max_bytes=1 << 20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert summary.rejections == [(1, f"line is {size:,} bytes, over the 1,048,576-byte limit (MIRA_MAX_RECORD_BYTES)")]
    assert (summary.lines, summary.stored) == (2, 1)
    assert peak < 8 << 20


def test_two_lines_for_one_record_report_the_duplicate(corpus, tmp_path, monkeypatch):
    """Within a batch and across batches: the first line's label is kept, each later one is reported."""
    engine, ids = corpus
    monkeypatch.setattr(teacher_module, "BATCH", 2)
    lines = [json.dumps({"record_id": ids[0], "scores": full(7)}),
             json.dumps({"record_id": ids[0], "scores": full(2)}),  # same batch
             json.dumps({"record_id": ids[1], "scores": full(4)}),
             json.dumps({"source": "src_a", "instance_id": "inst-0", "scores": full(9)})]  # = ids[0], next batch
    path = tmp_path / "teacher.jsonl"
    path.write_text("\n".join(lines) + "\n")
    summary = import_teacher_file(engine, path, teacher="kimi", actor=person())
    assert summary.stored == 2
    assert [n for n, _ in summary.rejections] == [2, 4]
    assert summary.rejections[0][1] == (f"duplicate: record {ids[0]} is already labelled on line 1 of this file; "
                                        "this line is ignored (one label per record and teacher)")
    with read_conn(engine) as conn:
        kept = repo.label_rationales(conn, ids[0], "A1")
    assert list(kept[kept.judge_kind == "teacher"].score) == [7]  # line 1's label, not line 2's or 4's
