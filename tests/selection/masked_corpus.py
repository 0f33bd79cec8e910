"""A corpus where the mask decides: A1 disagrees with the other fourteen dimensions.

r1 scores A1=10 and 3 elsewhere: mean 52/15 = 3.47 over all dimensions, 3.0 with A1 masked.
r2 scores A1=0 and 3.3 elsewhere: mean 46.2/15 = 3.08 over all, 3.3 with A1 masked.
A threshold of 3.2 keeps r1 without a mask and r2 with A1 masked in source S.
"""

from __future__ import annotations

import json

from sqlalchemy import Engine

from mira_core.records import Outcome, Record
from mira_core.reliability.mask_store import save_mask_version
from mira_core.reliability.masks import mask_from_json
from mira_core.storage.engine import write_tx
from mira_core.storage.records_repo import StoredItem, insert_items
from mira_core.storage.scores_repo import NewScore, insert_score
from tests.reliability.builders import person

SCORES = {"r1": (10.0, 3.0), "r2": (0.0, 3.3)}  # record -> (A1, every other dimension)


def seed_masked_corpus(engine: Engine) -> None:
    """Records r1, r2 in source S, each with one complete student score."""
    recs = [Record(record_id=rid, source="S", format="test", instance_id=f"inst-{rid}", issue="x" * 400,
                   outcome=Outcome.unknown, origin="test") for rid in SCORES]
    with write_tx(engine) as conn:
        insert_items(conn, [StoredItem(r, r.model_dump_json().encode()) for r in recs])
        for rid, (a1, rest) in SCORES.items():
            slots = {f"A{i}": (a1 if i == 1 else rest) for i in range(1, 16)}
            insert_score(conn, NewScore(
                record_id=rid, judge_kind="student", judge="mira-student", job_id="job1", prompt_version="v1",
                raw_output="(raw)", complete=True, overall=50, recommendation="keep", domain_tag=None, brief=None,
                shortened=False, elided_tokens=0, prompt_tokens=None, parsed_json=json.dumps({}), slots=slots))


def activate_a1_mask(engine: Engine) -> int:
    """Save and activate a mask version hiding A1 in source S; returns its id."""
    mask = mask_from_json(json.dumps({"S": {"A1": {"masked": True, "reason": "test: A1 unreliable"}}}), where="test")
    with write_tx(engine) as conn:
        return save_mask_version(conn, name="A1 out", mask=mask, rules=None, actor=person())
