"""From a parsed scorer output to the stored columns (shared by the worker and `reparse`)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from mira_core.dimensions import COLUMNS, SLOTS

if TYPE_CHECKING:
    from mira_core.scoring.parse import ParsedScore


def parsed_columns(parsed: ParsedScore) -> dict[str, Any]:
    """The `scores` columns a ParsedScore fills: complete, overall, recommendation, tag, brief, a1..a15, parsed.

    Numbers of invalid fields are None, so aggregation skips them; rationales and problems go to `parsed`.
    """
    dims = parsed.dimensions or {}
    cols: dict[str, object] = {
        "complete": bool(parsed.complete),
        "overall": parsed.overall,
        "recommendation": parsed.training_recommendation,
        "domain_tag": parsed.domain_tag,
        "brief": parsed.brief,
    }
    rationales = {}
    for slot, col in zip(SLOTS, COLUMNS, strict=True):
        dim = dims.get(slot)
        cols[col] = None if dim is None or dim.score is None else float(dim.score)
        if dim is not None:
            rationales[slot] = dim.rationale
    problems = [p.model_dump() for p in (parsed.problems or [])]
    cols["parsed"] = json.dumps({"rationales": rationales, "problems": problems}, ensure_ascii=False, default=str)
    return cols
