"""The fifteen anchor dimensions: slot ids, their one column spelling, and what the anchors file says.

Slots are `A1`..`A15` everywhere a person or the scorer sees them; the database columns are the same
ids in lower case (`a1`..`a15`), made here by `column_of`. Names, descriptions and cluster sizes come from
the anchors file (`anchors/group_D_dim_anchors.jsonl`, or `MIRA_ANCHORS_PATH`), read once per file
version, so a swapped anchors file changes names and the `weighted` criterion's weights together.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from mira_core.errors import ConfigError
from mira_core.jsonl_config import object_lines, raise_all, validate_line
from mira_core.settings import DEFAULT_ANCHORS_PATH

N_SLOTS = 15
SLOTS: tuple[str, ...] = tuple(f"A{i}" for i in range(1, N_SLOTS + 1))
"""The slot ids in order; the scorer's output lines start with `[slot]`."""
COLUMNS: tuple[str, ...] = tuple(s.lower() for s in SLOTS)
"""The database column of each slot, in the same order."""
_SLOT = re.compile(r"A([1-9]|1[0-5])", re.ASCII)


def is_slot(value: str) -> bool:
    """True for exactly `A1`..`A15`."""
    return bool(_SLOT.fullmatch(value))


def column_of(slot: str) -> str:
    """The score column of a slot (`A7` -> `a7`); a ValueError names anything else."""
    if not is_slot(slot):
        raise ValueError(f"unknown dimension {slot!r}: expected one of A1..A15")
    return slot.lower()


def slot_of(column: str) -> str:
    """The slot of a score column (`a7` -> `A7`)."""
    return column_of(column.upper()).upper()


class Dimension(BaseModel):
    """One anchor dimension as the anchors file describes it."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    slot: str = Field(description="`A1`..`A15`; the scorer's output line starts with `[slot]`.")
    name: str = Field(
        min_length=1,
        validation_alias=AliasChoices("name", "dimension", "anchor_name"),
        description="Dimension name exactly as the scorer was trained on it (model card table).",
    )
    cluster_size: int = Field(
        ge=0,
        validation_alias=AliasChoices("cluster_size", "size", "count"),
        description="Records in the dimension's cluster; the `weighted` criterion's weight.",
    )
    description: str = Field(default="", description="What the dimension judges, for curators.")


class _HasSlot(Protocol):
    slot: str


def slot_problem(item: _HasSlot) -> str | None:
    """The line problem for an item (anchor or calibration reference) whose slot is not A1..A15."""
    return None if is_slot(item.slot) else f"field 'slot': {item.slot!r} is not one of A1..A15"


def _read(path: Path) -> tuple[Dimension, ...]:
    errors: list[str] = []
    by_slot: dict[str, tuple[int, Dimension]] = {}
    by_name: dict[str, int] = {}
    for no, obj in object_lines(path, errors):
        where = f"{path}:{no}"
        dim = validate_line(Dimension, obj, where, errors, slot_problem)
        if dim is None:
            continue
        if dim.slot in by_slot:
            errors.append(f"{where}: slot {dim.slot} duplicated (first at line {by_slot[dim.slot][0]})")
            continue
        key = dim.name.strip().casefold()
        if key in by_name:
            errors.append(f"{where}: name {dim.name!r} duplicated (first at line {by_name[key]})")
        by_name.setdefault(key, no)
        by_slot[dim.slot] = (no, dim)
    missing = [s for s in SLOTS if s not in by_slot]
    if missing and not errors:
        errors.append(f"{path}: missing slot(s) {', '.join(missing)} (need all of A1..A15)")
    if errors:
        raise_all(path, "anchors", errors)
    return tuple(by_slot[s][1] for s in SLOTS)


@lru_cache(maxsize=8)
def _cached(path: str, _mtime_ns: int) -> tuple[Dimension, ...]:
    return _read(Path(path))


def load_dimensions(path: Path) -> tuple[Dimension, ...]:
    """The 15 dimensions in slot order from an anchors JSONL file, read once per file version.

    Raises ConfigError listing every problem (file:line, field, which slot or name repeats and where first).
    """
    path = Path(path)
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        mtime = -1  # let the reader report the missing or unreadable file
    return _cached(str(path), mtime)


def dimension_names(path: Path) -> dict[str, Dimension]:
    """{slot: Dimension} for pages: never fails, a slot the file cannot give gets its bare id as name."""
    try:
        found = {d.slot: d for d in load_dimensions(path)}
    except ConfigError:
        found = {}
    return {s: found.get(s) or Dimension(slot=s, name=s, cluster_size=0) for s in SLOTS}


def slot_names(path: Path | None = None) -> dict[str, str]:
    """{slot: name} from an anchors file (default: the project's own); {} when the file cannot be read.

    What the parser checks a slot line's name against; an unreadable file turns the check off rather than
    failing every parse (loading the rubric for a job reports the file's problems).
    """
    try:
        return {d.slot: d.name for d in load_dimensions(path or DEFAULT_ANCHORS_PATH)}
    except ConfigError:
        return {}


def cluster_weights(path: Path) -> tuple[float, ...]:
    """Each slot's cluster size, in slot order: the `weighted` criterion's weights."""
    return tuple(float(d.cluster_size) for d in load_dimensions(path))
