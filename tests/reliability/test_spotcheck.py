"""Stratified spot-check sampling and human agreement on constructed arrays."""

import math

import numpy as np
import pandas as pd
import pytest

from mira_core.reliability.spotcheck import band_of, human_agreement, stratified_sample, teacher_counts


def test_sample_mixes_gaps_and_bands_and_is_seeded():
    ids = np.array([f"r{i}" for i in range(60)])
    student = np.array([i % 11 for i in range(60)], dtype=float)
    teacher = student.copy()
    teacher[:6] = np.clip(student[:6] + 5, 0, 10)  # six large gaps (r0..r5; r5 has 5->10)
    teacher[40:] = np.nan  # no teacher label for the tail
    items = stratified_sample(ids, student, teacher, 12, seed=4)
    assert [it.record_id for it in items] == [it.record_id for it in stratified_sample(ids, student, teacher, 12, seed=4)]
    assert len(items) == 12 and len({it.record_id for it in items}) == 12
    strata = [it.stratum for it in items]
    assert strata.count("gap") == 4  # a third of 12, out of 6 available
    assert {strata.count(b) for b in ("low", "mid", "high")} <= {2, 3, 4} and "low" in strata
    for it in items:
        if it.stratum != "gap":
            assert band_of(it.student) == it.stratum


def test_sample_tiny_and_empty_cells():
    assert stratified_sample(np.array([]), np.array([]), np.array([]), 5, seed=0) == []
    one = stratified_sample(np.array(["x", "y"]), np.array([3.0, np.nan]), np.array([np.nan, 1.0]), 5, seed=0)
    assert [(it.record_id, it.stratum) for it in one] == [("x", "low")]
    assert math.isnan(one[0].teacher)


def test_sample_draws_teacher_labelled_records_first_and_counts_them():
    # 30 records, all in the "mid" band (5), no gaps; the teacher labelled only every third one (10 of 30).
    ids = np.array([f"r{i}" for i in range(30)])
    student = np.full(30, 5.0)
    teacher = np.where(np.arange(30) % 3 == 0, 5.0, np.nan)
    for seed in range(5):
        items = stratified_sample(ids, student, teacher, 8, seed=seed)
        assert len(items) == 8 and all(np.isfinite(it.teacher) for it in items)  # 10 labelled cover 8
        assert teacher_counts([it.teacher for it in items]) == (8, 0)
    items = stratified_sample(ids, student, teacher, 12, seed=1)  # more than the labelled ones: 10 + 2 others
    counts = teacher_counts([it.teacher for it in items])
    assert counts == (10, 2) and str(counts) == "10 with a teacher label, 2 without"
    assert teacher_counts([None, 3.0, float("nan")]) == (1, 2)


def test_human_agreement_per_cell():
    items = pd.DataFrame({
        "source": ["a"] * 4 + ["b"],
        "slot": ["A1"] * 4 + ["A2"],
        "spot_check_id": ["s1"] * 4 + ["s2"],
        "position": [0, 1, 2, 3, 0],
        "reviewer": ["ann", "ann", "ann", None, "ann"],
        "human_score": [5, 7, np.nan, np.nan, 3],
        "skipped": [False, False, True, False, False],
        "student_score": [5, 9, 1, 1, 4],
        "teacher_score": [6, 7, 1, 1, np.nan],
    })
    out = human_agreement(items).set_index(["source", "slot"])
    a = out.loc[("a", "A1")]
    # Reviewed pairs (5,5) and (7,9) with the student: MAE (0 + 2) / 2 = 1; with the teacher (5,6), (7,7): 0.5.
    assert (a.reviewed, a.skipped, a.human_student_mae, a.human_teacher_mae, a.n_teacher) == (2, 1, 1.0, 0.5, 2)
    assert a.human_student_rho == 1.0  # two pairs in the same order
    assert (a["items"], a.reviewers, a.iaa_items, a.iaa_pairs) == (2, 1, 0, 0) and math.isnan(a.iaa_alpha)
    b = out.loc[("b", "A2")]
    assert b.reviewed == 1 and math.isnan(b.human_teacher_mae) and math.isnan(b.human_student_rho)


def test_each_reviewer_counts_and_reviewers_are_compared_with_each_other():
    # Three items of one cell: ann and bob scored all three, cat only the first; the student said 5 each time.
    human = {("ann", 0): 4, ("bob", 0): 6, ("cat", 0): 5, ("ann", 1): 8, ("bob", 1): 8, ("ann", 2): 1, ("bob", 2): 2}
    items = pd.DataFrame([{"source": "a", "slot": "A3", "spot_check_id": "s", "position": pos, "reviewer": who,
                           "human_score": float(h), "skipped": False, "student_score": 5.0, "teacher_score": np.nan}
                          for (who, pos), h in human.items()])
    row = human_agreement(items).iloc[0]
    assert (row.reviewed, row["items"], row.reviewers) == (7, 3, 3)
    assert row.human_student_mae == pytest.approx((1 + 1 + 0 + 3 + 3 + 4 + 3) / 7)  # every answer is a pair
    # Pairs on item 0: |4-6|, |4-5|, |6-5| = 2, 1, 1; item 1: 0; item 2: 1 -> 5 pairs, mean 1.0.
    assert (row.iaa_items, row.iaa_pairs, row.iaa_mad) == (3, 5, 1.0)
    assert 0.7 < row.iaa_alpha < 1.0  # close but not identical answers over a wide spread of scores
