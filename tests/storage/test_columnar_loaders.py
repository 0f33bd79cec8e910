"""The columnar loaders against a straightforward reference, on a small store built to have every hard case.

`load_selection_columns` and `load_score_pairs` read columns in chunks and align them in numpy. The
reference here reads every row of `records`, `scores` and `annotations` and picks in plain Python, as
the rules say: the chosen score is the latest complete student score by (created_at, score_id); a pair's
student and teacher scores are each judge's highest score id. The store mixes judges, prompt versions,
incomplete scores, equal timestamps, half points, decimals, NULL slots, measured tokens and overrides,
and the chunk size is cut to 7 rows so a record's scores straddle chunks.
"""

from __future__ import annotations

import json
import math
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import insert, select, update

from mira_core.dimensions import COLUMNS
from mira_core.storage import columnar, selection_repo
from mira_core.storage import reliability_repo as rel
from mira_core.storage.annotations_repo import save_annotation
from mira_core.storage.engine import read_conn, write_tx
from mira_core.storage.tables import annotations_table, records, scores
from tests.reliability.builders import make_records

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _score_row(rng: np.random.Generator, rid: str, kind: str, judge: str, prompt: str, minutes: int,
               decimals: bool) -> dict:
    vals = rng.integers(0, 11, 15).astype(float)
    if decimals:
        vals += rng.choice([0.0, 0.5, 0.3], 15)  # 0.3 is no float32: that store keeps float64
    vals[rng.random(15) < 0.1] = np.nan
    row = {"record_id": rid, "judge_kind": kind, "judge": judge, "job_id": None, "prompt_version": prompt,
           "created_at": T0 + timedelta(minutes=minutes), "raw_output": "raw", "complete": bool(rng.random() < 0.8),
           "overall": int(rng.integers(0, 101)), "recommendation": str(rng.choice(["keep", "drop", "downsample"])),
           "record_tokens": int(rng.integers(10, 900)) if rng.random() < 0.5 else None,
           "shortened": False, "elided_tokens": 0, "parsed": json.dumps({})}
    row.update({c: None if math.isnan(v) else float(v) for c, v in zip(COLUMNS, vals, strict=True)})
    return row


def build_store(engine, *, decimals: bool, seed: int = 3) -> list[str]:
    """40 records, 0-4 student scores each (two judges, two prompts, few distinct times), teacher labels."""
    ids = make_records(engine, 40, sources=("src_a", "src_b", "src_c"))
    rng = np.random.default_rng(seed)
    rows = []
    for rid in ids:
        for _ in range(int(rng.integers(0, 5))):
            rows.append(_score_row(rng, rid, "student", str(rng.choice(["m1", "m2"])), str(rng.choice(["v1", "v2"])),
                                   int(rng.integers(0, 3)), decimals))  # few times: equal created_at is common
        for _ in range(int(rng.integers(0, 3)) if rng.random() < 0.5 else 0):
            rows.append(_score_row(rng, rid, "teacher", str(rng.choice(["kimi", "other"])), "teacher",
                                   int(rng.integers(0, 3)), decimals))
    order = rng.permutation(len(rows))  # score ids not in record order
    with write_tx(engine) as conn:
        conn.execute(insert(scores), [rows[i] for i in order])
        for rid, override in zip(ids[:6], ["force_keep", "force_drop", "none", "force_keep", "none", "force_drop"],
                                 strict=True):
            save_annotation(conn, rid, expected_version=0, override=override, reason="test", who="tester")
    return ids


def _all_rows(engine) -> tuple[list, list, dict]:
    with read_conn(engine) as conn:
        recs = list(conn.execute(select(records.c.record_id, records.c.source, records.c.outcome,
                                        records.c.token_estimate)))
        rows = [r._asdict() for r in conn.execute(select(scores))]
        overrides = dict(conn.execute(select(annotations_table.c.record_id, annotations_table.c.override)).all())
    recs.sort(key=lambda r: r.record_id.encode())
    return recs, rows, overrides


def _slots(row: dict | None) -> list[float]:
    return [math.nan if row is None or row[c] is None else row[c] for c in COLUMNS]


def reference_selection(engine, judge: str | None, prompt: str | None) -> dict:
    recs, rows, overrides = _all_rows(engine)
    chosen: dict[str, dict] = {}
    for row in rows:
        if row["judge_kind"] != "student" or not row["complete"] or (judge and row["judge"] != judge) or (
                prompt and row["prompt_version"] != prompt):
            continue
        best = chosen.get(row["record_id"])
        if best is None or (row["created_at"], row["score_id"]) > (best["created_at"], best["score_id"]):
            chosen[row["record_id"]] = row
    picks = [chosen.get(r.record_id) for r in recs]
    runs: dict[tuple[str, str], int] = {}
    for p in picks:
        if p is not None:
            runs[(p["judge"], p["prompt_version"])] = runs.get((p["judge"], p["prompt_version"]), 0) + 1
    return {
        "record_ids": [r.record_id.encode() for r in recs], "sources": [r.source for r in recs],
        "outcomes": [r.outcome for r in recs], "overrides": [overrides.get(r.record_id) for r in recs],
        "complete": [p is not None for p in picks],
        "recommendations": [p and p["recommendation"] for p in picks],
        "overall": [math.nan if p is None else p["overall"] for p in picks],
        "tokens": [r.token_estimate if p is None or p["record_tokens"] is None else p["record_tokens"]
                   for r, p in zip(recs, picks, strict=True)],
        "tokens_measured": [p is not None and p["record_tokens"] is not None for p in picks],
        "scores": np.array([_slots(p) for p in picks], dtype=np.float32).reshape(len(recs), 15),
        "runs": sorted((j, v, k) for (j, v), k in runs.items()),
    }


@pytest.mark.parametrize("decimals", [False, True])
@pytest.mark.parametrize("rule", [(None, None), ("m1", None), ("m2", "v2"), ("nobody", None)])
def test_selection_columns_match_the_reference(engine, monkeypatch, decimals, rule):
    build_store(engine, decimals=decimals)
    monkeypatch.setattr(columnar, "CHUNK", 7)
    with read_conn(engine) as conn:
        got = selection_repo.load_selection_columns(conn, judge=rule[0], prompt_version=rule[1])
    want = reference_selection(engine, *rule)
    assert got.record_ids.tolist() == want["record_ids"]
    for name in ("sources", "outcomes", "overrides", "recommendations"):
        assert getattr(got, name).strings().tolist() == want[name], name
    assert got.complete.tolist() == want["complete"]
    np.testing.assert_array_equal(got.overall, np.array(want["overall"], dtype=np.float32))
    assert got.tokens.tolist() == want["tokens"] and got.tokens_measured.tolist() == want["tokens_measured"]
    assert got.scores.dtype == np.float32
    np.testing.assert_array_equal(got.scores, want["scores"])
    assert [(r.judge, r.prompt_version, r.records) for r in got.runs] == want["runs"]


def reference_pairs(engine, student_judge: str | None, teacher: str | None, sources: list[str]) -> dict:
    recs, rows, _ = _all_rows(engine)
    latest: dict[tuple[str, str], dict] = {}
    for row in sorted(rows, key=lambda r: r["score_id"]):
        if row["judge_kind"] == "student" and (not student_judge or row["judge"] == student_judge):
            latest[("student", row["record_id"])] = row
        if row["judge_kind"] == "teacher" and row["judge"] == teacher:
            latest[("teacher", row["record_id"])] = row
    kept = [r for r in recs if ("student", r.record_id) in latest and (not sources or r.source in sources)]
    return {
        "record_ids": [r.record_id for r in kept], "sources": [r.source for r in kept],
        "outcomes": [r.outcome for r in kept], "tokens": [r.token_estimate for r in kept],
        "student": np.array([_slots(latest[("student", r.record_id)]) for r in kept]).reshape(len(kept), 15),
        "teacher": np.array([_slots(latest.get(("teacher", r.record_id))) for r in kept]).reshape(len(kept), 15),
    }


@pytest.mark.parametrize("decimals", [False, True])
@pytest.mark.parametrize("ask", [(None, "kimi", []), ("m2", "other", []), (None, "kimi", ["src_b"]), (None, None, [])])
def test_score_pairs_match_the_reference(engine, monkeypatch, decimals, ask):
    build_store(engine, decimals=decimals)
    monkeypatch.setattr(columnar, "CHUNK", 7)
    with read_conn(engine) as conn:
        got = rel.load_score_pairs(conn, student_judge=ask[0], teacher=ask[1], sources=ask[2])
    want = reference_pairs(engine, *ask)
    assert got.record_ids.tolist() == want["record_ids"] and got.sources.tolist() == want["sources"]
    assert got.outcomes.tolist() == want["outcomes"] and got.tokens.tolist() == want["tokens"]
    # Whole and half points fit float32 exactly and are kept so; 0.3 does not, so that store stays float64.
    assert got.student.dtype == (np.float64 if decimals else np.float32)
    np.testing.assert_array_equal(got.student, want["student"])
    np.testing.assert_array_equal(got.teacher, want["teacher"])


@pytest.mark.parametrize("decimals", [False, True])
@pytest.mark.parametrize("ask", [(None, "kimi"), ("m2", "other"), ("m1", "nobody")])
def test_labelled_only_pairs_give_the_page_the_same_matrix_and_cells(engine, monkeypatch, decimals, ask):
    # The agreement page reads student values of labelled records only: every row stays (so every source
    # and filter keeps its cells), values differ only where no teacher value could pair with them.
    from mira_core.views.reliability import PairFilter, agreement_matrix, cell_detail

    build_store(engine, decimals=decimals)
    monkeypatch.setattr(columnar, "CHUNK", 7)
    with read_conn(engine) as conn:
        full = rel.load_score_pairs(conn, student_judge=ask[0], teacher=ask[1])
        lean = rel.load_score_pairs(conn, student_judge=ask[0], teacher=ask[1], labelled_only=True)
    assert lean.record_ids.tolist() == full.record_ids.tolist() and lean.sources.tolist() == full.sources.tolist()
    np.testing.assert_array_equal(lean.teacher, full.teacher)
    labelled = ~np.isnan(full.teacher).all(axis=1)
    np.testing.assert_array_equal(lean.student[labelled], full.student[labelled])
    assert np.isnan(lean.student[~labelled]).all()
    for where in (PairFilter(), PairFilter(outcomes=("resolved",)), PairFilter(sources=("src_c",), min_tokens=10)):
        pd.testing.assert_frame_equal(agreement_matrix(lean, where=where, min_n=2),
                                      agreement_matrix(full, where=where, min_n=2))
    for source in ("src_a", "all sources"):  # same values; float32 when the labelled ones alone fit it
        pd.testing.assert_frame_equal(cell_detail(lean, source, "A3"), cell_detail(full, source, "A3"),
                                      check_dtype=False)


def test_one_score_per_record_takes_the_no_copy_path_with_the_same_result(engine, monkeypatch):
    # Every record scored once, in order: the loader hands the read matrix over without spreading it.
    from tests.reliability.builders import add_scores

    ids = make_records(engine, 23)
    values = np.random.default_rng(4).integers(0, 11, (23, 15)).astype(float)
    values[3, 4] = np.nan
    add_scores(engine, ids, values)
    monkeypatch.setattr(columnar, "CHUNK", 7)
    with read_conn(engine) as conn:
        got = selection_repo.load_selection_columns(conn)
    want = reference_selection(engine, None, None)
    assert got.complete.all() and got.scores.dtype == np.float32
    np.testing.assert_array_equal(got.scores, want["scores"])
    assert got.tokens.tolist() == want["tokens"]
    assert got.scores.flags["C_CONTIGUOUS"]  # row-wise work on it (the aggregates) wants rows contiguous


def unpacked_selection(engine, **rule) -> selection_repo.SelectionArrays:
    """The selection as read from the 15 slot columns: every packed value NULL (rolled back after the load)."""
    with engine.connect() as conn, conn.begin() as tx:
        conn.execute(update(scores).values(slots_packed=None))
        got = selection_repo.load_selection_columns(conn, **rule)
        tx.rollback()
    return got


def assert_same_arrays(got: selection_repo.SelectionArrays, want: selection_repo.SelectionArrays) -> None:
    """Every field equal bit for bit: same dtypes, same bytes, same coded values in the same order."""
    for field in fields(selection_repo.SelectionArrays):
        a, b = getattr(got, field.name), getattr(want, field.name)
        if isinstance(a, columnar.Coded):
            assert a.values == b.values and a.codes.dtype == b.codes.dtype, field.name
            a, b = a.codes, b.codes
        if isinstance(a, np.ndarray):
            assert (a.dtype, a.shape, a.tobytes()) == (b.dtype, b.shape, b.tobytes()), field.name
        else:
            assert a == b, field.name


@pytest.mark.parametrize("decimals", [False, True])
@pytest.mark.parametrize("rule", [{}, {"judge": "m2", "prompt_version": "v2"}])
def test_packed_slots_give_the_same_arrays_as_the_slot_columns(engine, monkeypatch, decimals, rule):
    build_store(engine, decimals=decimals)
    monkeypatch.setattr(columnar, "CHUNK", 7)
    with read_conn(engine) as conn:
        got = selection_repo.load_selection_columns(conn, **rule)
    assert_same_arrays(got, unpacked_selection(engine, **rule))
    with write_tx(engine) as conn:  # a chosen row without its packed value: that load reads the columns
        last = conn.execute(select(scores.c.score_id).where(scores.c.judge_kind == "student", scores.c.complete.is_(True))
                            .order_by(scores.c.record_id.desc())).scalars().first()
        conn.execute(update(scores).where(scores.c.score_id == last).values(slots_packed=None))
    with read_conn(engine) as conn:
        assert_same_arrays(selection_repo.load_selection_columns(conn, **rule), got)


def test_texts_outside_the_known_values_are_read_as_text_with_the_same_result(engine, monkeypatch):
    # The load reads judge, prompt version, recommendation, source and outcome as codes of their known texts
    # (the judge index, the kept source counts, the parser's values); any other text: the same arrays.
    build_store(engine, decimals=False)
    monkeypatch.setattr(columnar, "CHUNK", 7)
    with write_tx(engine) as conn:
        conn.execute(update(scores).where(scores.c.score_id == 5).values(recommendation="maybe"))
        conn.execute(update(records).where(records.c.record_id == min(conn.scalars(select(records.c.record_id))))
                     .values(outcome="flaky"))
    with read_conn(engine) as conn:
        got = selection_repo.load_selection_columns(conn)
    assert "flaky" in got.outcomes.values
    assert_same_arrays(got, unpacked_selection(engine))
    want = reference_selection(engine, None, None)
    assert got.recommendations.strings().tolist() == want["recommendations"]
    assert got.outcomes.strings().tolist() == want["outcomes"]


def test_known_codes_give_the_coded_columns_a_text_read_gives(engine, monkeypatch):
    build_store(engine, decimals=False)
    monkeypatch.setattr(columnar, "CHUNK", 7)
    names, kinds = ["source", "outcome", "token_estimate"], ["code", "code", "int"]
    with read_conn(engine) as conn:
        plain = columnar.records_by_id(conn, names, kinds)
        # known values in another order than first seen, with texts no record has
        coded = columnar.records_by_id(conn, names, kinds, known={"source": ["nope", "src_c", "src_b", "src_a", None],
                                                                  "outcome": [None, "unknown", "resolved", "not_resolved"]})
    for k in (1, 2):
        assert coded.coded(k).values == plain.coded(k).values
        assert coded.coded(k).codes.dtype == np.int32 and coded.coded(k).codes.tobytes() == plain.coded(k).codes.tobytes()
    assert coded.array(0).tobytes() == plain.array(0).tobytes() and coded.array(3).tobytes() == plain.array(3).tobytes()


def test_instance_ids_come_with_the_records_read_aligned_by_record_id(engine, monkeypatch):
    # An export names each kept record's instance: the load reads them in its one pass over records.
    build_store(engine, decimals=False)
    monkeypatch.setattr(columnar, "CHUNK", 7)
    with write_tx(engine) as conn:
        ids = sorted(conn.scalars(select(records.c.record_id)))
        conn.execute(update(records).where(records.c.record_id.in_(ids[:5])).values(instance_id=None))
        conn.execute(update(records).where(records.c.record_id.in_(ids[5:15])).values(instance_id="shared__repo-1"))
    with read_conn(engine) as conn:
        got = selection_repo.load_selection_columns(conn, instance_ids=True)
        plain = selection_repo.load_selection_columns(conn)
        stored = dict(conn.execute(select(records.c.record_id, records.c.instance_id)).all())
    assert got.instance_ids is not None and plain.instance_ids is None
    want = [stored[rid.decode()] for rid in got.record_ids.tolist()]
    assert got.instance_ids.strings().tolist() == want
    assert want.count(None) == 5 and want.count("shared__repo-1") == 10
    assert_same_arrays(replace(got, instance_ids=None), plain)  # the rest of the load is unchanged


def test_sqlite_reads_the_records_columns_from_the_covering_index(engine):
    # Migration 0022: the load's records read walks the narrow index (already in record-id order), not the table.
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's query plan")
    stmt = select(records.c.record_id, records.c.source, records.c.outcome, records.c.token_estimate,
                  records.c.instance_id)
    sql = str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))
    with read_conn(engine) as conn:
        plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
    assert "COVERING INDEX ix_records_selection_covering" in plan, plan
