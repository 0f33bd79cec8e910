"""Score matrices, teacher labels, mask versions and spot-checks in storage, on SQLite and PostgreSQL."""

import numpy as np
import pytest
from sqlalchemy import func, select

from mira_core.errors import NotFoundError
from mira_core.reliability.masks import Cell, CellDecision, Mask, MaskRules
from mira_core.storage import reliability_repo as repo
from mira_core.storage import spot_checks_repo as spot
from mira_core.storage.engine import read_conn, write_tx
from mira_core.storage.tables import scores
from tests.reliability.builders import add_scores, make_records


@pytest.fixture
def scored(engine):
    ids = make_records(engine, 12)
    rng = np.random.default_rng(0)
    old = rng.integers(0, 11, (12, 15)).astype(float)
    new = rng.integers(0, 11, (12, 15)).astype(float)
    new[0, 2] = np.nan
    add_scores(engine, ids, old, job_id="job1")
    add_scores(engine, ids, new, job_id="job2")  # later score wins
    teacher = np.clip(new + 1, 0, 10)
    add_scores(engine, ids[:8], teacher[:8], kind="teacher", judge="kimi")
    return engine, ids, new, teacher


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


def test_mask_versions_exactly_one_active_and_old_ones_readable(engine):
    m1 = Mask(cells={Cell("src_a", "A1"): CellDecision(masked=True, reason="MAE 3.00 > 2.00")})
    m2 = Mask(cells={Cell("*", "A7"): CellDecision(masked=True, reason="paper", by="import"),
                     Cell("src_a", "A1"): CellDecision(masked=False, reason="checked", by="curator")})
    with write_tx(engine) as conn:
        assert repo.active_mask_version(conn) is None and repo.active_mask(conn).cells == {}
        v1 = repo.save_mask_version(conn, name="first", mask=m1, rules=MaskRules(), created_by="ann")
        v2 = repo.save_mask_version(conn, name="second", mask=m2, rules=None, created_by="bob")
    with read_conn(engine) as conn:
        versions = repo.list_mask_versions(conn)
        assert versions.active.tolist() == [True, False]
        assert versions.masked.tolist() == [1, 1]
        assert repo.active_mask(conn).cells == m2.cells
        assert repo.load_mask(conn, v1).cells == m1.cells
    with write_tx(engine) as conn:
        repo.activate_mask_version(conn, v1)
    with read_conn(engine) as conn:
        assert repo.active_mask_version(conn) == v1
        assert repo.list_mask_versions(conn).active.sum() == 1
        with pytest.raises(NotFoundError, match="mask version 99"):
            repo.load_mask(conn, 99)
    assert v2 != v1


def test_spot_check_sampling_review_and_agreement(scored):
    engine, ids, new, teacher = scored
    with write_tx(engine) as conn:
        sid = spot.create_spot_check(conn, source="src_a", slot="A2", size=4, seed=1, created_by="ann",
                                     teacher="kimi")
        again = spot.create_spot_check(conn, source="src_a", slot="A2", size=4, seed=1, created_by="ann",
                                       teacher="kimi")
    with read_conn(engine) as conn:
        items = spot.spot_check_items_frame(conn, sid)
        same = spot.spot_check_items_frame(conn, again)
    assert len(items) == 4 and items.record_id.tolist() == same.record_id.tolist()  # seeded
    assert items.record_id.isin(ids[0::2]).all()  # src_a only
    with write_tx(engine) as conn:
        for pos, row in items.iterrows():
            if pos == 3:
                spot.record_review(conn, sid, pos, human_score=None, skipped=True, reviewer="ann")
            else:
                spot.record_review(conn, sid, pos, human_score=int(row.student_score), reviewer="ann", note="ok")
        with pytest.raises(ValueError, match="0-10"):
            spot.record_review(conn, sid, 0, human_score=11, reviewer="ann")
    with read_conn(engine) as conn:
        listing = spot.list_spot_checks(conn, source="src_a", slot="A2")
        agree = spot.agreement(conn)
    mine = listing.set_index("spot_check_id").loc[sid]
    assert mine.done == 4 and mine.status == "done"
    row = agree[(agree.source == "src_a") & (agree.slot == "A2")].iloc[0]
    assert row.reviewed == 3  # the second spot-check of the cell was never reviewed
    assert row.skipped == 1 and row.human_student_mae == 0.0


def test_spot_check_of_an_unscored_cell_is_refused(engine):
    make_records(engine, 2)
    with write_tx(engine) as conn, pytest.raises(NotFoundError, match="no student scores"):
        spot.create_spot_check(conn, source="src_a", slot="A1", size=3, created_by="ann")


def test_record_judgements_side_by_side_with_the_active_mask(scored):
    engine, ids, new, teacher = scored
    mask = Mask(cells={Cell("src_a", "A2"): CellDecision(masked=True, reason="MAE 3.10 > 2.00")})
    with write_tx(engine) as conn:
        repo.save_mask_version(conn, name="m", mask=mask, rules=None, created_by="ann")
    with read_conn(engine) as conn:
        df = repo.record_judgements(conn, ids[0])  # ids[0] is src_a and has a teacher label
        unlabelled = repo.record_judgements(conn, ids[9], teacher="kimi")
        with pytest.raises(NotFoundError):
            repo.record_judgements(conn, "missing")
    a2 = df.set_index("slot").loc["A2"]
    assert a2.masked and a2.mask_reason == "MAE 3.10 > 2.00"
    assert a2.student == new[0, 1] and a2.teacher == teacher[0, 1]
    assert a2.student_rationale == "mira-student because A2" and a2.teacher_rationale == "kimi because A2"
    assert not df.set_index("slot").loc["A1"].masked
    assert unlabelled.teacher.isna().all() and (unlabelled.teacher_rationale == "").all()
