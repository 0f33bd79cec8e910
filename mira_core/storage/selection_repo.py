"""Selection storage: the numeric arrays the retention preview needs, active mask and overrides, policies.

`load_selection_data` is one query over records, the chosen student score per record and the curator's
override, reading only numbers and short codes (never bodies, raw outputs or rationales).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import Connection, ScalarSelect, func, insert, select, update

from mira_core.dimensions import COLUMNS, N_SLOTS
from mira_core.errors import ConflictError, NotFoundError
from mira_core.selection.aggregate import (
    OVERRIDE_DROP,
    OVERRIDE_KEEP,
    OVERRIDE_NONE,
    REC_NONE,
    RECOMMENDATIONS,
)
from mira_core.selection.data import (
    OUTCOME_NOT_RESOLVED,
    OUTCOME_RESOLVED,
    OUTCOME_UNKNOWN,
    SelectionData,
    make_data,
)
from mira_core.selection.policies import CutSpec, Policy, ScorerRule
from mira_core.storage import revisions_repo
from mira_core.storage.rows import fetch_tuples
from mira_core.storage.tables import annotations_table, policies, records, scores
from mira_core.timeutil import as_utc

_OUTCOMES = {"resolved": OUTCOME_RESOLVED, "not_resolved": OUTCOME_NOT_RESOLVED}
_OVERRIDES = {"force_keep": OVERRIDE_KEEP, "force_drop": OVERRIDE_DROP}


@dataclass(frozen=True)
class ScorerRun:
    """How many of the chosen scores came from one model and prompt version (for the manifest)."""

    judge: str
    prompt_version: str
    records: int


@dataclass(frozen=True)
class LoadedSelection:
    """The arrays for selection plus which scorer runs they came from."""

    data: SelectionData
    runs: tuple[ScorerRun, ...]


def selection_version(conn: Connection) -> str:
    """A small value that changes when records, scores or overrides change (the page's cache key)."""
    r = conn.execute(select(func.count(), func.max(records.c.imported_at))).one()
    s = conn.execute(select(func.count(), func.max(scores.c.score_id))).one()
    a = conn.execute(select(func.count(), func.max(annotations_table.c.updated_at))).one()
    return f"r{r[0]}:{r[1]}|s{s[0]}:{s[1]}:{revisions_repo.current(conn, revisions_repo.SCORES)}|a{a[0]}:{a[1]}"


def _latest_student_id(rule: ScorerRule) -> ScalarSelect:
    """Correlated subquery: the id of the record's latest complete student score matching `rule`.

    One index lookup per record (scores has an index on (judge_kind, record_id)); a window function over
    all scores joined back to records made SQLite scan the whole derived table once per record.
    """
    s2 = scores.alias("s2")
    stmt = select(s2.c.score_id).where(
        s2.c.record_id == records.c.record_id, s2.c.judge_kind == "student", s2.c.complete.is_(True))
    if rule.judge:
        stmt = stmt.where(s2.c.judge == rule.judge)
    if rule.prompt_version:
        stmt = stmt.where(s2.c.prompt_version == rule.prompt_version)
    return stmt.order_by(s2.c.created_at.desc(), s2.c.score_id.desc()).limit(1).correlate(records).scalar_subquery()



def load_selection_data(conn: Connection, rule: ScorerRule | None = None) -> LoadedSelection:
    """Every record with its chosen score (NaN + incomplete when none) and override, in record-id order."""
    pick = _latest_student_id(rule or ScorerRule())
    stmt = (
        select(records.c.record_id, records.c.source, records.c.token_estimate, records.c.outcome,
               scores.c.record_id.label("scored"), scores.c.judge, scores.c.prompt_version, scores.c.overall,
               scores.c.recommendation, annotations_table.c.override, *[scores.c[c] for c in COLUMNS])
        .select_from(records.outerjoin(scores, scores.c.score_id == pick)
                     .outerjoin(annotations_table, annotations_table.c.record_id == records.c.record_id))
        .order_by(records.c.record_id)
    )
    rows = fetch_tuples(conn, stmt)
    n = len(rows)
    cols = list(zip(*rows, strict=True)) if rows else [()] * (10 + N_SLOTS)
    names = tuple(sorted(set(cols[1])))
    code_of = {s: i for i, s in enumerate(names)}
    rec_code = {r: i for i, r in enumerate(RECOMMENDATIONS)}
    scored = np.array([v is not None for v in cols[4]], dtype=bool)
    # numpy turns None into NaN for float dtypes
    slot_values = np.array([r[10:] for r in rows], dtype=np.float32).reshape(n, N_SLOTS)
    data = make_data(
        np.array(cols[0], dtype="S32"), names, np.array([code_of[s] for s in cols[1]], dtype=np.int16),
        np.array(cols[2], dtype=np.int64), slot_values, scored,
        outcome=np.array([_OUTCOMES.get(o, OUTCOME_UNKNOWN) for o in cols[3]], dtype=np.int8),
        overall=np.array(cols[7], dtype=np.float32),
        recommendation=np.array([rec_code.get(r, REC_NONE) for r in cols[8]], dtype=np.int8),
        override=np.array([_OVERRIDES.get(o, OVERRIDE_NONE) for o in cols[9]], dtype=np.int8),
    )
    runs = Counter((j, p) for j, p in zip(cols[5], cols[6], strict=True) if j is not None)
    return LoadedSelection(data, tuple(ScorerRun(j, p, c) for (j, p), c in sorted(runs.items())))


def instance_ids(conn: Connection, record_ids: set[str]) -> dict[str, str | None]:
    """Instance ids of the given records (one streamed pass over two short columns)."""
    out: dict[str, str | None] = {}
    result = conn.execution_options(stream_results=True, yield_per=20000).execute(
        select(records.c.record_id, records.c.instance_id))
    for rid, iid in result:
        if rid in record_ids:
            out[rid] = iid
    return out


def scorer_choices(conn: Connection) -> tuple[list[str], list[str]]:
    """Distinct student models and prompt versions (choices for the scorer-run rule)."""
    student = scores.c.judge_kind == "student"
    judges = conn.execute(select(scores.c.judge).distinct().where(student).order_by(scores.c.judge)).scalars()
    versions = conn.execute(select(scores.c.prompt_version).distinct().where(student)
                            .order_by(scores.c.prompt_version)).scalars()
    return list(judges), list(versions)


# ----------------------------------------------------------------------------- policies


def _policy_row(p: Policy) -> dict:
    return {
        "name": p.name, "mode": "global" if p.global_cut else "per_source", "criterion": p.criterion,
        "thresholds": json.dumps({"cuts": {s: c.model_dump() for s, c in sorted(p.cuts.items())},
                                  "global_cut": p.global_cut.model_dump() if p.global_cut else None}, sort_keys=True),
        "mask_version": p.mask_version, "mask_cells": json.dumps(p.masked_cells, sort_keys=True),
        "scorer_rule": p.scorer.model_dump_json(), "budget_tokens": p.budget_tokens, "budget_rule": p.budget_rule,
        "weights": json.dumps({"downsample_weight": p.downsample_weight,
                               "downsample_recommendations": p.downsample_recommendations}, sort_keys=True),
        "note": p.note, "created_by": p.created_by,
    }


def _policy_from_row(row) -> Policy:  # type: ignore[no-untyped-def]
    th = json.loads(row["thresholds"])
    weights = json.loads(row["weights"])
    return Policy(
        name=row["name"], criterion=row["criterion"],
        cuts={s: CutSpec.model_validate(c) for s, c in th["cuts"].items()},
        global_cut=CutSpec.model_validate(th["global_cut"]) if th.get("global_cut") else None,
        mask_version=row["mask_version"], masked_cells=json.loads(row["mask_cells"]),
        scorer=ScorerRule.model_validate_json(row["scorer_rule"]), budget_tokens=row["budget_tokens"],
        budget_rule=row["budget_rule"], downsample_weight=weights["downsample_weight"],
        downsample_recommendations=weights["downsample_recommendations"], note=row["note"],
        created_by=row["created_by"], created_at=as_utc(row["created_at"]), updated_at=as_utc(row["updated_at"]),
    )


def save_policy(conn: Connection, policy: Policy, *, replace: bool = False) -> Policy:
    """Store a policy under its name; an existing name needs `replace=True` (keeps its creation time)."""
    now = datetime.now(UTC).replace(microsecond=0)
    existing = conn.execute(select(policies.c.created_at).where(policies.c.name == policy.name)).first()
    row = _policy_row(policy)
    if existing is None:
        conn.execute(insert(policies).values(**row, created_at=now, updated_at=now))
    elif not replace:
        raise ConflictError(f"policy {policy.name!r} already exists: choose another name or overwrite it")
    else:
        conn.execute(update(policies).where(policies.c.name == policy.name).values(**row, updated_at=now))
    return get_policy(conn, policy.name)


def get_policy(conn: Connection, name: str) -> Policy:
    """One saved policy by name."""
    row = conn.execute(select(policies).where(policies.c.name == name)).mappings().first()
    if row is None:
        raise NotFoundError(f"policy {name!r} not found: `mira-curator policy list` shows the saved policies")
    return _policy_from_row(row)


def list_policies(conn: Connection) -> list[Policy]:
    """All saved policies, by name."""
    return [_policy_from_row(r) for r in conn.execute(select(policies).order_by(policies.c.name)).mappings()]


def delete_policy(conn: Connection, name: str) -> bool:
    """Remove a policy; False when there was none by that name."""
    return bool(conn.execute(policies.delete().where(policies.c.name == name)).rowcount)


# ----------------------------------------------------------------------------- generated data (benchmarks)


def insert_generated(conn: Connection, data: SelectionData, *, judge: str = "bench-student",
                     prompt_version: str = "bench", batch: int = 20000) -> None:
    """Store generated arrays as synthetic records (metadata only, no bodies) with one student score each.

    For benchmarks of the retention page on a database of a chosen size; never for real data.
    """
    now = datetime.now(UTC)
    outcome_name = {OUTCOME_RESOLVED: "resolved", OUTCOME_NOT_RESOLVED: "not_resolved"}
    for start in range(0, data.n, batch):
        idx = range(start, min(start + batch, data.n))
        conn.execute(insert(records), [{
            "record_id": data.record_id(i), "source": data.sources[int(data.source_codes[i])], "format": "generated",
            "instance_id": f"gen__{i}", "outcome": outcome_name.get(int(data.outcome[i]), "unknown"), "n_steps": 0,
            "n_errors": 0, "token_estimate": int(data.tokens[i]), "patch_files": 0, "title": "generated record",
            "synthetic": True, "altered_fields": "[]", "origin": "bench", "imported_at": now,
        } for i in idx])
        rows = []
        for i in idx:
            slots = data.scores[i]
            rec = int(data.recommendation[i])
            row = {"record_id": data.record_id(i), "judge_kind": "student", "judge": judge, "job_id": "bench",
                   "prompt_version": prompt_version, "created_at": now, "raw_output": "", "complete": bool(data.complete[i]),
                   "overall": None if np.isnan(data.overall[i]) else int(data.overall[i]),
                   "recommendation": RECOMMENDATIONS[rec] if rec >= 0 else None, "shortened": False,
                   "elided_tokens": 0, "parsed": "{}"}
            row.update({s: None if np.isnan(v) else float(v) for s, v in zip(COLUMNS, slots, strict=True)})
            rows.append(row)
        conn.execute(insert(scores), rows)
