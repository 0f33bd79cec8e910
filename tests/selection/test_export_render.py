"""The chunked list renderers write exactly the bytes of a plain rendering (one json.dumps per row, csv.writer,
one pyarrow write_table) on a real store with awkward values: text needing escapes, long decimals, no score,
no instance id, several chunks and row groups."""

import csv
import hashlib
import io
import json
import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from mira_core.records import Outcome, Record
from mira_core.selection import export_render
from mira_core.selection.export import export_files
from mira_core.selection.export_render import KeepColumns, write_list
from mira_core.selection.keep import DECISIONS, keep_list
from mira_core.selection.policies import CutSpec, Policy
from mira_core.selection.preview import precompute
from mira_core.selection.store import load_selection_data
from mira_core.storage.annotations_repo import save_annotation
from mira_core.storage.engine import read_conn, write_tx
from mira_core.storage.records_repo import StoredItem, insert_items
from mira_core.storage.scores_repo import NewScore, insert_score
from mira_core.storage.tables import records

SOURCES = ["agent_ö", 'quo"te', "plain"]
IIDS = [None, 'has "quotes" and \\ back', "line\nbreak\ttab", "ünïcødé 🙂", "ctrl\x01char", "django__django-1"]
POLICY = Policy(name="awkward", criterion="mean", cuts={s: CutSpec(mode="top_records", value=70) for s in SOURCES},
                downsample_weight=1 / 3)


def _seed(engine, n=120):
    """n records over three sources; slot values with long decimals; every 9th unscored (r0009 force-kept),
    every 13th incomplete."""
    rng = np.random.default_rng(7)
    recs = [Record(record_id=f"r{i:04d}", source=SOURCES[i % 3], format="test", instance_id=IIDS[i % len(IIDS)],
                   issue="x" * int(rng.integers(4, 4000)), outcome=Outcome.resolved, origin="test") for i in range(n)]
    with write_tx(engine) as conn:
        insert_items(conn, [StoredItem(r, r.model_dump_json().encode()) for r in recs])
        for i, r in enumerate(recs):
            if i % 9 == 0:
                continue
            slots = {f"A{k}": float(rng.uniform(0, 10)) for k in range(1, 16)}
            insert_score(conn, NewScore(
                record_id=r.record_id, judge_kind="student", judge="m", job_id="j", prompt_version="v1",
                raw_output="(raw)", complete=i % 13 != 0, overall=int(rng.integers(0, 100)),
                recommendation=["keep", "downsample", "drop"][i % 3], domain_tag=None, brief=None,
                shortened=False, elided_tokens=0, prompt_tokens=None, parsed_json="{}", slots=slots))
    with write_tx(engine) as conn:  # kept without a score: its aggregate is null
        save_annotation(conn, "r0009", expected_version=0, override="force_keep", reason="test", who="tester")


def _num(x):
    return None if math.isnan(x) else round(float(x), 6)


def _reference(engine, policy, fmt, row_group_size=None):
    """The list rendered the plain way, from the same keep list."""
    with read_conn(engine) as conn:
        loaded = load_selection_data(conn, policy.scorer)
        iids = dict(conn.execute(select(records.c.record_id, records.c.instance_id)).all())
    pre = precompute(loaded.data, policy.mask_array(loaded.data.sources), policy.criterion, None)
    kl = keep_list(pre, policy)
    ids = kl.record_ids(pre)
    cols = [ids, [pre.data.sources[c] for c in pre.data.source_codes[kl.index]], [iids[r] for r in ids],
            [_num(v) for v in kl.value], [DECISIONS[d] for d in kl.decision], [_num(w) for w in kl.weight],
            [int(t) for t in pre.data.tokens[kl.index]]]
    if fmt == "jsonl":
        return "".join(json.dumps(dict(zip(export_render.COLUMNS, r, strict=True)), ensure_ascii=False,
                                  separators=(",", ":")) + "\n" for r in zip(*cols, strict=True)).encode()
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(export_render.COLUMNS)
        for r in zip(*cols, strict=True):
            w.writerow(["" if v is None else (f"{v:.6f}" if isinstance(v, float) else v) for v in r])
        return buf.getvalue().encode()
    schema = export_render.SCHEMA
    table = pa.Table.from_arrays([pa.array(c, type=schema.field(i).type) for i, c in enumerate(cols)], schema=schema)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd", row_group_size=row_group_size)
    return sink.getvalue().to_pybytes()


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_chunked_bytes_equal_the_plain_rendering(engine, monkeypatch, fmt):
    _seed(engine)
    monkeypatch.setattr(export_render, "CHUNK_ROWS", 7)  # several chunks, the last one short
    monkeypatch.setattr(export_render, "ROW_GROUP_ROWS", 16)  # several row groups
    files = export_files(engine, POLICY, fmt)
    assert 50 < files.rows < 120  # a real cut: some records dropped, some kept
    expected = _reference(engine, POLICY, fmt, row_group_size=16)
    assert files.list_bytes == expected
    assert files.sha256 == hashlib.sha256(expected).hexdigest()
    if fmt == "jsonl":  # the awkward values are in the list: escaped text, no instance id, no score, 1/3 rounded
        rows = [json.loads(line) for line in files.list_bytes.decode().splitlines()]
        assert {r["instance_id"] for r in rows} >= {None, IIDS[1], IIDS[2], IIDS[3], IIDS[4]}
        assert {r["source"] for r in rows} == set(SOURCES)
        assert any(r["aggregate"] is None for r in rows) and 0.333333 in {r["weight"] for r in rows}


def test_parquet_in_one_row_group_equals_one_write_table(sqlite_engine):
    """With the default row group size (the export's), the file is that of a single pq.write_table call."""
    _seed(sqlite_engine)
    assert export_files(sqlite_engine, POLICY, "parquet").list_bytes == _reference(sqlite_engine, POLICY, "parquet")


def _empty_columns():
    none = np.zeros(0)
    return KeepColumns(record_id=np.zeros(0, dtype="S32"), sources=("A",), source_code=np.zeros(0, dtype=np.int16),
                       instance_id=np.zeros(0, dtype=object), aggregate=none, decision=np.zeros(0, dtype=np.int8),
                       weight=none, token_count=np.zeros(0, dtype=np.int64))


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_an_empty_list_is_rendered_like_the_plain_way(fmt):
    out = io.BytesIO()
    sha = write_list(_empty_columns(), fmt, out)
    assert sha == hashlib.sha256(out.getvalue()).hexdigest()
    if fmt == "jsonl":
        assert out.getvalue() == b""
    elif fmt == "csv":
        assert out.getvalue() == (",".join(export_render.COLUMNS) + "\n").encode()
    else:
        sink = pa.BufferOutputStream()
        pq.write_table(export_render.SCHEMA.empty_table(), sink, compression="zstd")
        assert out.getvalue() == sink.getvalue().to_pybytes()


def test_numbers_are_written_like_json_and_rounded_like_python():
    assert [export_render.json_number(export_render.round6(x)) for x in (1e-7, 2e-6, 1 / 3, float("nan"))] == [
        "0.0", "2e-06", "0.333333", "null"]
    assert export_render.json_number(float("inf")) == json.dumps(float("inf"))
    values = np.array([2.675, 0.1234565, 5.5e-7, np.nan, 2.675], dtype=np.float64)
    assert export_render.per_value(values, export_render.round6).tolist() == [
        round(2.675, 6), round(0.1234565, 6), round(5.5e-7, 6), None, round(2.675, 6)]
