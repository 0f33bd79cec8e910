"""MAE, Spearman with ties and bootstrap intervals against hand-derived values and scipy."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mira_core.reliability.metrics import (
    ALL_SOURCES,
    MATRIX_COLUMNS,
    SLOTS,
    bootstrap,
    mae,
    reliability_matrix,
    spearman,
)


def test_mae_and_spearman_with_ties_hand_derived_and_scipy():
    s = np.array([1, 2, 2, 4])
    t = np.array([2, 2, 3, 3])
    # MAE: |1-2| + |2-2| + |2-3| + |4-3| = 3, over 4 pairs = 0.75.
    assert mae(s, t) == pytest.approx(0.75)
    # Average ranks: s -> [1, 2.5, 2.5, 4], t -> [1.5, 1.5, 3.5, 3.5]; mean rank 2.5.
    # Deviations s: [-1.5, 0, 0, 1.5], t: [-1, -1, 1, 1]; cov = 1.5 + 1.5 = 3,
    # sum sq s = 4.5, sum sq t = 4, rho = 3 / sqrt(18) = 1/sqrt(2).
    rho = spearman(s, t)
    assert rho == pytest.approx(1 / math.sqrt(2))
    assert rho == pytest.approx(stats.spearmanr(s, t).statistic)


def test_spearman_matches_scipy_on_tied_random_scores():
    rng = np.random.default_rng(7)
    for n in (3, 10, 200, 5000):
        s = rng.integers(0, 11, n).astype(float)
        t = np.clip(s + rng.integers(-3, 4, n), 0, 10)
        assert spearman(s, t) == pytest.approx(stats.spearmanr(s, t).statistic, abs=1e-12)
        assert mae(s, t) == pytest.approx(np.mean(np.abs(s - t)))
    # Non-integer scores take the generic path.
    s, t = rng.normal(size=50), rng.normal(size=50)
    assert spearman(s, t) == pytest.approx(stats.spearmanr(s, t).statistic, abs=1e-12)


def test_nan_pairs_are_dropped_and_empty_is_nan():
    s = np.array([1.0, np.nan, 3.0, 5.0])
    t = np.array([1.0, 4.0, np.nan, 6.0])
    assert mae(s, t) == pytest.approx(0.5)  # pairs (1,1) and (5,6)
    assert math.isnan(mae(np.array([]), np.array([])))
    assert math.isnan(spearman(np.array([]), np.array([])))
    assert math.isnan(spearman(np.array([3.0]), np.array([4.0])))  # one pair: no ranking
    assert math.isnan(spearman(np.array([3.0, 3.0, 3.0]), np.array([1.0, 2.0, 3.0])))  # constant side


def test_bootstrap_interval_is_seeded_and_covers_the_point():
    rng = np.random.default_rng(1)
    s = rng.integers(0, 11, 300).astype(float)
    t = np.clip(s + rng.integers(-2, 3, 300), 0, 10)
    m1, r1 = bootstrap(s, t, resamples=500, seed=3)
    m2, r2 = bootstrap(s, t, resamples=500, seed=3)
    assert (m1, r1) == (m2, r2)
    assert m1.lo < m1.value < m1.hi and r1.lo < r1.value < r1.hi
    assert m1.n == 300
    # Interval width is about 2 * 1.96 * sd/sqrt(n) of the absolute errors (normal approximation).
    se = np.std(np.abs(s - t)) / math.sqrt(300)
    assert m1.hi - m1.lo == pytest.approx(2 * 1.96 * se, rel=0.25)
    # scipy's percentile bootstrap of the same statistic agrees within resampling noise.
    ref = stats.bootstrap((np.abs(s - t),), np.mean, n_resamples=2000, method="percentile", random_state=0)
    assert m1.lo == pytest.approx(ref.confidence_interval.low, abs=0.05)
    assert m1.hi == pytest.approx(ref.confidence_interval.high, abs=0.05)


def test_bootstrap_of_identical_pairs_is_a_point_and_tiny_cells_have_no_interval():
    m, r = bootstrap(np.array([4.0] * 5), np.array([4.0] * 5))
    assert (m.value, m.lo, m.hi) == (0.0, 0.0, 0.0)
    assert math.isnan(r.value)
    m, r = bootstrap(np.array([2.0]), np.array([5.0]))
    assert m.value == 3.0 and math.isnan(m.lo) and m.n == 1
    m, r = bootstrap(np.array([]), np.array([]))
    assert m.n == 0 and math.isnan(m.value)


def test_reliability_matrix_cells_match_direct_metrics():
    rng = np.random.default_rng(2)
    n = 400
    student = rng.integers(0, 11, (n, 15)).astype(float)
    teacher = np.clip(student + rng.integers(-3, 4, (n, 15)), 0, 10)
    teacher[:50, 3] = np.nan  # missing teacher labels on some rows
    sources = np.array(["a"] * 300 + ["b"] * 95 + ["c"] * 5)
    df = reliability_matrix(student, teacher, sources, min_n=30, resamples=200)
    assert list(df.columns) == list(MATRIX_COLUMNS)
    assert len(df) == 4 * 15
    assert set(df.source) == {"a", "b", "c", ALL_SOURCES}
    assert list(df[df.source == "a"].slot) == list(SLOTS)
    row = df[(df.source == "a") & (df.slot == "A4")].iloc[0]
    sel = (sources == "a") & ~np.isnan(teacher[:, 3])
    assert row.n == 250
    assert row.mae == pytest.approx(np.mean(np.abs(student[sel, 3] - teacher[sel, 3])))
    assert row.rho == pytest.approx(stats.spearmanr(student[sel, 3], teacher[sel, 3]).statistic)
    assert row.mae_lo < row.mae < row.mae_hi
    allrow = df[(df.source == ALL_SOURCES) & (df.slot == "A1")].iloc[0]
    assert allrow.n == n
    assert allrow.rho == pytest.approx(stats.spearmanr(student[:, 0], teacher[:, 0]).statistic)
    assert df[df.source == "c"].too_few.all() and not df[df.source == "a"].too_few.any()


def test_reliability_matrix_empty_and_generic_values():
    empty = np.empty((0, 15))
    df = reliability_matrix(empty, empty, np.array([], dtype=str))
    assert len(df) == 15 and (df.n == 0).all() and df.mae.isna().all() and df.too_few.all()
    s = np.full((4, 15), 2.5)
    t = np.full((4, 15), 3.0)
    df = reliability_matrix(s, t, np.array(["x"] * 4), min_n=2, intervals=False)
    assert df.mae.tolist() == [0.5] * 30
    assert df.mae_lo.isna().all() and df.rho.isna().all()


def test_reliability_matrix_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="must both be"):
        reliability_matrix(np.zeros((3, 15)), np.zeros((2, 15)), np.array(["a"] * 3))


def test_large_cells_use_the_normal_approximation_with_the_same_intervals():
    from mira_core.reliability.metrics import metrics_from_counts, pair_table, resample_counts

    rng = np.random.default_rng(5)
    s = rng.integers(0, 11, 6000).astype(float)
    t = np.clip(s + rng.integers(-4, 5, 6000), 0, 10)
    table = pair_table(s, t)
    exact = resample_counts(np.random.default_rng(1), table.counts, 2000, exact_below=10**9)
    approx = resample_counts(np.random.default_rng(1), table.counts, 2000)
    assert exact.sum(axis=1).tolist() == [6000.0] * 2000  # the exact draw keeps n
    assert np.allclose(approx.sum(axis=1), 6000, atol=1.0)  # the approximation keeps n (up to clipping)
    for k in (0, 1):  # MAE, rho
        e = np.percentile(metrics_from_counts(table, exact)[k], [2.5, 97.5])
        a = np.percentile(metrics_from_counts(table, approx)[k], [2.5, 97.5])
        width = e[1] - e[0]
        assert np.allclose(a, e, atol=0.1 * width), (k, a, e)


def test_unlabelled_rows_change_nothing_and_their_source_keeps_its_cells():
    # The matrix counts labelled rows only; rows without any teacher value (most of a real store) must
    # leave every number as it was, and a source none of whose records is labelled still gets n = 0 cells.
    rng = np.random.default_rng(11)
    s = rng.integers(0, 11, (300, 15)).astype(np.float32)
    t = np.clip(s + rng.integers(-2, 3, (300, 15)), 0, 10).astype(np.float32)
    t[rng.random((300, 15)) < 0.2] = np.nan
    sources = np.array(["a", "b"] * 150, dtype=object)
    base = reliability_matrix(s, t, sources, 30)
    extra = rng.integers(0, 11, (500, 15)).astype(np.float32)
    more = reliability_matrix(np.vstack([extra, s]), np.vstack([np.full((500, 15), np.nan, np.float32), t]),
                              np.concatenate([np.array(["c", "a"] * 250, dtype=object), sources]), 30)
    assert set(more.source) == {"a", "b", "c", "all sources"}
    assert (more[more.source == "c"].n == 0).all()
    pd.testing.assert_frame_equal(more[more.source != "c"].reset_index(drop=True), base)
