"""Krippendorff's alpha (interval) and the mean absolute difference between reviewers."""

import math

import numpy as np
import pytest

from mira_core.reliability.interannotator import inter_annotator

N = np.nan


def test_alpha_matches_krippendorffs_worked_example():
    # Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: four observers, twelve
    # units with missing values; the interval alpha published there is 0.849.
    a = [1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N]
    b = [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3]
    c = [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N]
    d = [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N]
    out = inter_annotator(list(zip(a, b, c, d, strict=True)))
    assert out.items == 11  # the last unit has one value: not pairable
    assert out.alpha == pytest.approx(0.849, abs=5e-4)


def test_perfect_agreement_is_one_and_systematic_disagreement_is_negative():
    same = inter_annotator([[2, 2], [5, 5], [9, 9]])
    assert same.alpha == pytest.approx(1.0) and same.mad == 0.0 and same.pairs == 3
    # Reviewers who always disagree by the full spread agree less than chance would.
    opposed = inter_annotator([[0, 10], [10, 0], [0, 10]])
    assert opposed.alpha < 0 and opposed.mad == 10.0


def test_mean_absolute_difference_counts_every_pair_of_answers():
    out = inter_annotator([[1, 4, 7], [3, 3]])  # pairs 3, 6, 3 and 0
    assert (out.items, out.pairs, out.mad) == (2, 4, 3.0)


def test_too_little_to_measure_is_nan_not_a_number_made_up():
    assert inter_annotator([]).items == 0 and math.isnan(inter_annotator([[5], [N, 3]]).mad)
    one_item = inter_annotator([[4, 6]])
    assert one_item.items == 1 and one_item.mad == 2.0 and math.isnan(one_item.alpha)
    no_spread = inter_annotator([[5, 5], [5, 5]])
    assert math.isnan(no_spread.alpha) and no_spread.mad == 0.0
