"""`scores.slots_packed`: the format keeps every value exactly, and every score writer fills it."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from sqlalchemy import select

from mira_core.dimensions import COLUMNS, SLOTS
from mira_core.storage import scores_repo
from mira_core.storage.bench_copies import copy_records
from mira_core.storage.engine import read_conn, write_tx
from mira_core.storage.packed_slots import pack, unpack, with_packed
from mira_core.storage.reliability_repo import TeacherLabel, store_teacher_labels
from mira_core.storage.selection_repo import SelectionColumns, insert_generated
from mira_core.storage.tables import scores
from tests.reliability.builders import add_scores, make_records
from tests.selection.dbcorpus import score

ODD = [0.1, 7.3, None, -0.0, 10.0, 1e-300, 2.5, 1 / 3, None, 0.0, 9.999999999999998, 5.5, 4.0, 3.25, 8.7]


def test_pack_keeps_every_value_and_missing_ones_as_nan():
    got = unpack([pack(ODD), pack([None] * 15)])
    assert got.shape == (2, 15) and got.dtype == np.dtype(">f8")
    want = np.array([math.nan if v is None else v for v in ODD], dtype=np.float64)
    assert got[0].astype(np.float64).tobytes() == want.tobytes()  # bit for bit: -0.0 and 1/3 included
    assert np.isnan(got[1]).all() and pack([math.nan] * 15) == pack([None] * 15)  # any NaN reads back as NaN
    assert len(pack(ODD)) == 15 * 8 and pack([1.0] + [None] * 14)[:8] == bytes.fromhex("3ff0000000000000")


def test_with_packed_sets_the_column_only_with_all_slots():
    assert with_packed({"complete": True}, "sqlite") == {"complete": True}
    values = {"complete": True, **dict(zip(COLUMNS, ODD, strict=True))}
    assert with_packed(values, "postgresql")["slots_packed"] == pack(ODD)
    assert with_packed(values, "sqlite")["slots_packed"] == pack(ODD, sqlite=True) != pack(ODD)  # -0.0 is 0 there
    with pytest.raises(ValueError, match="all 15"):
        with_packed({"a1": 3.0}, "sqlite")


def _sqlite(engine) -> bool:
    return engine.dialect.name == "sqlite"


def _stored(engine) -> list[tuple]:
    with read_conn(engine) as conn:
        return [tuple(r) for r in conn.execute(select(scores.c.judge, scores.c.slots_packed,
                                                      *[scores.c[c] for c in COLUMNS]))]


def _assert_packed(engine) -> set[str]:
    rows = _stored(engine)
    for judge, packed, *slots in rows:
        assert packed is not None and bytes(packed) == pack(slots, sqlite=_sqlite(engine)), judge
    return {r[0] for r in rows}


def test_every_score_writer_fills_the_packed_column(engine):
    ids = make_records(engine, 6)
    odd = dict(zip(SLOTS, ODD, strict=True))
    with write_tx(engine) as conn:
        scores_repo.insert_score(conn, score(ids[0], 7.5, "keep", judge="one-by-one"))
        scores_repo.insert_score(conn, score(ids[1], 3, "drop", judge="replaced", complete=False))
        scores_repo.insert_score(conn, score(ids[1], 6.5, "keep", judge="replaced"))  # replaces in place
        scores_repo.insert_scores(conn, [score(rid, 2, "drop", judge="batch", job="b") for rid in ids[2:4]])
        store_teacher_labels(conn, "teacher", [TeacherLabel(record_id=ids[4], raw_output="raw", complete=True,
                                                            slots=odd, parsed_json="{}")])
    add_scores(engine, ids[5:], np.array([[1.5] * 14 + [np.nan]]), judge="plain-insert")
    with write_tx(engine) as conn:
        score_id = conn.execute(select(scores.c.score_id).where(scores.c.judge == "batch")).scalars().first()
        reparsed = {"score_id": score_id, "complete": True, "overall": 40, **dict(zip(COLUMNS, ODD, strict=True))}
        scores_repo.update_parsed(conn, [reparsed])
        copy_records(conn, 1)  # INSERT ... SELECT copies the column with the row
    judges = _assert_packed(engine)
    assert judges == {"one-by-one", "replaced", "batch", "teacher", "plain-insert"}
    assert sum(bytes(r[1]) == pack(ODD, sqlite=_sqlite(engine)) for r in _stored(engine)) == 4  # the label, the reparsed one, their copies


def test_generated_scores_fill_the_packed_column(engine):
    slots = np.full((3, 15), 4.5, dtype=np.float32)
    slots[1, 2] = np.nan
    cols = SelectionColumns(
        record_ids=[f"gen{i:021d}" for i in range(3)], sources=["s"] * 3, tokens=np.array([5, 6, 7]),
        outcomes=["resolved"] * 3, complete=np.array([True, True, False]), overall=np.array([50, np.nan, 20]),
        recommendations=["keep", None, "drop"], overrides=[None] * 3, scores=slots)
    with write_tx(engine) as conn:
        insert_generated(conn, cols, judge="gen", prompt_version="v1")
    assert _assert_packed(engine) == {"gen"}
    assert len(_stored(engine)) == 3


def test_reparse_writes_the_packed_column(engine):
    ids = make_records(engine, 1)
    with write_tx(engine) as conn:
        scores_repo.insert_score(conn, score(ids[0], 5, "keep"))
        score_id = conn.execute(select(scores.c.score_id)).scalar_one()
        scores_repo.update_parsed(conn, [{"score_id": score_id, "complete": False, "overall": None,
                                          "parsed": json.dumps({}), **dict.fromkeys(COLUMNS)}])
    [(_, packed, *slots)] = _stored(engine)
    assert slots == [None] * 15 and np.isnan(unpack([packed])).all()
