"""Heatmap grid, page filters and cell detail computed for the reliability page."""

import numpy as np
import pandas as pd

from mira_core.reliability.masks import Cell, CellDecision, Mask
from mira_core.reliability.metrics import ALL_SOURCES, reliability_matrix
from mira_core.storage.reliability_repo import ScorePairs
from mira_core.views.reliability import (
    cell_detail,
    filter_pairs,
    heatmap_grid,
    jittered,
    largest_disagreements,
)


def pairs():
    student = np.array([[5.0] * 15, [8.0] * 15, [2.0] * 15, [6.0] * 15])
    teacher = np.array([[5.0] * 15, [3.0] * 15, [np.nan] * 15, [7.0] * 15])
    return ScorePairs(np.array(["r0", "r1", "r2", "r3"], dtype=object), np.array(["a", "a", "b", "b"], dtype=object),
                      np.array(["resolved", "not_resolved", "resolved", "resolved"], dtype=object),
                      np.array([100, 200, 300, 400]), student, teacher)


def test_filter_pairs_by_source_outcome_and_tokens():
    p = pairs()
    assert list(filter_pairs(p, sources=["a"]).record_ids) == ["r0", "r1"]
    assert list(filter_pairs(p, outcomes=["resolved"], min_tokens=150).record_ids) == ["r2", "r3"]
    assert filter_pairs(p) is p
    assert len(filter_pairs(p, max_tokens=50)) == 0


def test_heatmap_grid_says_too_few_and_marks_masked_cells():
    p = pairs()
    m = reliability_matrix(p.student, p.teacher, p.sources, min_n=2, intervals=False)
    mask = Mask(cells={Cell("a", "A3"): CellDecision(masked=True, reason="MAE <b>2</b>")})
    grid = heatmap_grid(m, "mae", mask)
    assert grid.rows == ["a", "b", ALL_SOURCES] and len(grid.cols) == 15
    assert grid.z[0, 0] == 2.5  # (|5-5| + |8-3|) / 2
    assert grid.text[0][2] == "2.50 ✕"
    assert np.isnan(grid.z[1, 0]) and grid.text[1][0] == "too few (n=1)"
    assert "masked (rule): MAE &lt;b&gt;2&lt;/b&gt;" in grid.hover[0][2]  # reasons are escaped in the hover
    assert grid.z[2, 0] == 2.0  # all sources: (0 + 5 + 1) / 3
    assert heatmap_grid(m.iloc[0:0], "rho").rows == []


def test_cell_detail_and_largest_disagreements():
    p = pairs()
    d = cell_detail(p, ALL_SOURCES, "A1")
    assert d.record_id.tolist() == ["r0", "r1", "r3"] and d.error.tolist() == [0.0, 5.0, -1.0]
    top = largest_disagreements(d, k=2)
    assert top.record_id.tolist() == ["r1", "r3"]
    assert cell_detail(p, "b", "A1").record_id.tolist() == ["r3"]
    j = jittered(np.array([1.0, 1.0, 1.0]), seed=1)
    assert np.all(np.abs(j - 1) <= 0.25) and len(set(j)) == 3


def test_sample_points_caps_the_scatter_and_histogram_counts_all():
    from mira_core.views.reliability import error_histogram, sample_points

    detail = pd.DataFrame({"record_id": [f"r{i}" for i in range(100)], "student": [5.0] * 100,
                           "teacher": [3.0] * 60 + [7.0] * 40, "error": [2.0] * 60 + [-2.0] * 40})
    assert len(sample_points(detail, 10)) == 10 and sample_points(detail, 200) is detail
    hist = error_histogram(detail).set_index("error").records
    assert (hist[2], hist[-2], hist.sum()) == (60, 40, 100)
    assert error_histogram(detail.iloc[0:0]).records.sum() == 0


def test_largest_disagreements_matches_a_full_sort():
    rng = np.random.default_rng(3)
    s = rng.integers(0, 11, 5000).astype(float)
    t = rng.integers(0, 11, 5000).astype(float)
    detail = pd.DataFrame({"record_id": [f"r{i:05d}" for i in range(5000)], "student": s, "teacher": t,
                           "error": s - t})
    full = detail.assign(a=detail.error.abs()).sort_values(["a", "record_id"], ascending=[False, True]).head(25)
    assert largest_disagreements(detail, 25).record_id.tolist() == full.record_id.tolist()
    assert largest_disagreements(detail.iloc[0:0], 5).empty
