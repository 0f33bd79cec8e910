"""A keep list's file bytes (jsonl, csv, parquet), rendered chunk by chunk into a binary sink.

The list is held as numpy columns (`KeepColumns`); only one chunk at a time becomes Python values, so a
million-row export never holds a million row objects. The bytes are those of one `json.dumps` per row
(compact separators, `ensure_ascii=False`), of `csv.writer` with 6-decimal numbers, and of one
`pyarrow.parquet.write_table` call with zstd: strings are quoted by the json module's own C encoder and
floats are rounded with Python's `round(x, 6)` (numpy's rounding differs in the last digit for some values),
so the fast path writes exactly what the plain rendering writes. `tests/selection/test_export_render.py`
compares the two on a real store.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring  # the C encoder json.dumps(ensure_ascii=False) uses
from typing import BinaryIO, Literal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from mira_core.errors import MiraError
from mira_core.selection.keep import DECISIONS

Format = Literal["jsonl", "csv", "parquet"]
FORMATS: tuple[Format, ...] = ("jsonl", "csv", "parquet")
COLUMNS = ("record_id", "source", "instance_id", "aggregate", "decision", "weight", "token_count")
CHUNK_ROWS = 65_536
ROW_GROUP_ROWS = 1024 * 1024
"""pyarrow's default row group: writing row groups of this size one by one gives the bytes of one `write_table`."""
SCHEMA = pa.schema([("record_id", pa.string()), ("source", pa.string()), ("instance_id", pa.string()),
                    ("aggregate", pa.float64()), ("decision", pa.string()), ("weight", pa.float64()),
                    ("token_count", pa.int64())])
_JSON_LINE = '{{"record_id":{},"source":{},"instance_id":{},"aggregate":{},"decision":{},"weight":{},"token_count":{}}}\n'


class ExportError(MiraError):
    """An export was refused (bad path or format); nothing was written."""


@dataclass(frozen=True)
class KeepColumns:
    """The keep list as numpy columns of equal length, in record-id order."""

    record_id: np.ndarray
    """Record ids as ASCII bytes (the selection arrays' `S` dtype)."""
    sources: tuple[str, ...]
    source_code: np.ndarray
    """Index into `sources` per row."""
    instance_id: np.ndarray
    """object: str, or None where the record has none."""
    aggregate: np.ndarray
    """float, NaN where the record has no complete score."""
    decision: np.ndarray
    """Index into `keep.DECISIONS` per row."""
    weight: np.ndarray
    token_count: np.ndarray

    def __len__(self) -> int:
        return len(self.record_id)


def round6(x: float) -> float | None:
    """A float rounded to 6 decimals by Python's `round`, NaN -> None (JSON then writes its shortest repr)."""
    return None if x != x else round(x, 6)


def json_number(x: float | None) -> str:
    """A number as `json.dumps` writes it (float repr; null, NaN and infinities by json's names)."""
    if x is None:
        return "null"
    if math.isfinite(x):
        return repr(x)
    return "NaN" if x != x else ("Infinity" if x > 0 else "-Infinity")


def csv_number(x: float | None) -> str:
    """A number as the csv list writes it: 6 decimals, empty for None."""
    return "" if x is None else f"{x:.6f}"


def per_value(values: np.ndarray, fn: Callable[[float], object]) -> np.ndarray:
    """`fn` of each value, computed once per distinct value (aggregates and weights repeat a lot), as objects."""
    distinct, inverse = np.unique(values.astype(np.float64), return_inverse=True)
    return np.array([fn(x) for x in distinct.tolist()], dtype=object)[inverse]


def _quoted(values: Sequence[str | None]) -> list[str]:
    """Quoted, escaped strings (None -> null), with json's escaping."""
    return ["null" if v is None else encode_basestring(v) for v in values]


def _names(names: Sequence[str], codes: np.ndarray, fn: Callable[[str], str]) -> list[str]:
    """`fn` of each row's name, given the names and each row's code."""
    return np.array([fn(n) for n in names], dtype=object)[codes].tolist()


def jsonl_bytes(cols: KeepColumns, start: int, stop: int) -> bytes:
    """Rows [start, stop) as jsonl lines: keys in COLUMNS order, compact separators, UTF-8."""
    sl = slice(start, stop)
    rows = zip(_quoted(cols.record_id[sl].astype(str).tolist()), _names(cols.sources, cols.source_code[sl], encode_basestring),
               _quoted(cols.instance_id[sl].tolist()), per_value(cols.aggregate[sl], lambda x: json_number(round6(x))).tolist(),
               _names(DECISIONS, cols.decision[sl], encode_basestring),
               per_value(cols.weight[sl], lambda x: json_number(round6(x))).tolist(),
               cols.token_count[sl].astype(np.int64).tolist(), strict=True)
    return "".join([f'{{"record_id":{r},"source":{s},"instance_id":{i},"aggregate":{a},"decision":{d},'
                    f'"weight":{w},"token_count":{t}}}\n' for r, s, i, a, d, w, t in rows]).encode("utf-8")


def csv_bytes(cols: KeepColumns, start: int, stop: int, header: bool) -> bytes:
    """Rows [start, stop) as csv (the header first when asked): empty for None, numbers with 6 decimals."""
    sl = slice(start, stop)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    if header:
        w.writerow(COLUMNS)
    w.writerows(zip(cols.record_id[sl].astype(str).tolist(), _names(cols.sources, cols.source_code[sl], str),
                    ["" if v is None else v for v in cols.instance_id[sl].tolist()],
                    per_value(cols.aggregate[sl], lambda x: csv_number(round6(x))).tolist(),
                    _names(DECISIONS, cols.decision[sl], str),
                    per_value(cols.weight[sl], lambda x: csv_number(round6(x))).tolist(),
                    cols.token_count[sl].astype(np.int64).tolist(), strict=True))
    return buf.getvalue().encode("utf-8")


def _float_array(values: np.ndarray) -> pa.Array:
    """Floats rounded like `round6`, nulls where None."""
    r = per_value(values, round6)
    missing = np.array([v is None for v in r.tolist()], dtype=bool)
    return pa.array(np.where(missing, 0.0, r).astype(np.float64), mask=missing, type=pa.float64())


def row_group(cols: KeepColumns, start: int, stop: int) -> pa.Table:
    """Rows [start, stop) as an arrow table of SCHEMA (strings and numbers built from the arrays, no row objects)."""
    sl = slice(start, stop)
    return pa.Table.from_arrays([
        pa.array(cols.record_id[sl]).cast(pa.string()),
        pa.array(_names(cols.sources, cols.source_code[sl], str), type=pa.string()),
        pa.array(cols.instance_id[sl], type=pa.string()),
        _float_array(cols.aggregate[sl]),
        pa.array(_names(DECISIONS, cols.decision[sl], str), type=pa.string()),
        _float_array(cols.weight[sl]),
        pa.array(cols.token_count[sl].astype(np.int64), type=pa.int64()),
    ], schema=SCHEMA)


class HashingSink:
    """A write-only binary file that also hashes what passes through it (sha256) and counts the bytes."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.sha = hashlib.sha256()
        self.size = 0
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Hash `data`, then write it to the underlying file."""
        self.sha.update(data)
        self.size += len(data)
        return self.out.write(data)

    def flush(self) -> None:
        """Flush the underlying file."""
        self.out.flush()

    def tell(self) -> int:
        """Bytes written so far (pyarrow asks for the position)."""
        return self.size


def write_list(cols: KeepColumns, fmt: Format, out: BinaryIO) -> str:
    """Write the list in `fmt` to `out`, chunk by chunk; returns the sha256 of the bytes written."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}: expected one of {', '.join(FORMATS)}")
    sink = HashingSink(out)
    if fmt == "parquet":
        with pq.ParquetWriter(sink, SCHEMA, compression="zstd") as writer:
            for start in range(0, len(cols), ROW_GROUP_ROWS):
                writer.write_table(row_group(cols, start, min(start + ROW_GROUP_ROWS, len(cols))))
            if not len(cols):
                writer.write_table(row_group(cols, 0, 0))
        pa.default_memory_pool().release_unused()  # the row groups' buffers: give them back to the app process
    elif fmt == "csv":
        sink.write(csv_bytes(cols, 0, 0, header=True))
        for start in range(0, len(cols), CHUNK_ROWS):
            sink.write(csv_bytes(cols, start, min(start + CHUNK_ROWS, len(cols)), header=False))
    else:
        for start in range(0, len(cols), CHUNK_ROWS):
            sink.write(jsonl_bytes(cols, start, min(start + CHUNK_ROWS, len(cols))))
    return sink.sha.hexdigest()
