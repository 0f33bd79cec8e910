import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from mira_core.selection.data import make_data
from mira_core.selection.policies import CutSpec, Policy, freeze_cells, mask_array
from mira_core.selection.preview import Cut, PreviewSettings, precompute, preview


def test_mask_array_source_entry_wins_over_wildcard():
    cells = {"*": ["A1"], "B": ["A2"]}
    m = mask_array(cells, ("A", "B", "C"))
    assert m[0].nonzero()[0].tolist() == [0]  # A falls back to '*'
    assert m[1].nonzero()[0].tolist() == [1]  # B's own entry (a forced unmask of A1 survives)
    frozen = freeze_cells(lambda s, slot: slot == "A3" or (s == "A" and slot == "A1"), ("A", "B"), ["A3"])
    assert frozen == {"A": ["A1", "A3"], "B": ["A3"], "*": ["A3"]}


def test_policy_validation_names_the_field():
    with pytest.raises(ValidationError, match="name"):
        Policy(name="../etc")
    with pytest.raises(ValidationError, match="unknown dimension"):
        Policy(name="p", masked_cells={"A": ["A16"]})
    with pytest.raises(ValidationError, match="finite"):
        CutSpec(mode="threshold", value=math.inf)
    p = Policy(name="p", masked_cells={"B": ["A3", "A1", "A1"]}, downsample_weight=0.3)
    assert p.masked_cells == {"B": ["A1", "A3"]}  # de-duplicated, in slot order
    assert p.preview_settings().downsample_weight == 0.3


@settings(max_examples=50, deadline=None)
@given(values=st.lists(st.sampled_from([0.0, 2.5, 5.0, 5.5, 7.0, 10.0]), min_size=1, max_size=40),
       t=st.sampled_from([0.0, 2.5, 5.0, 6.0, 10.0, 11.0]), p=st.floats(0, 100))
def test_preview_matches_brute_force(values, t, p):
    n = len(values)
    rng = np.random.default_rng(n)
    tokens = rng.integers(1, 100, size=n)
    codes = rng.integers(0, 2, size=n)
    data = make_data([f"r{i:03d}" for i in range(n)], ("A", "B"), codes, tokens,
                     np.repeat(np.array(values)[:, None], 15, axis=1), np.ones(n, dtype=bool))
    pre = precompute(data, np.zeros((2, 15), dtype=bool))
    by_threshold = preview(pre, PreviewSettings(cuts={"A": Cut("threshold", t), "B": Cut("threshold", t)}))
    vals = np.array(values)
    for c, sp in enumerate(by_threshold.sources):
        sel = (codes == c) & (vals >= t)
        assert (sp.kept, sp.kept_tokens) == (int(sel.sum()), int(tokens[sel].sum()))
    by_pct = preview(pre, PreviewSettings(global_cut=Cut("top_records", p)))
    assert by_pct.total.kept == round(p / 100 * n)
    kept_vals = [v for sa, k in zip(pre.per_source, by_pct.counts, strict=True) for v in sa.values[:k]]
    dropped = [v for sa, k in zip(pre.per_source, by_pct.counts, strict=True) for v in sa.values[k:]]
    assert not kept_vals or not dropped or min(kept_vals) >= max(dropped)  # the best records are the kept ones
