"""The store `bench browser` and `bench load` drive: the demo corpus, scored, half teacher-labelled, with one spot-check.

Scoring 232K records through the SIMULATED HTTP endpoint would take most of an hour, so the bench stores
SIMULATED student scores directly (seeded, judge `mira-SIMULATED-bench`); what is measured is the pages,
not the scorer. The store is built once per size in the work folder and reused by later runs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from mira_core.demo import load_demo
from mira_core.dimensions import SLOTS
from mira_core.identity import Actor, Role
from mira_core.query import RecordFilter
from mira_core.reliability.demo_teacher import label_demo_corpus
from mira_core.reliability.spot_check_store import create_spot_check
from mira_core.storage import Engine, migrate, read_conn, records_repo, scores_repo, write_tx
from mira_core.storage.engine import make_engine

JUDGE = "mira-SIMULATED-bench"
BENCH_ACTOR = Actor(user_id="bench@localhost", role=Role.admin, via="cli")
RECOMMENDATIONS = ("keep", "downsample", "drop")


def student_scores(ids: list[str], seed: int) -> list[scores_repo.NewScore]:
    """Seeded SIMULATED student scores: a per-record quality plus noise per dimension, 0-10."""
    rng = np.random.default_rng(seed)
    quality = rng.uniform(2, 9, len(ids))
    values = np.clip(np.rint(quality[:, None] + rng.normal(0, 1.5, (len(ids), len(SLOTS)))), 0, 10)
    out = []
    for rid, q, row in zip(ids, quality, values, strict=True):
        rationales = {s: f"SIMULATED bench rationale for {s}: score {v:g}" for s, v in zip(SLOTS, row, strict=True)}
        out.append(scores_repo.NewScore(
            record_id=rid, judge_kind="student", judge=JUDGE, job_id="bench-browser", prompt_version="bench",
            raw_output="(SIMULATED)", complete=True, overall=int(q * 10), recommendation=RECOMMENDATIONS[int(q < 6) + int(q < 4)],
            domain_tag=None, brief=None, shortened=False, elided_tokens=0, prompt_tokens=None,
            parsed_json=json.dumps({"rationales": rationales}), slots=dict(zip(SLOTS, map(float, row), strict=True))))
    return out


def log(msg: str, bench: str = "browser") -> None:
    """A progress line on stderr (stdout carries only the JSON figures)."""
    print(f"bench {bench}: {msg}", file=sys.stderr, flush=True)


def build_store(path: Path, records: int, seed: int = 0) -> tuple[str, str]:
    """(database URL, spot-check id) of a ready SQLite store at `path`, built when missing (minutes at 232K)."""
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    try:
        fill_store(engine, records, seed, where=str(path))
        return url, new_spot_check(engine)
    finally:
        engine.dispose()


def fill_store(engine: Engine, records: int, seed: int = 0, *, where: str = "the store") -> None:
    """Migrate; import `records` demo records when the store is empty; store SIMULATED scores once."""
    migrate.upgrade(engine)
    with read_conn(engine) as conn:
        have = records_repo.count_records(conn, RecordFilter())
    if have == 0:
        log(f"generating and importing {records:,} demo records into {where} (minutes at 232K)")
        load_demo(engine, records, seed=seed)
    with read_conn(engine) as conn:
        scored = scores_repo.count_scores(conn, job_id="bench-browser")
    if scored == 0:
        _score(engine, seed)


def _score(engine: Engine, seed: int) -> None:
    with read_conn(engine) as conn:
        ids = [m["record_id"] for m in records_repo.iter_record_metadata(conn, RecordFilter())]
    log(f"storing SIMULATED student scores of {len(ids):,} records")
    with write_tx(engine) as conn:
        scores_repo.insert_scores(conn, student_scores(ids, seed))
    log("SIMULATED teacher labels on half of them")
    label_demo_corpus(engine, actor=BENCH_ACTOR, coverage=0.5)


def new_spot_check(engine: Engine, size: int = 30) -> str:
    """A fresh spot-check of `size` items of the first source's A1 (each run answers its own)."""
    with read_conn(engine) as conn:
        source = records_repo.distinct_values(conn, "source")[0]
    with write_tx(engine) as conn:
        return create_spot_check(conn, source=source, slot="A1", size=size, actor=BENCH_ACTOR, seed=1)
