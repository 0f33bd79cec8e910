import numpy as np
import pytest

from mira_core.selection.generate import generate_data
from mira_core.selection.preview import Cut, PreviewSettings, details, precompute, preview
from tests.selection.builders import small_corpus

NO_MASK = np.zeros((2, 15), dtype=bool)


def _settings(a: Cut, b: Cut, **kw) -> PreviewSettings:
    return PreviewSettings(cuts={"A": a, "B": b}, **kw)


def test_threshold_counts_tokens_and_the_records_kept_apart():
    pre = precompute(small_corpus(), NO_MASK)
    p = preview(pre, _settings(Cut("threshold", 6), Cut("threshold", 5)))
    a, b = p.sources
    # A: 8, 6, 6 pass (ties at the threshold are kept) -> 3 records, 100 + 200 + 300 = 600 tokens
    assert (a.kept, a.kept_tokens, a.cut_value, a.scored) == (3, 600, 6.0, 4)
    # B: b1 = 7 passes (50 tokens) + b4 forced keep (10 tokens); b5 = 9 is forced out; b3 unscored
    assert (b.cut_records, b.kept, b.kept_tokens) == (1, 2, 60)
    assert (b.unscored, b.unscored_tokens, b.force_keep, b.force_drop, b.force_drop_tokens) == (1, 1000, 1, 1, 5)
    assert (p.total.kept, p.total.kept_tokens, p.total.records, p.total.tokens) == (5, 660, 9, 2125)


def test_percent_modes_cut_inside_ties_by_record_id():
    pre = precompute(small_corpus(), NO_MASK)
    # top 50% of A's 4 records -> 2: a1 (8) and a2 (6; a2 sorts before a3) -> 300 tokens
    # top 50% of A's 1000 tokens -> cumulative 100, 300, 600: the largest prefix within 500 is 2 -> 300
    for a_cut in (Cut("top_records", 50), Cut("top_tokens", 50)):
        p = preview(pre, _settings(a_cut, Cut("top_records", 0)))
        assert (p.sources[0].kept, p.sources[0].kept_tokens) == (2, 300)
        assert p.sources[1].kept == 1  # only the forced keep
    d = details(pre, preview(pre, _settings(Cut("top_records", 50), Cut("top_records", 0))).counts)
    assert [r.record_id for r in d[0].above] == ["a1", "a2"]
    assert [r.record_id for r in d[0].below] == ["a3", "a4"]


def test_source_without_a_cut_keeps_only_its_forced_records():
    pre = precompute(small_corpus(), NO_MASK)
    p = preview(pre, PreviewSettings(cuts={"A": Cut("threshold", 0)}))
    assert (p.sources[0].kept, p.sources[1].kept, p.sources[1].kept_tokens) == (4, 1, 10)


def test_global_mode_pools_all_sources():
    pre = precompute(small_corpus(), NO_MASK)
    # pooled scored order: a1 8, b1 7, a2 6, a3 6, a4 3, b2 2; top 50% of 6 records -> a1, b1, a2
    p = preview(pre, PreviewSettings(global_cut=Cut("top_records", 50)))
    assert p.counts.tolist() == [2, 1]
    # global threshold 6.5 -> a1 (A) and b1 (B)
    assert preview(pre, PreviewSettings(global_cut=Cut("threshold", 6.5))).counts.tolist() == [1, 1]
    # top 30% of the pooled 1110 tokens = 333: cumulative 100, 150, 350 -> a1, b1
    assert preview(pre, PreviewSettings(global_cut=Cut("top_tokens", 30))).counts.tolist() == [1, 1]


def test_budget_gap_and_downsample_weight():
    pre = precompute(small_corpus(), NO_MASK)
    p = preview(pre, _settings(Cut("threshold", 6), Cut("threshold", 5), budget_tokens=500, downsample_weight=0.5))
    assert p.budget_gap == 660 - 500
    # a2 and a3 are recommended for downsampling: 500 of A's 600 kept tokens count half -> 600 - 250 = 350
    assert p.sources[0].downsampled == 2
    assert p.sources[0].effective_tokens == pytest.approx(350)
    with pytest.raises(ValueError, match="unknown recommendation"):
        preview(pre, _settings(Cut("threshold", 6), Cut("threshold", 5), downsample_recommendations=("maybe",)))


def test_details_dimension_means_outcomes_and_agreement():
    pre = precompute(small_corpus(), NO_MASK | np.eye(2, 15, dtype=bool))  # A masks A1, B masks A2
    d = details(pre, np.array([3, 1]))
    a, b = d
    # A kept 8, 6, 6 -> mean 20/3 on every dimension; dropped a4 -> 3; A1 masked -> NaN
    assert np.isnan(a.kept_mean[0]) and a.kept_mean[1:] == pytest.approx(20 / 3)
    assert a.dropped_mean[1:] == pytest.approx(3.0)
    assert np.isnan(b.kept_mean[1]) and b.kept_mean[0] == pytest.approx(7.0)
    # resolved share: kept a1 (res), a2 (not), a3 (res) -> 2/3; dropped a4 (not) -> 0
    assert (a.resolved_kept, a.resolved_dropped) == (pytest.approx(2 / 3), 0.0)
    # scorer: keep a1 kept; downsample a2, a3 kept; drop a4 dropped -> all 4 agree
    assert a.agreement == {"keep": (1, 0), "downsample": (2, 0), "drop": (0, 1), "none": (0, 0)}
    assert a.agreement_rate == 1.0
    assert np.isnan(b.resolved_dropped)  # b2's outcome is unknown
    assert int(a.hist.sum()) == 4 and a.cut_value == 6.0


def test_block_sums_match_a_direct_computation_on_a_larger_corpus():
    data = generate_data(3000, seed=3)
    mask = np.zeros((3, 15), dtype=bool)
    mask[1, 4] = True
    pre = precompute(data, mask)
    counts = preview(pre, PreviewSettings(global_cut=Cut("top_records", 37))).counts
    for sa, k, det in zip(pre.per_source, counts, details(pre, counts), strict=True):
        kept = data.scores[sa.order[:k]].astype(float).mean(axis=0)
        dropped = data.scores[sa.order[k:]].astype(float).mean(axis=0)
        ok = sa.unmasked
        assert det.kept_mean[ok] == pytest.approx(kept[ok])
        assert det.dropped_mean[ok] == pytest.approx(dropped[ok])
        # a threshold at the cut value keeps at least the top-k (ties at the cut come along)
        assert (pre.values[sa.order[:k]] >= det.cut_value).all()


@pytest.mark.parametrize("rows", [256 * 3, 256 * 3 + 17, 40])
def test_block_sums_of_float32_scores_equal_reduceats_to_the_last_bit(rows):
    from mira_core.selection.preview import BLOCK, _block_sums

    rng = np.random.default_rng(rows)
    halves = (rng.integers(0, 21, size=(rows, 15)) / 2).astype(np.float32)  # what the loader keeps as float32
    starts = np.arange(0, rows, BLOCK)
    reference = np.add.reduceat(halves, starts, axis=0, dtype=np.float64)
    assert np.array_equal(_block_sums(halves, starts), reference)
    decimals = rng.random((rows, 15)) * 10  # float64 scores keep reduceat's own order
    assert np.array_equal(_block_sums(decimals, starts), np.add.reduceat(decimals, starts, axis=0, dtype=np.float64))
