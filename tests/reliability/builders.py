"""Small corpora for reliability tests: records built in code, scores written straight into `scores`."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import Engine, insert

from mira_core.dimensions import COLUMNS
from mira_core.identity import Actor, Role
from mira_core.records import Outcome, Record, Step, StepKind, make_record_id
from mira_core.storage.engine import write_tx
from mira_core.storage.records_repo import StoredItem, insert_items
from mira_core.storage.tables import scores


def make_records(engine: Engine, n: int, sources: tuple[str, ...] = ("src_a", "src_b")) -> list[str]:
    """`n` records spread over `sources` (instance ids inst-<i>); returns their ids in creation order."""
    recs = []
    for i in range(n):
        source = sources[i % len(sources)]
        raw = json.dumps({"i": i, "source": source}).encode()
        recs.append(Record(
            record_id=make_record_id(source, raw), source=source, format="test", instance_id=f"inst-{i}",
            issue=f"Issue number {i}: the parser crashes\nDetails follow.",
            steps=[Step(role="user", kind=StepKind.user, content="fix it" * (i + 1))],
            outcome=Outcome.resolved if i % 2 else Outcome.not_resolved, origin=f"test#{i}",
        ))
    with write_tx(engine) as conn:
        insert_items(conn, [StoredItem(r, r.model_dump_json().encode()) for r in recs])
    return [r.record_id for r in recs]


def add_scores(engine: Engine, record_ids: list[str], values: np.ndarray, *, kind: str = "student",
               judge: str = "mira-student", prompt_version: str = "v1", job_id: str | None = None,
               rationale: str = "because") -> None:
    """One score row per record with slot values from `values` [n, 15] (NaN -> NULL)."""
    rows = []
    for rid, vals in zip(record_ids, values, strict=True):
        row = {"record_id": rid, "judge_kind": kind, "judge": judge, "job_id": job_id,
               "prompt_version": prompt_version, "created_at": datetime.now(UTC), "raw_output": "raw",
               "complete": True, "shortened": False, "elided_tokens": 0,
               "parsed": json.dumps({"rationales": {f"A{k + 1}": f"{judge} {rationale} A{k + 1}"
                                                    for k in range(len(vals))}, "problems": []})}
        row.update({c: None if np.isnan(v) else float(v) for c, v in zip(COLUMNS, vals, strict=True)})
        rows.append(row)
    with write_tx(engine) as conn:
        conn.execute(insert(scores), rows)


def scored_corpus(engine: Engine) -> tuple[Engine, list[str], np.ndarray, np.ndarray]:
    """12 records over two sources with two student runs (the later wins; one NaN) and teacher labels on 8.

    Returns (engine, record ids, the winning student scores, the teacher scores), rows in creation order.
    """
    ids = make_records(engine, 12)
    rng = np.random.default_rng(0)
    old = rng.integers(0, 11, (12, 15)).astype(float)
    new = rng.integers(0, 11, (12, 15)).astype(float)
    new[0, 2] = np.nan
    add_scores(engine, ids, old, job_id="job1")
    add_scores(engine, ids, new, job_id="job2")  # later score wins
    teacher = np.clip(new + 1, 0, 10)
    add_scores(engine, ids[:8], teacher[:8], kind="teacher", judge="kimi")
    return engine, ids, new, teacher


def person(user_id: str = "ann", role: Role = Role.admin) -> Actor:
    """Someone acting in a test: an admin unless said otherwise (the role tests build each role)."""
    return Actor(user_id=user_id, role=role)
