"""Masks from threshold rules, curator overrides and the JSON form, on constructed matrices."""

import math

import pandas as pd
import pytest

from mira_core.reliability.masks import (
    Cell,
    Mask,
    MaskFormatError,
    MaskRules,
    Override,
    apply_rules,
    build_mask,
    curator_overrides,
    mask_from_json,
    mask_to_json,
)
from mira_core.reliability.metrics import ALL_SOURCES


def matrix(*rows):
    return pd.DataFrame(rows, columns=["source", "slot", "mae", "rho", "n"])


M = matrix(
    ("a", "A1", 0.8, 0.7, 500),  # fine
    ("a", "A2", 2.5, 0.6, 500),  # MAE too high
    ("a", "A3", 1.0, 0.1, 500),  # rho too low
    ("a", "A4", 3.0, -0.2, 500),  # both
    ("b", "A1", 0.1, 0.9, 4),  # tiny cell
    ("b", "A2", math.nan, math.nan, 0),  # empty cell
    ("b", "A3", 0.0, math.nan, 100),  # constant judge: rho undefined
    (ALL_SOURCES, "A2", 5.0, 0.0, 1000),  # the summary row is never masked
)


def test_rules_mask_each_broken_threshold_with_its_reason():
    cells = apply_rules(M, MaskRules(max_mae=2.0, min_rho=0.3, min_n=30))
    assert set(cells) == {Cell("a", "A2"), Cell("a", "A3"), Cell("a", "A4"), Cell("b", "A1"), Cell("b", "A2"), Cell("b", "A3")}
    assert cells[Cell("a", "A2")].reason == "MAE 2.50 > 2.00"
    assert cells[Cell("a", "A3")].reason == "rho 0.10 < 0.30"
    assert cells[Cell("a", "A4")].reason == "MAE 3.00 > 2.00; rho -0.20 < 0.30"
    assert cells[Cell("b", "A1")].reason == "too few pairs (n=4 < 30)"
    assert cells[Cell("b", "A2")].reason == "too few pairs (n=0 < 30)"
    assert "undefined" in cells[Cell("b", "A3")].reason
    assert all(d.by == "rule" and d.masked for d in cells.values())


def test_looser_rules_mask_fewer_cells_and_tiny_cells_can_be_left_alone():
    strict = apply_rules(M, MaskRules(max_mae=0.5, min_rho=0.8, min_n=30))
    loose = apply_rules(M, MaskRules(max_mae=None, min_rho=None, min_n=2, mask_too_few=False))
    assert len(strict) == 7 and len(loose) == 0
    assert Cell("a", "A1") in strict  # 0.8 > 0.5
    assert apply_rules(M.iloc[0:0], MaskRules()) == {}


def test_curator_overrides_win_both_ways():
    mask = build_mask(
        M,
        MaskRules(),
        [
            Override(source="a", slot="A2", masked=False, reason="checked 40 by hand, fine"),
            Override(source="a", slot="A1", masked=True, reason="teacher itself unreliable here"),
        ],
    )
    assert not mask.is_masked("a", "A2")
    assert mask.decision("a", "A2").by == "curator"
    assert mask.is_masked("a", "A1") and mask.decision("a", "A1").reason == "teacher itself unreliable here"
    assert mask.is_masked("a", "A3")
    assert Cell("a", "A2") not in mask.masked_cells()


def test_a_rebuilt_mask_keeps_the_curators_decisions_only():
    overrides = [Override(source="a", slot="A2", masked=False, reason="checked 40 by hand, fine"),
                 Override(source="a", slot="A1", masked=True, reason="teacher itself unreliable here")]
    kept = curator_overrides(build_mask(M, MaskRules(), overrides))
    assert kept == sorted(overrides, key=lambda o: (o.source, o.slot))  # rule decisions are left out
    assert curator_overrides(build_mask(M, MaskRules())) == []


def test_override_needs_a_reason_and_a_known_slot():
    with pytest.raises(ValueError, match="written reason"):
        Override(source="a", slot="A1", masked=True, reason="   ")
    with pytest.raises(ValueError, match="unknown dimension"):
        Override(source="a", slot="A16", masked=True, reason="x")


def test_json_round_trip_and_wildcard_source():
    mask = build_mask(M, MaskRules())
    again = mask_from_json(mask_to_json(mask))
    assert again.cells == mask.cells
    repo_mask = mask_from_json('{"*": {"A7": {"masked": true, "reason": "paper Fig. 3"}}, "b": {"A7": {"masked": false}}}')
    assert repo_mask.is_masked("a", "A7") and not repo_mask.is_masked("b", "A7")
    assert repo_mask.decision("a", "A7").by == "import"
    assert Mask().is_masked("a", "A1") is False


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "mask.json:1: not valid JSON"),
        ('{"a": {"A16": {"masked": true}}}', "at a.A16"),
        ('{"a": {"A1": {"reason": "x"}}}', "at a.A1.masked"),
        ('{"a": {"A1": {"masked": true, "colour": 1}}}', "at a.A1.colour"),
        ("[1]", "(top level)"),
    ],
)
def test_bad_mask_json_names_the_place(text, message):
    with pytest.raises(MaskFormatError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        mask_from_json(text, where="mask.json")
