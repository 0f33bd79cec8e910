import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mira_core.selection.generate import generate_data
from mira_core.selection.preview import PreviewSettings, precompute, preview
from mira_core.selection.solver import budget_from_percent, solve_budget
from tests.selection.builders import small_corpus

DATA = generate_data(2000, seed=11)
PRE = precompute(DATA, np.zeros((3, 15), dtype=bool))
SCORED_TOKENS = int(PRE.pooled_cum_tokens[-1])
FORCED = sum(sa.counts["force_keep"][1] for sa in PRE.per_source)


def test_small_corpus_by_hand():
    pre = precompute(small_corpus(), np.zeros((2, 15), dtype=bool))
    # highest first: b4 forced (10) leaves 350: a1 100, b1 50, a2 200 -> 350 exactly; a3 would exceed
    sol = solve_budget(pre, 360, "highest_first")
    assert sol.counts == {"A": 2, "B": 1} and sol.kept_tokens == 360 and sol.thresholds["A"] == 6.0
    # same quantile: A's quantiles 1/4, 2/4, ... and B's 1/2, 2/2; order a1 (.25), a2 (.5), b1 (.5), a3 ...
    # 10 forced + a1 100 + a2 200 = 310; b1 (50) -> 360 fits in 390, a3 (300) does not
    sol = solve_budget(pre, 390, "same_quantile")
    assert sol.counts == {"A": 2, "B": 1} and sol.kept_tokens == 360
    # the cuts it returns reproduce its counts in the preview
    p = preview(pre, PreviewSettings(cuts=sol.cuts))
    assert p.total.kept_tokens == sol.kept_tokens
    assert not solve_budget(pre, 5).feasible  # the forced keep alone is over budget


@settings(max_examples=60, deadline=None)
@given(budget=st.integers(0, 2 * SCORED_TOKENS), rule=st.sampled_from(["same_quantile", "highest_first"]))
def test_meets_the_budget_within_one_record(budget, rule):
    sol = solve_budget(PRE, budget, rule)
    p = preview(PRE, PreviewSettings(cuts=sol.cuts))
    assert p.total.kept_tokens == sol.kept_tokens
    if budget < FORCED:
        assert not sol.feasible
        return
    assert sol.kept_tokens <= budget
    if sol.kept_tokens - FORCED < SCORED_TOKENS:  # something was left out: the next record did not fit
        largest = int(DATA.tokens.max())
        assert budget - sol.kept_tokens < largest


@settings(max_examples=40, deadline=None)
@given(a=st.integers(0, SCORED_TOKENS + 50_000), b=st.integers(0, SCORED_TOKENS + 50_000),
       rule=st.sampled_from(["same_quantile", "highest_first"]))
def test_monotone_in_the_budget(a, b, rule):
    lo, hi = sorted((a, b))
    s_lo, s_hi = solve_budget(PRE, lo, rule), solve_budget(PRE, hi, rule)
    assert s_lo.kept_tokens <= s_hi.kept_tokens
    assert all(s_lo.counts[s] <= s_hi.counts[s] for s in s_lo.counts)


def test_next_record_does_not_fit_exactly():
    # a sharper version of "within one record": the shortfall is below the very next pooled record's tokens
    budget = SCORED_TOKENS // 3
    sol = solve_budget(PRE, budget, "highest_first")
    k = sum(sol.counts.values())
    next_tokens = int(DATA.tokens[PRE.pooled_order[k]])
    assert 0 <= budget - sol.kept_tokens < next_tokens


def test_same_quantile_keeps_equal_rates():
    sol = solve_budget(PRE, SCORED_TOKENS // 2, "same_quantile")
    rates = [sol.counts[sa.name] / sa.m for sa in PRE.per_source]
    assert max(rates) - min(rates) <= max(1 / sa.m for sa in PRE.per_source)


def test_budget_percent_and_bad_rule():
    assert budget_from_percent(PRE, 50) == round(int(DATA.tokens.sum()) / 2)
    with pytest.raises(ValueError, match="unknown budget rule"):
        solve_budget(PRE, 100, "cheapest")  # type: ignore[arg-type]
