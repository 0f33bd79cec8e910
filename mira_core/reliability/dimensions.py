"""Names and descriptions of the 15 anchor dimensions, for pages that show one dimension at a time.

Prefers the scoring package's rubric loader (`mira_core.scoring.rubric.load_rubric`) and falls back to
reading the anchors file named in the settings directly, so the pages work before or without it.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any, NamedTuple

from mira_core.reliability.metrics import SLOTS
from mira_core.settings import load_settings


class Dimension(NamedTuple):
    """One anchor dimension."""

    slot: str
    name: str
    description: str


def _field(item: Any, name: str) -> str:
    value = item.get(name) if isinstance(item, dict) else getattr(item, name, None)
    return "" if value is None else str(value)


def _from_rubric() -> dict[str, Dimension]:
    from mira_core.scoring.rubric import load_rubric

    rubric = load_rubric()
    items: Any = getattr(rubric, "anchors", None) or getattr(rubric, "dimensions", rubric)
    items = items.values() if isinstance(items, dict) else items
    dims = [Dimension(_field(i, "slot"), _field(i, "name"), _field(i, "description")) for i in items]
    return {d.slot: d for d in dims if d.slot in SLOTS}


def _from_file() -> dict[str, Dimension]:
    out = {}
    with load_settings().anchors_path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                d = json.loads(line)
                out[str(d["slot"])] = Dimension(str(d["slot"]), str(d.get("name", "")), str(d.get("description", "")))
    return out


@lru_cache(maxsize=1)
def dimensions() -> dict[str, Dimension]:
    """{slot: Dimension} for A1..A15 (a slot missing from the rubric gets its bare slot name)."""
    found: dict[str, Dimension] = {}
    for loader in (_from_rubric, _from_file):
        try:
            found = loader()
        except Exception:  # noqa: BLE001 - any failure falls through to the next source
            continue
        if found:
            break
    return {s: found.get(s) or Dimension(s, s, "") for s in SLOTS}
