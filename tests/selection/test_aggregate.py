import json
from pathlib import Path

import numpy as np
import pytest

from mira_core.dimensions import cluster_weights
from mira_core.selection.aggregate import (
    OVERRIDE_DROP,
    OVERRIDE_KEEP,
    STATUS_FORCE_DROP,
    STATUS_FORCE_KEEP,
    STATUS_SCORED,
    STATUS_UNSCORED,
    aggregate_scores,
    criterion_values,
    record_status,
)
from mira_core.settings import Settings

NAN = np.nan
ANCHORS = Settings().anchors_path


def _row(first: list[float], rest: float = 5.0) -> list[float]:
    return first + [rest] * (15 - len(first))


def test_mean_over_unmasked_dims_of_the_records_source():
    scores = np.array([
        _row([10, 0, 4]),   # source 0: A2 masked
        _row([10, 0, 4]),   # source 1: nothing masked
        _row([2, 8]),       # source 1
    ])
    mask = np.zeros((2, 15), dtype=bool)
    mask[0, 1] = True
    got = aggregate_scores(scores, np.array([0, 1, 1]), mask, np.array([True, True, True]))
    # record 0: dims A1, A3..A15 = 10 + 4 + 12*5 = 74 over 14 dims -> 5.2857...
    # record 1: all 15 dims = 10 + 0 + 4 + 12*5 = 74 over 15 -> 4.9333...
    # record 2: 2 + 8 + 13*5 = 75 over 15 -> 5.0
    assert got == pytest.approx([74 / 14, 74 / 15, 5.0])


def test_incomplete_missing_or_fully_masked_records_are_unscored():
    scores = np.array([
        _row([7]),             # complete flag false -> unscored
        _row([NAN]),           # A1 missing and A1 not masked -> unscored
        _row([NAN, 3]),        # source 1 masks A1, so the missing A1 does not matter
        _row([1]),             # source 2 masks everything -> unscored
    ])
    mask = np.zeros((3, 15), dtype=bool)
    mask[1, 0] = True
    mask[2, :] = True
    got = aggregate_scores(scores, np.array([0, 0, 1, 2]), mask, np.array([False, True, True, True]))
    assert np.isnan(got[0]) and np.isnan(got[1]) and np.isnan(got[3])
    # record 2: A2..A15 = 3 + 13*5 = 68 over 14 dims
    assert got[2] == pytest.approx(68 / 14)


def test_cluster_size_weighting():
    scores = np.array([_row([10, 0], rest=0.0)])
    mask = np.zeros((1, 15), dtype=bool)
    mask[0, 2:] = True  # only A1 and A2 count
    got = aggregate_scores(scores, np.array([0]), mask, np.array([True]), np.array(cluster_weights(ANCHORS)))
    # (10 * 59467 + 0 * 41355) / (59467 + 41355) = 594670 / 100822 = 5.8982...
    assert got[0] == pytest.approx(594670 / 100822)
    plain = aggregate_scores(scores, np.array([0]), mask, np.array([True]))
    assert plain[0] == pytest.approx(5.0)


def test_alternative_criteria_overall_and_recommendation():
    kw = {
        "scores": np.full((3, 15), 5.0), "source_codes": np.zeros(3, dtype=int), "mask": np.zeros((1, 15), dtype=bool),
        "complete": np.array([True, True, False]), "overall": np.array([80.0, 35.0, 90.0]),
        "recommendation": np.array([0, 2, 0]),
    }
    assert criterion_values("overall", **kw)[:2] == pytest.approx([80.0, 35.0])
    assert np.isnan(criterion_values("overall", **kw)[2])  # incomplete stays unscored
    rec = criterion_values("recommendation", **kw)
    assert rec[:2] == pytest.approx([2.0, 0.0]) and np.isnan(rec[2])  # keep -> 2, drop -> 0
    with pytest.raises(ValueError, match="unknown criterion"):
        criterion_values("median", **kw)  # type: ignore[arg-type]


def test_overrides_win_even_over_unscored():
    values = np.array([5.0, NAN, NAN, 1.0, 9.0])
    override = np.array([0, 0, OVERRIDE_KEEP, OVERRIDE_KEEP, OVERRIDE_DROP])
    assert record_status(values, override).tolist() == [
        STATUS_SCORED, STATUS_UNSCORED, STATUS_FORCE_KEEP, STATUS_FORCE_KEEP, STATUS_FORCE_DROP]


def test_bad_mask_shape_is_refused():
    with pytest.raises(ValueError, match="mask must be"):
        aggregate_scores(np.zeros((1, 15)), np.array([0]), np.zeros((1, 14), dtype=bool), np.array([True]))


def test_weights_follow_the_anchors_file(tmp_path):
    """A swapped anchors file changes the weighted criterion: A1 weighs 1 and A2 weighs 3 here."""
    lines = Path(ANCHORS).read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    for row in rows:
        row["cluster_size"] = {"A1": 1, "A2": 3}.get(row["slot"], 1)
    swapped = tmp_path / "anchors.jsonl"
    swapped.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    scores = np.array([_row([10, 0], rest=0.0)])
    mask = np.zeros((1, 15), dtype=bool)
    mask[0, 2:] = True
    kw = {"scores": scores, "source_codes": np.array([0]), "mask": mask, "complete": np.array([True]),
          "overall": np.array([50.0]), "recommendation": np.array([0])}
    got = criterion_values("weighted", weights=np.array(cluster_weights(swapped)), **kw)
    assert got[0] == pytest.approx((10 * 1 + 0 * 3) / 4)  # 2.5, not the model card's 5.898
    with pytest.raises(ValueError, match="cluster sizes"):
        criterion_values("weighted", **kw)


@pytest.mark.parametrize("weighted", [False, True])
def test_float32_scores_take_a_shortcut_that_gives_the_same_means_to_the_last_bit(weighted):
    from mira_core.selection.aggregate import aggregate_scores

    rng = np.random.default_rng(7 + weighted)
    n = 5000
    halves = rng.integers(0, 21, size=(n, 15)) / 2
    halves[rng.random((n, 15)) < 0.02] = np.nan  # missing slots, some of them masked
    codes = rng.integers(0, 3, size=n)
    mask = rng.random((3, 15)) < 0.3
    mask[2] = True  # a source with every dimension masked: all its records unscored
    complete = rng.random(n) < 0.95
    weights = rng.integers(1, 6, size=15).astype(float) if weighted else None
    general = aggregate_scores(halves, codes, mask, complete, weights)  # float64 scores: the general path
    shortcut = aggregate_scores(halves.astype(np.float32), codes, mask, complete, weights)
    assert np.array_equal(general, shortcut, equal_nan=True)
    assert np.isnan(shortcut[codes == 2]).all() and (~np.isnan(shortcut)).sum() > n // 2
