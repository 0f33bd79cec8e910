"""What an importer layout is: how its files are framed into items and how an item becomes a Record."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mira_core.errors import ImportRejected
from mira_core.jsonstream import JSONObject, JSONValue
from mira_core.records import OutcomeReport, Record
from mira_core.text_rules import make_storable

# "rows": one record per JSONL line or JSON-array element; "whole": the whole file is one item.
Framing = Literal["rows", "whole"]


@dataclass(frozen=True)
class ItemContext:
    """Where an item came from and the source it is imported under."""

    source: str
    raw: bytes
    origin: str
    path: Path


Normalized = Record | list[OutcomeReport]


class ItemSkipped(ImportRejected):
    """An item that was understood but holds no trajectory (e.g. a task instance); reported, not an error."""


@dataclass(frozen=True)
class Layout:
    """One input layout. `sniff` looks at the first parsed item; `normalize` raises ImportRejected on bad items."""

    name: str
    framing: Framing
    sniff: Callable[[JSONValue, Path], bool]
    normalize: Callable[[JSONValue, ItemContext], Normalized]
    description: str = ""


_NEEDS_FIX = re.compile(rb"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")


def needs_text_fix(raw: bytes) -> bool:
    r"""Cheap pre-check: only JSON with a \u0000 or surrogate escape can hold unstorable text."""
    return _NEEDS_FIX.search(raw) is not None


def fix_text_tree(obj: JSONValue, path: str = "") -> tuple[JSONValue, set[str]]:
    """Apply `text_rules.make_storable` to every string in a parsed JSON tree; report top-level fields touched."""
    altered: set[str] = set()

    def walk(o: JSONValue, top: str) -> JSONValue:
        if isinstance(o, str):
            fixed, changed = make_storable(o)
            if changed:
                altered.add(top or "<root>")
            return fixed
        if isinstance(o, list):
            return [walk(v, top) for v in o]
        if isinstance(o, dict):
            out: JSONObject = {}
            for k, v in o.items():
                key, kchanged = make_storable(k)
                if kchanged:
                    altered.add(top or key)
                out[key] = walk(v, top or key)
            return out
        return o

    return walk(obj, path), altered
