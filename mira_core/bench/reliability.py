"""Benchmark of the reliability matrix at corpus size: 231,762 records x 15 dimensions x 2 judges.

`run(records)` returns medians in milliseconds:
- `matrix_ms`: MAE, Spearman rho and n for every source x dimension cell plus "all sources" (no intervals);
- `matrix_with_intervals_ms`: the same with 1000-resample bootstrap 95% intervals for every cell (what the
  page computes once per data version and filter, then holds in `st.cache_resource`);
- `baseline_ms`: the straightforward way for comparison, pandas groupby + scipy-free rank correlation
  per cell without intervals (one sample: it is slow);
- `load_ms`: `load_score_pairs` (student + teacher arrays) from a generated SQLite database of
  `load_records` records (building a 232K database takes a while, so the default is smaller; the page
  caches the result per data version).
Arrays are generated (integer scores 0-10, 6 sources, teacher labels on 60% of records).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from mira_core.dimensions import COLUMNS, SLOTS
from mira_core.reliability.metrics import reliability_matrix

SOURCES = ("agent_openhands", "davinc_dev", "swe_qa", "swe_smith", "nebius", "swe_gym")


def generate(records: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(student [n,15], teacher [n,15] with NaN for unlabelled records, sources [n])."""
    rng = np.random.default_rng(seed)
    student = rng.integers(0, 11, (records, 15)).astype(float)
    teacher = np.clip(student + rng.integers(-3, 4, (records, 15)), 0, 10).astype(float)
    teacher[rng.random(records) > 0.6] = np.nan
    student[rng.random((records, 15)) < 0.01] = np.nan  # a few slots the parser could not read
    sources = np.array(SOURCES, dtype=object)[rng.integers(0, len(SOURCES), records)]
    return student, teacher, sources


def _time(fn: Callable[[], object], repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return round(statistics.median(samples) * 1000, 2)


def pandas_baseline(student: np.ndarray, teacher: np.ndarray, sources: np.ndarray) -> pd.DataFrame:
    """MAE and Spearman per cell with pandas (rank per group, then Pearson of ranks)."""
    rows = []
    for k, slot in enumerate(SLOTS):
        df = pd.DataFrame({"source": sources, "s": student[:, k], "t": teacher[:, k]}).dropna()
        for source, g in [*df.groupby("source"), ("all sources", df)]:
            rows.append((source, slot, (g.s - g.t).abs().mean(), g.s.rank().corr(g.t.rank()), len(g)))
    return pd.DataFrame(rows, columns=["source", "slot", "mae", "rho", "n"])


def load_time(records: int, repeats: int) -> float:
    """Median ms to load student + teacher arrays from a generated SQLite database of `records` records."""
    from sqlalchemy import insert, literal, select

    from mira_core.selection.generate import generate_data
    from mira_core.selection.store import insert_generated
    from mira_core.storage import migrate
    from mira_core.storage.engine import make_engine, read_conn, write_tx
    from mira_core.storage.reliability_repo import load_score_pairs
    from mira_core.storage.tables import scores

    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bench.sqlite")
        migrate.upgrade(engine)
        copied = ["record_id", "prompt_version", "created_at", "raw_output", "complete", "shortened",
                  "elided_tokens", "parsed", *COLUMNS, "slots_packed"]
        with write_tx(engine) as conn:
            insert_generated(conn, generate_data(records), judge="bench-student")
            teacher = select(*[scores.c[c] for c in copied], literal("teacher"), literal("bench-teacher")).where(
                scores.c.judge_kind == "student")
            conn.execute(insert(scores).from_select([*copied, "judge_kind", "judge"], teacher))

        def load() -> None:
            with read_conn(engine) as conn:
                load_score_pairs(conn, teacher="bench-teacher")

        ms = _time(load, repeats)
        engine.dispose()
    return ms


def run(records: int = 231_762, *, repeats: int = 5, load_records: int = 50_000) -> dict[str, object]:
    """Time the matrix with and without intervals on generated arrays; check it against the baseline."""
    student, teacher, sources = generate(records)
    fast = reliability_matrix(student, teacher, sources, 30, intervals=False)
    base = pandas_baseline(student, teacher, sources)
    merged = fast.merge(base, on=["source", "slot"], suffixes=("", "_base"))
    if not (np.allclose(merged.mae, merged.mae_base) and np.allclose(merged.rho, merged.rho_base)):
        raise AssertionError("reliability_matrix disagrees with the pandas baseline")
    return {
        "records": records,
        "judges": 2,
        "dimensions": len(SLOTS),
        "cells": len(fast),
        "matrix_ms": _time(lambda: reliability_matrix(student, teacher, sources, 30, intervals=False), repeats),
        "matrix_with_intervals_ms": _time(lambda: reliability_matrix(student, teacher, sources, 30), repeats),
        "baseline_ms": _time(lambda: pandas_baseline(student, teacher, sources), 1),
        "load_records": load_records,
        "load_ms": load_time(load_records, min(repeats, 3)) if load_records else None,
    }


def main(argv: list[str] | None = None) -> int:
    """`python -m mira_core.bench.reliability --records N` prints the JSON result."""
    ap = argparse.ArgumentParser(prog="bench reliability", description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--records", type=int, default=231_762)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--load-records", type=int, default=50_000, help="database size for load_ms (0: skip)")
    args = ap.parse_args(argv)
    print(json.dumps(run(args.records, repeats=args.repeats, load_records=args.load_records)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
