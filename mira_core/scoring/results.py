"""From a parsed scorer output to the stored columns (shared by the worker and `reparse`)."""

from __future__ import annotations

import json
from typing import Any

from mira_core.dimensions import COLUMNS, SLOTS


def _plain(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump()
    if hasattr(value, "_asdict"):
        return value._asdict()
    if hasattr(value, "__dataclass_fields__"):
        return {k: getattr(value, k) for k in value.__dataclass_fields__}
    return value


def parsed_columns(parsed: Any) -> dict[str, Any]:
    """The `scores` columns a ParsedScore fills: complete, overall, recommendation, tag, brief, a1..a15, parsed.

    Numbers of invalid fields are None, so aggregation skips them; rationales and problems go to `parsed`.
    """
    dims = parsed.dimensions or {}
    rec = parsed.training_recommendation
    cols: dict[str, Any] = {
        "complete": bool(parsed.complete),
        "overall": parsed.overall,
        "recommendation": None if rec is None else str(getattr(rec, "value", rec)),
        "domain_tag": parsed.domain_tag,
        "brief": parsed.brief,
    }
    rationales = {}
    for slot, col in zip(SLOTS, COLUMNS, strict=True):
        dim = dims.get(slot)
        cols[col] = None if dim is None or dim.score is None else float(dim.score)
        if dim is not None:
            rationales[slot] = dim.rationale
    problems = [_plain(p) for p in (parsed.problems or [])]
    cols["parsed"] = json.dumps({"rationales": rationales, "problems": problems}, ensure_ascii=False, default=str)
    return cols
