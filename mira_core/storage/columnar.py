"""Whole-table reads straight into numpy columns: chunks from the DB-API cursor, text as small codes.

The retention and reliability loaders read a few numbers and short codes of every record (millions of
rows). Lists of row tuples held all at once cost ~1 KB per row (a Python object per cell) and most of the
load time; here rows arrive in chunks, each chunk becomes typed arrays at once, and repeated texts
(source, outcome, judge...) become int32 codes into their distinct values, so a column of 2.3M sources
is 9 MB instead of ~150 MB of strings. PostgreSQL streams through a server-side cursor, so the driver
never holds the whole result either.
"""

from __future__ import annotations

import gc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np
from sqlalchemy import ColumnElement, Connection, Select, case, literal, select

from mira_core.storage.packed_slots import unpack
from mira_core.storage.rows import stream_tuples
from mira_core.storage.tables import records

Kind = Literal["id", "code", "int", "float"]
"""How a column is read: 'id' fixed-width bytes (record ids, S32); 'code' text as `Coded`; 'int' int64 (no
NULLs); 'float' float64 with NULL as NaN."""

CHUNK = 50_000


@dataclass(frozen=True)
class Coded:
    """A text column as int32 codes into `values` (its distinct stored texts, None included, first-seen order)."""

    values: tuple[str | None, ...]
    codes: np.ndarray

    def mapped(self, table: Mapping[str | None, int], default: int, dtype: type = np.int8) -> np.ndarray:
        """The codes translated through `table` (a stored text -> number; `default` for texts not in it)."""
        lut: np.ndarray = np.array([table.get(v, default) for v in self.values] or [default], dtype=dtype)
        return lut[self.codes]

    def strings(self) -> np.ndarray:
        """An object array of the texts (each distinct text one shared str: 8 bytes per row)."""
        values = np.empty(max(len(self.values), 1), dtype=object)
        values[: len(self.values)] = self.values
        return values[self.codes]


class Columns(NamedTuple):
    """One read: a column per kind asked for, and the trailing float columns as one matrix."""

    columns: list[np.ndarray | Coded]
    matrix: np.ndarray

    def array(self, k: int) -> np.ndarray:
        """Column `k`, read as 'id', 'int' or 'float'."""
        col = self.columns[k]
        if isinstance(col, Coded):
            raise TypeError(f"column {k} was read as codes")
        return col

    def coded(self, k: int) -> Coded:
        """Column `k`, read as 'code'."""
        col = self.columns[k]
        if not isinstance(col, Coded):
            raise TypeError(f"column {k} was not read as codes")
        return col

    def take(self, rows: np.ndarray) -> Columns:
        """The same columns at `rows` (an index array or boolean mask)."""
        return Columns([Coded(c.values, c.codes[rows]) if isinstance(c, Coded) else c[rows] for c in self.columns],
                       self.matrix[rows])


def _convert(kind: Kind, values: tuple, index: dict[str | None, int], known: bool = False) -> np.ndarray:
    if kind == "id":
        return np.array(values, dtype="S32")
    if kind == "int":
        return np.array(values, dtype=np.int64)
    if kind == "float":
        return np.array(values, dtype=np.float64)  # None -> NaN
    if known:
        return np.array(values, dtype=np.int32)
    for v in dict.fromkeys(values):  # the chunk's distinct texts, first seen first: few, even in a big chunk
        index.setdefault(v, len(index))
    return np.fromiter(map(index.__getitem__, values), dtype=np.int32, count=len(values))  # no Python frame per row


Known = Mapping[int, Sequence[str | None]]
"""Columns the statement already turned into codes (`known_codes`): column index -> the texts they stand for."""


class Uncoded(LookupError):
    """A text outside a column's known values (`known_codes` gave -1): read the column as text instead."""


def known_codes(column: ColumnElement, values: Sequence[str | None]) -> ColumnElement:
    """`column` as its index in `values` (None stands for NULL), -1 for any other text.

    Small ints are shared objects in Python, so the driver makes no string per row for them (about a fifth
    of a whole-store read's fetch time); `read_columns` turns them back into `Coded` in first-seen order.
    """
    whens = [(column.is_(None) if v is None else column == v, i) for i, v in enumerate(values)]
    return case(*whens, else_=-1) if whens else literal(-1)


def _first_seen(codes: np.ndarray, values: Sequence[str | None]) -> Coded:
    """Statement codes into `values` as the `Coded` a read of the texts gives (distinct texts in first-seen order)."""
    if len(codes) and codes.min() < 0:
        raise Uncoded("a text outside the known values")
    seen = np.flatnonzero(np.bincount(codes, minlength=len(values)))
    first = [int(np.argmax(codes == k)) for k in seen]  # a few known texts: one pass each, no sorted copy
    order = seen[np.argsort(first)]
    lut = np.zeros(max(len(values), 1), dtype=np.int32)
    lut[order] = np.arange(len(order), dtype=np.int32)
    return Coded(tuple(values[k] for k in order), lut[codes])


class Unpacked(LookupError):
    """A packed matrix column was NULL in some row (a score written outside SQLAlchemy): read the columns."""


def _block(values: Sequence, packed: bool) -> np.ndarray:
    """One chunk's matrix: from its float columns, or from its one packed column (`storage.packed_slots`)."""
    if not packed:
        return np.ascontiguousarray(np.array(values, dtype=np.float64).T)
    if None in values[0]:
        raise Unpacked("a score row has no packed slots")
    return unpack(values[0])


def read_columns(conn: Connection, stmt: Select, kinds: Sequence[Kind], matrix: int = 0,
                 packed: bool = False, known: Known | None = None) -> Columns:
    """Read `stmt`: its first columns as `kinds` say, its last `matrix` columns as an [n, matrix] float array.

    Matrix values are the slot scores (0-10 with optional decimals), NULL as NaN: float32 when every value
    is exactly a float32 (whole and half points are), else float64, so no value ever changes. `packed`: the
    statement's last column is instead the slots packed in one value (`scores.slots_packed`, one Python
    object per row instead of 15; on PostgreSQL read in binary); a row without it raises `Unpacked`. `known`:
    'code' columns the statement gives as `known_codes` (any -1 raises `Uncoded`).
    """
    known = known or {}
    indexes: list[dict[str | None, int]] = [{} for _ in kinds]
    parts: list[list[np.ndarray]] = [[] for _ in kinds]
    blocks: list[np.ndarray] = []
    width = len(kinds)
    # Millions of row tuples would set off the cyclic collector over and over (the old loads grew faster
    # than the row count); none of them can form a cycle, so it waits until the read is done.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for rows in stream_tuples(conn, stmt, CHUNK, binary=packed):
            cols = list(zip(*rows, strict=True))
            for k, kind in enumerate(kinds):
                parts[k].append(_convert(kind, cols[k], indexes[k], k in known))
            if matrix:
                blocks.append(_compact(_block(cols[width:], packed)))
            del rows, cols
    finally:
        if collecting:
            gc.enable()
    out: list[np.ndarray | Coded] = []
    empty: dict[str, str] = {"id": "S32", "code": "int32", "int": "int64", "float": "float64"}
    for k, kind in enumerate(kinds):
        arr = _join(parts[k]) if parts[k] else np.empty(0, dtype=empty[kind])
        out.append(arr if kind != "code" else _first_seen(arr, known[k]) if k in known else Coded(tuple(indexes[k]), arr))
    n = len(out[0].codes if isinstance(out[0], Coded) else out[0]) if out else 0
    mat = _join(blocks) if blocks else np.empty((n, matrix), dtype=np.float32)
    return Columns(out, mat)


def _join(chunks: list[np.ndarray]) -> np.ndarray:
    """`np.concatenate(chunks)` (same dtype and values) that empties `chunks` as it copies them.

    The result's pages become resident as they are written and each chunk is let go once copied, so the
    column is never held twice (at 2.3M records the ids are 74 MB, the slot matrix 138 MB).
    """
    out = np.empty((sum(len(c) for c in chunks), *chunks[0].shape[1:]), dtype=np.result_type(*chunks))
    at = 0
    chunks.reverse()
    while chunks:
        chunk = chunks.pop()
        out[at:at + len(chunk)] = chunk
        at += len(chunk)
    return out


def _compact(block: np.ndarray) -> np.ndarray:
    """`block` as float32 when that loses nothing (half the memory), else as native float64."""
    block = block.astype(np.float64, copy=False)
    small = block.astype(np.float32)
    # Bit for bit: a NaN comes back as the same NaN, and one pass costs a quarter of array_equal(equal_nan=True).
    same = bool((small.astype(np.float64).view(np.uint64) == block.view(np.uint64)).all())
    return small if same else block


def last_of_runs(ids: np.ndarray) -> np.ndarray:
    """Boolean mask of the last row of each run of equal ids (rows ordered so a record's rows are adjacent)."""
    keep = np.ones(len(ids), dtype=bool)
    if len(ids) > 1:
        keep[:-1] = ids[:-1] != ids[1:]
    return keep


def id_order(ids: np.ndarray) -> np.ndarray | None:
    """The permutation sorting `ids` by bytes, or None when they already are.

    SQLite compares text as bytes; PostgreSQL's collation may order ids otherwise.
    """
    if len(ids) < 2 or bool(np.all(ids[:-1] <= ids[1:])):
        return None
    return np.argsort(ids, kind="stable")


def positions(sorted_ids: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Index of each of `ids` in `sorted_ids` (sorted by bytes), -1 where it is not there."""
    pos = np.searchsorted(sorted_ids, ids)
    pos[pos >= len(sorted_ids)] = 0
    found = sorted_ids[pos] == ids if len(sorted_ids) else np.zeros(len(ids), dtype=bool)
    return np.where(found, pos, -1)


def records_by_id(conn: Connection, names: Sequence[str], kinds: Sequence[Kind],
                  where: Sequence[ColumnElement] = (), known: Mapping[str, Sequence[str | None]] | None = None) -> Columns:
    """Column 0 the record ids sorted by bytes, then the `records` columns `names` read as `kinds`, in that order.

    Never a walk of the primary-key index, which visits the wide rows in random order (several times slower
    than a scan and a sort of the ids): SQLite reads the selection's columns from their covering index
    (migration 0022), already in record-id order. PostgreSQL would scan the table, so a read of every record
    asks for record-id order and gets an index-only scan of that index (2.3M records: 8.9-9.4 -> 7.6-7.7 s of
    selection load, no sort). The ids are sorted here whenever they did not come in byte order. `known`: a
    'code' column's likely texts, read as `known_codes` (the same result; read as text when another text
    turns up).
    """
    known = known or {}
    order_by = [records.c.record_id] if conn.dialect.name == "postgresql" and not where else []
    try:
        stmt = select(records.c.record_id, *[known_codes(records.c[c], known[c]) if c in known else records.c[c]
                                             for c in names]).where(*where).order_by(*order_by)
        got = read_columns(conn, stmt, ["id", *kinds], known={k + 1: known[c] for k, c in enumerate(names) if c in known})
    except Uncoded:
        got = read_columns(conn, select(records.c.record_id, *[records.c[c] for c in names]).where(*where)
                           .order_by(*order_by), ["id", *kinds])
    order = id_order(got.array(0))
    return got if order is None else got.take(order)
