"""Anchor columns: scores land under their anchor, masked cells of the row's source and unscored rows are blank."""

import pandas as pd

from mira_core.dimensions import SLOTS as ANCHOR_COLUMNS
from mira_core.reliability.masks import Cell, CellDecision, Mask
from mira_core.views.anchor_columns import anchor_columns, masked_slots


def test_scores_placed_by_anchor_and_masked_cells_blank_per_source():
    rows = pd.DataFrame({"record_id": ["r1", "r2", "r3"], "source": ["a", "b", "a"]}, index=[10, 11, 12])
    scores = {"r1": tuple(float(i) for i in range(15)), "r2": (None, *(1.0,) * 14)}
    mask = Mask(cells={Cell("a", "A2"): CellDecision(masked=True, reason="r"), Cell("*", "A15"): CellDecision(masked=True, reason="r"),
                       Cell("b", "A3"): CellDecision(masked=False, reason="r")})
    out = anchor_columns(rows, scores, mask)
    assert list(out.columns) == list(ANCHOR_COLUMNS) and list(out.index) == [10, 11, 12]
    assert out.loc[10, "A1"] == 0.0 and pd.isna(out.loc[10, "A2"]) and out.loc[10, "A3"] == 2.0
    assert pd.isna(out.loc[10, "A15"]) and pd.isna(out.loc[11, "A15"])  # the wildcard masks every source
    assert pd.isna(out.loc[11, "A1"]) and out.loc[11, "A2"] == 1.0 and out.loc[11, "A3"] == 1.0
    assert out.loc[12].isna().all()  # unscored
    assert masked_slots(["a", "b"], mask) == {"a": ["A2", "A15"], "b": ["A15"]}
