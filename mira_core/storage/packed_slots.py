"""Each score's 15 slot values also as one packed column, `scores.slots_packed`, for the whole-store loads.

The selection load reads every chosen score's 15 slots (2.3M rows at the issue's size). Read as 15 float
columns, the Python driver makes a float object per value, and those ~35M objects were most of the load's
time (docs/BENCHMARKS.md, "Millions of records"). Packed, a row is one bytes object and a chunk of rows one
`np.frombuffer` of their join.

The format is 15 big-endian IEEE float64 values in slot order (A1..A15), NULL as NaN: float64 keeps every
stored value exact (the loaders then keep float32 only where that loses nothing), and big-endian is what
PostgreSQL's `float8send` gives, so migration 0021 backfills PostgreSQL in one SQL pass. Every insert through
SQLAlchemy fills the column (`packed_default` is its default); an UPDATE that sets slots sets it too
(`with_packed`). A row without it (written by hand in SQL) makes the loader read the 15 columns instead.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from mira_core.dimensions import COLUMNS, N_SLOTS

COLUMN = "slots_packed"
_FORMAT = struct.Struct(f">{N_SLOTS}d")
DTYPE = np.dtype(">f8")


def _stored(v: float | None, sqlite: bool) -> float:
    """A slot value as its column reads back: NULL and any NaN as NaN; on SQLite -0.0 as 0.0 (stored as integer 0)."""
    if v is None or v != v:
        return math.nan
    return float(v) + 0.0 if sqlite else float(v)


def pack(values: Iterable[float | None], *, sqlite: bool = False) -> bytes:
    """The packed form of one score's slot values (in slot order), exactly what the 15 columns read back as."""
    return _FORMAT.pack(*(_stored(v, sqlite) for v in values))


def pack_row(row: Mapping[str, Any], *, sqlite: bool = False) -> bytes:
    """The packed form of a `scores` row's slot columns (a1..a15; a missing or None one as NaN)."""
    return pack((row.get(c) for c in COLUMNS), sqlite=sqlite)


def packed_default(context: Any) -> bytes:
    """The column's default on INSERT: packed from the statement's own slot values (SQLAlchemy calls it per row)."""
    return pack_row(context.get_current_parameters(), sqlite=context.dialect.name == "sqlite")


def with_packed(values: Mapping[str, Any], dialect: str) -> dict[str, Any]:
    """UPDATE values with the packed column set when they set slots (all 15, or none: a partial set is refused)."""
    given = [c for c in COLUMNS if c in values]
    if not given:
        return dict(values)
    if len(given) != N_SLOTS:
        raise ValueError(f"an update of score slots must set all {N_SLOTS} of them, got {given}")
    return {**values, COLUMN: pack_row(values, sqlite=dialect == "sqlite")}


def unpack(blobs: Sequence[bytes]) -> np.ndarray:
    """[n, 15] big-endian float64 from n packed values (none of them None): a view, no second copy."""
    return np.frombuffer(b"".join(blobs), dtype=DTYPE).reshape(len(blobs), N_SLOTS)
