"""Per-anchor score columns for a page of Browse rows, with the active mask applied.

A masked source x dimension cell is shown blank, the way aggregation ignores it, so a curator reading the
table never takes a score the reliability step rejected at face value.
"""

from __future__ import annotations

import pandas as pd

from mira_core.dimensions import SLOTS
from mira_core.reliability.masks import Mask


def anchor_columns(rows: pd.DataFrame, scores: dict[str, tuple[float | None, ...]], mask: Mask) -> pd.DataFrame:
    """A1..A15 (nullable floats) aligned with `rows` (record_id, source).

    The latest complete student score of each record, blank where it is unscored or the cell is masked for the
    record's source.
    """
    out = pd.DataFrame(index=rows.index, columns=list(SLOTS), dtype="Float64")
    for i, (rid, source) in enumerate(zip(rows.record_id, rows.source, strict=True)):
        values = scores.get(rid)
        if values is None:
            continue
        for j, name in enumerate(SLOTS):
            if values[j] is not None and not mask.is_masked(source, name):
                out.iat[i, j] = values[j]
    return out


def masked_slots(sources: list[str], mask: Mask) -> dict[str, list[str]]:
    """{source: masked anchor names} for the sources on a page (for the caption under the table)."""
    return {s: [a for a in SLOTS if mask.is_masked(s, a)] for s in sources}
