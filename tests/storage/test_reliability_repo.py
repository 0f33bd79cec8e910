"""Reliability storage on SQLite and PostgreSQL: score matrices, teacher labels, mask version rows, one
record's latest scores, spot-check rows."""

import numpy as np
import pytest
from sqlalchemy import func, select

from mira_core.errors import NotFoundError
from mira_core.storage import reliability_repo as repo
from mira_core.storage import spot_checks_repo as spot
from mira_core.storage.engine import read_conn, write_tx
from mira_core.storage.tables import scores
from tests.reliability.builders import add_scores, scored_corpus


@pytest.fixture
def scored(engine):
    return scored_corpus(engine)


def test_load_score_pairs_takes_latest_student_and_aligns_teacher(scored):
    engine, ids, new, teacher = scored
    with read_conn(engine) as conn:
        pairs = repo.load_score_pairs(conn, teacher="kimi")
        assert repo.list_judges(conn, "teacher") == ["kimi"]
        assert repo.list_prompt_versions(conn) == ["v1"]
        only_a = repo.load_score_pairs(conn, teacher="kimi", sources=["src_a"])
        none = repo.load_score_pairs(conn, student_judge="other-model")
    order = {rid: i for i, rid in enumerate(ids)}
    assert sorted(pairs.record_ids) == list(pairs.record_ids) and len(pairs) == 12
    for row, rid in enumerate(pairs.record_ids):
        np.testing.assert_array_equal(pairs.student[row], new[order[rid]])
        if order[rid] < 8:
            np.testing.assert_array_equal(pairs.teacher[row], teacher[order[rid]])
        else:
            assert np.isnan(pairs.teacher[row]).all()
    assert set(only_a.sources) == {"src_a"} and len(only_a) == 6
    assert len(none) == 0 and none.student.shape == (0, 15)


def test_data_version_changes_when_scores_change(scored):
    engine, ids, new, _ = scored
    with read_conn(engine) as conn:
        before = repo.data_version(conn)
    add_scores(engine, ids[:1], new[:1], kind="teacher", judge="other")
    with read_conn(engine) as conn:
        assert repo.data_version(conn) != before


def test_teacher_labels_replace_per_record_and_teacher(scored):
    engine, ids, _, _ = scored
    label = repo.TeacherLabel(record_id=ids[0], raw_output="x", complete=True, slots={"A1": 3.0}, parsed_json="{}")
    with write_tx(engine) as conn:
        repo.store_teacher_labels(conn, "kimi", [label])
        repo.store_teacher_labels(conn, "kimi", [label])
        repo.store_teacher_labels(conn, "gpt", [repo.TeacherLabel(ids[0], "y", True, {"A1": 9.0}, "{}")])
    with read_conn(engine) as conn:
        kimi = repo.load_score_pairs(conn, teacher="kimi")
        n_kimi = conn.execute(select(func.count()).select_from(scores).where(
            scores.c.judge == "kimi", scores.c.record_id == ids[0])).scalar_one()
        gpt = repo.load_score_pairs(conn, teacher="gpt")
        keys = repo.resolve_record_ids(conn, [("src_a", "inst-0", None), ("src_a", "inst-1", None)])
    row = list(kimi.record_ids).index(ids[0])
    assert n_kimi == 1  # re-import replaced, not duplicated
    assert kimi.teacher[row, 0] == 3.0 and np.isnan(kimi.teacher[row, 1])
    assert gpt.teacher[row, 0] == 9.0
    assert keys[("src_a", "inst-0", None)] == [ids[0]] and keys[("src_a", "inst-1", None)] == []


def test_label_rationales_reads_one_record(scored):
    engine, ids, _, _ = scored
    with read_conn(engine) as conn:
        df = repo.label_rationales(conn, ids[1], "A4")
    assert set(df.judge_kind) == {"student", "teacher"}
    assert "kimi because A4" in set(df.rationale)


def test_spot_check_items_stored_in_order_and_read_back_as_scores(scored):
    engine, ids, _, _ = scored
    rows = [spot.SpotCheckItemRow(ids[2], "gap", 9.0, 2.0), spot.SpotCheckItemRow(ids[0], "low", 1.0, None)]
    with write_tx(engine) as conn:
        sid = spot.insert_spot_check(conn, source="src_a", slot="A2", created_by="ann", seed=3,
                                     student_judge=None, teacher="kimi", items=rows)
        spot.record_review(conn, sid, 1, human_score=4, reviewer="ann")
    with read_conn(engine) as conn:
        items = spot.spot_check_items_frame(conn, sid)
        check = spot.get_spot_check(conn, sid)
        scores_ = spot.item_scores(conn)
    assert items.record_id.tolist() == [ids[2], ids[0]] and items.stratum.tolist() == ["gap", "low"]
    assert check["size"] == 2 and check["seed"] == 3 and check["status"] == "open"
    assert list(scores_.columns) == list(spot.SCORE_COLUMNS) and len(scores_) == 2  # unreviewed items too
    by_student = scores_.set_index("student_score")
    assert by_student.loc[1.0, "human_score"] == 4.0 and np.isnan(by_student.loc[1.0, "teacher_score"])
    assert np.isnan(by_student.loc[9.0, "human_score"]) and not by_student.loc[9.0, "skipped"]


def test_mask_version_cells_are_stored_and_read_as_plain_rows(engine):
    cells = [repo.MaskCellRow("src_a", "A1", True, "MAE 3.00 > 2.00", "rule"),
             repo.MaskCellRow("*", "A7", False, "checked", "curator")]
    with write_tx(engine) as conn:
        vid = repo.insert_mask_version(conn, name="m", cells=cells, rules_json='{"min_n": 5}', created_by="ann",
                                       activate=False)
        empty = repo.insert_mask_version(conn, name="none", cells=[], rules_json="{}", created_by="ann")
    with read_conn(engine) as conn:
        assert sorted(repo.mask_cell_rows(conn, vid)) == sorted(cells)
        assert repo.mask_cell_rows(conn, empty) == []
        assert repo.active_mask_version(conn) == empty
        versions = repo.list_mask_versions(conn).set_index("version_id")
        with pytest.raises(NotFoundError, match="mask version 99"):
            repo.mask_cell_rows(conn, 99)
    assert versions.loc[vid, "rules_json"] == '{"min_n": 5}' and versions.loc[vid, "masked"] == 1


def test_record_latest_scores_reads_values_and_rationales(scored):
    engine, ids, new, teacher = scored
    with read_conn(engine) as conn:
        got = repo.record_latest_scores(conn, ids[0])
        unlabelled = repo.record_latest_scores(conn, ids[9], teacher="kimi")
        with pytest.raises(NotFoundError, match="record missing not found"):
            repo.record_latest_scores(conn, "missing")
    assert got.source == "src_a" and got.student is not None and got.teacher is not None
    assert got.student.values[1] == new[0, 1] and got.student.values[2] is None
    assert got.teacher.values[1] == teacher[0, 1]
    assert got.student.rationales[1] == "mira-student because A2" and got.teacher.rationales[1] == "kimi because A2"
    assert unlabelled.teacher is None and unlabelled.student is not None
