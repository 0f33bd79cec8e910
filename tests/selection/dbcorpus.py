"""The hand-made corpus of `builders.small_corpus`, stored in a real database (records, scores, overrides)."""

from __future__ import annotations

import json

from sqlalchemy import Engine

from mira_core.records import Outcome, Record
from mira_core.storage.annotations_repo import save_annotation
from mira_core.storage.engine import write_tx
from mira_core.storage.records_repo import StoredItem, insert_items
from mira_core.storage.scores_repo import NewScore, insert_score

# id, source, tokens, aggregate (None: no complete score), recommendation, outcome, override
ROWS = [
    ("a1", "A", 100, 8, "keep", Outcome.resolved, None),
    ("a2", "A", 200, 6, "downsample", Outcome.not_resolved, None),
    ("a3", "A", 300, 6, "downsample", Outcome.resolved, None),
    ("a4", "A", 400, 3, "drop", Outcome.not_resolved, None),
    ("b1", "B", 50, 7, "keep", Outcome.resolved, None),
    ("b2", "B", 60, 2, "drop", Outcome.unknown, None),
    ("b3", "B", 1000, None, None, Outcome.unknown, None),
    ("b4", "B", 10, None, None, Outcome.unknown, "force_keep"),
    ("b5", "B", 5, 9, None, Outcome.unknown, "force_drop"),
]


def score(rid: str, value: float | None, rec: str | None, *, judge: str = "mira-student", prompt: str = "v1",
          complete: bool = True, job: str = "job1") -> NewScore:
    slots = {f"A{i}": value for i in range(1, 16)}
    return NewScore(record_id=rid, judge_kind="student", judge=judge, job_id=job, prompt_version=prompt,
                    raw_output="(raw)", complete=complete, overall=None if value is None else int(value * 10),
                    recommendation=rec, domain_tag=None, brief=None, shortened=False, elided_tokens=0,
                    prompt_tokens=None, parsed_json=json.dumps({}), slots=slots)


def seed(engine: Engine) -> None:
    """Records a1..b5; a1 also has an older complete score (1) and a newer incomplete one (0), which lose."""
    recs = [Record(record_id=rid, source=src, format="test", instance_id=f"inst-{rid}", issue="x" * (4 * tok),
                   outcome=outcome, origin="test") for rid, src, tok, _, _, outcome, _ in ROWS]
    with write_tx(engine) as conn:
        insert_items(conn, [StoredItem(r, r.model_dump_json().encode()) for r in recs])
        insert_score(conn, score("a1", 1, "drop", job="old"))
        for rid, _, _, value, rec, _, _ in ROWS:
            if value is not None:
                insert_score(conn, score(rid, value, rec))
        insert_score(conn, score("a1", 0, "drop", complete=False, job="newer-incomplete"))
        insert_score(conn, score("b3", 5, "keep", complete=False))  # only incomplete: b3 stays unscored
    with write_tx(engine) as conn:
        for rid, *_, override in ROWS:
            if override:
                save_annotation(conn, rid, expected_version=0, override=override, reason="test", who="tester")
