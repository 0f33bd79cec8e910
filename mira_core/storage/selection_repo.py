"""Selection storage: the columns the retention preview needs, scorer choices, policy rows, generated data.

`load_selection_columns` is one query over records, the chosen student score per record and the curator's
override, reading only numbers and short codes (never bodies, raw outputs or rationales). Codes come back as
stored text ('resolved', 'keep', 'force_drop'); `mira_core.selection.store` turns them into selection's arrays.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection, ScalarSelect, Select, func, insert, select, true, update

from mira_core.dimensions import COLUMNS, N_SLOTS
from mira_core.errors import ConflictError, NotFoundError
from mira_core.storage import revisions_repo
from mira_core.storage.overall_keys import refresh_overall_keys
from mira_core.storage.rows import fetch_tuples
from mira_core.storage.tables import annotations_table, policies, records, scores
from mira_core.timeutil import as_utc


@dataclass(frozen=True)
class ScorerRun:
    """How many of the chosen scores came from one model and prompt version (for the manifest)."""

    judge: str
    prompt_version: str
    records: int


@dataclass(frozen=True)
class SelectionColumns:
    """Every record's numbers and short codes as columns of length n, in record-id order.

    Text columns hold the stored values (`outcomes` 'resolved' / 'not_resolved' / 'unknown', `recommendations`
    'keep' / 'downsample' / 'drop', `overrides` 'force_keep' / 'force_drop'; None where there is none).
    `complete` is True where the record has a chosen (complete) score; `scores` is [n, 15] float32 with NaN
    where a slot is missing; `overall` is float32 with NaN for none. `runs` counts the chosen scores per
    model and prompt version. `tokens` is the chosen score's measured `record_tokens` where it has one,
    else the records' `token_estimate`.
    """

    record_ids: Sequence[str]
    sources: Sequence[str]
    tokens: np.ndarray
    outcomes: Sequence[str | None]
    complete: np.ndarray
    overall: np.ndarray
    recommendations: Sequence[str | None]
    overrides: Sequence[str | None]
    scores: np.ndarray
    runs: tuple[ScorerRun, ...] = ()
    tokens_measured: np.ndarray | None = None
    """True where `tokens` is the scorer's measured count of the record (the chosen score's `record_tokens`),
    False where it is the import's estimate (characters / 4)."""


def selection_version(conn: Connection) -> str:
    """A small value that changes when records, scores or overrides change (the page's cache key)."""
    r = conn.execute(select(func.count(), func.max(records.c.imported_at))).one()
    s = conn.execute(select(func.count(), func.max(scores.c.score_id))).one()
    a = conn.execute(select(func.count(), func.max(annotations_table.c.updated_at))).one()
    return f"r{r[0]}:{r[1]}|s{s[0]}:{s[1]}:{revisions_repo.current(conn, revisions_repo.SCORES)}|a{a[0]}:{a[1]}"


def _latest_student_id(judge: str | None, prompt_version: str | None) -> ScalarSelect:
    """Correlated subquery: the id of the record's latest complete student score (of `judge`, `prompt_version`).

    One index lookup per record (scores has an index on (judge_kind, record_id)); a window function over
    all scores joined back to records made SQLite scan the whole derived table once per record.
    """
    s2 = scores.alias("s2")
    stmt = select(s2.c.score_id).where(
        s2.c.record_id == records.c.record_id, s2.c.judge_kind == "student", s2.c.complete.is_(True))
    if judge:
        stmt = stmt.where(s2.c.judge == judge)
    if prompt_version:
        stmt = stmt.where(s2.c.prompt_version == prompt_version)
    return stmt.order_by(s2.c.created_at.desc(), s2.c.score_id.desc()).limit(1).correlate(records).scalar_subquery()



def _selection_query(dialect: str, judge: str | None, prompt_version: str | None) -> Select:
    """Records joined to their chosen score and override, in record-id order.

    On PostgreSQL the chosen score is a LATERAL lookup (one backward index scan per record, its columns read
    there): the planner turned the correlated subquery in the join condition into a hash join over every
    score, probing the subquery twice per record (12 s at 232K under load, against ~2 s). SQLite has no
    LATERAL and runs the subquery as one index lookup per record already.
    """
    if dialect == "postgresql":
        s2 = scores.alias("s2")
        wanted = [s2.c[c] for c in ("record_id", "judge", "prompt_version", "overall", "recommendation",
                                    "record_tokens", *COLUMNS)]
        chosen = (select(*wanted).where(s2.c.record_id == records.c.record_id, s2.c.judge_kind == "student",
                                   s2.c.complete.is_(True),
                                   *([s2.c.judge == judge] if judge else []),
                                   *([s2.c.prompt_version == prompt_version] if prompt_version else []))
                  .order_by(s2.c.created_at.desc(), s2.c.score_id.desc()).limit(1).lateral("chosen"))
        picked, joined = chosen.c, records.outerjoin(chosen, true())
    else:
        picked, joined = scores.c, records.outerjoin(scores, scores.c.score_id == _latest_student_id(judge, prompt_version))
    return (
        select(records.c.record_id, records.c.source, records.c.token_estimate, records.c.outcome,
               picked.record_id.label("scored"), picked.judge, picked.prompt_version, picked.overall,
               picked.recommendation, annotations_table.c.override, picked.record_tokens,
               *[picked[c] for c in COLUMNS])
        .select_from(joined.outerjoin(annotations_table, annotations_table.c.record_id == records.c.record_id))
        .order_by(records.c.record_id)
    )


def load_selection_columns(conn: Connection, *, judge: str | None = None,
                           prompt_version: str | None = None) -> SelectionColumns:
    """Every record with its chosen score (NaN + incomplete when none) and override, in record-id order.

    The chosen score is the record's latest complete student score, optionally of one model and prompt version.
    """
    if conn.dialect.name == "postgresql":
        # The plan's cost (232K index lookups) makes PostgreSQL compile it with JIT: ~2 s of compiling for a
        # query that runs in about as long without it. LOCAL: only this read's transaction.
        conn.exec_driver_sql("SET LOCAL jit = off")
    rows = fetch_tuples(conn, _selection_query(conn.dialect.name, judge, prompt_version))
    n = len(rows)
    cols = list(zip(*rows, strict=True)) if rows else [()] * (11 + N_SLOTS)
    runs = Counter((j, p) for j, p in zip(cols[5], cols[6], strict=True) if j is not None)
    measured = np.array([t is not None for t in cols[10]], dtype=bool)
    tokens = np.array([e if t is None else t for e, t in zip(cols[2], cols[10], strict=True)], dtype=np.int64)
    return SelectionColumns(
        record_ids=cols[0], sources=cols[1], tokens=tokens, tokens_measured=measured, outcomes=cols[3],
        complete=np.array([v is not None for v in cols[4]], dtype=bool),
        # numpy turns None into NaN for float dtypes
        overall=np.array(cols[7], dtype=np.float32), recommendations=cols[8], overrides=cols[9],
        scores=np.array([r[11:] for r in rows], dtype=np.float32).reshape(n, N_SLOTS),
        runs=tuple(ScorerRun(j, p, c) for (j, p), c in sorted(runs.items())),
    )


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


@dataclass(frozen=True)
class PolicyRow:
    """One saved policy as stored; `thresholds`, `mask_cells`, `scorer_rule` and `weights` are JSON text.

    The times are set by `save_policy_row` (UTC); a row about to be saved leaves them None.
    """

    name: str
    mode: str
    criterion: str
    thresholds: str
    mask_version: int | None
    mask_cells: str
    scorer_rule: str
    budget_tokens: int | None
    budget_rule: str | None
    weights: str
    note: str
    created_by: str
    created_at: datetime | None = None
    updated_at: datetime | None = None


_STAMPS = ("created_at", "updated_at")
_POLICY_FIELDS = tuple(f.name for f in fields(PolicyRow))


def _policy_row(row: Any) -> PolicyRow:
    values: dict[str, Any] = {f: row[f] for f in _POLICY_FIELDS}
    return PolicyRow(**values | {f: as_utc(row[f]) for f in _STAMPS})


def save_policy_row(conn: Connection, row: PolicyRow, *, replace: bool = False) -> PolicyRow:
    """Store a policy under its name; an existing name needs `replace=True` (keeps its creation time)."""
    now = datetime.now(UTC).replace(microsecond=0)
    existing = conn.execute(select(policies.c.created_at).where(policies.c.name == row.name)).first()
    values = {f: getattr(row, f) for f in _POLICY_FIELDS if f not in _STAMPS}
    if existing is None:
        conn.execute(insert(policies).values(**values, created_at=now, updated_at=now))
    elif not replace:
        raise ConflictError(f"policy {row.name!r} already exists: choose another name or overwrite it")
    else:
        conn.execute(update(policies).where(policies.c.name == row.name).values(**values, updated_at=now))
    return get_policy_row(conn, row.name)


def get_policy_row(conn: Connection, name: str) -> PolicyRow:
    """One saved policy by name."""
    row = conn.execute(select(policies).where(policies.c.name == name)).mappings().first()
    if row is None:
        raise NotFoundError(f"policy {name!r} not found: `mira-curator policy list` shows the saved policies")
    return _policy_row(row)


def list_policy_rows(conn: Connection) -> list[PolicyRow]:
    """All saved policies, by name."""
    return [_policy_row(r) for r in conn.execute(select(policies).order_by(policies.c.name)).mappings()]


def delete_policy(conn: Connection, name: str) -> bool:
    """Remove a policy; False when there was none by that name."""
    return bool(conn.execute(policies.delete().where(policies.c.name == name)).rowcount)


# ----------------------------------------------------------------------------- generated data (benchmarks)


def insert_generated(conn: Connection, columns: SelectionColumns, *, judge: str, prompt_version: str,
                     batch: int = 20000) -> None:
    """Store generated columns as synthetic records (metadata only, no bodies) with one student score each.

    For benchmarks of the retention page on a database of a chosen size; never for real data. A record's
    score is stored complete or not as `columns.complete` says; `overrides` and `runs` are not stored.
    """
    now = datetime.now(UTC)
    n = len(columns.record_ids)
    for start in range(0, n, batch):
        idx = range(start, min(start + batch, n))
        conn.execute(insert(records), [{
            "record_id": columns.record_ids[i], "source": columns.sources[i], "format": "generated",
            "instance_id": f"gen__{i}", "outcome": columns.outcomes[i], "n_steps": 0,
            "n_errors": 0, "token_estimate": int(columns.tokens[i]), "patch_files": 0, "title": "generated record",
            "synthetic": True, "altered_fields": "[]", "origin": "bench", "imported_at": now,
        } for i in idx])
        rows = []
        for i in idx:
            overall = columns.overall[i]
            row = {"record_id": columns.record_ids[i], "judge_kind": "student", "judge": judge, "job_id": "bench",
                   "prompt_version": prompt_version, "created_at": now, "raw_output": "",
                   "complete": bool(columns.complete[i]), "overall": None if np.isnan(overall) else int(overall),
                   "recommendation": columns.recommendations[i], "shortened": False, "elided_tokens": 0,
                   "parsed": "{}"}
            row.update({s: None if np.isnan(v) else float(v) for s, v in zip(COLUMNS, columns.scores[i], strict=True)})
            rows.append(row)
        conn.execute(insert(scores), rows)
        refresh_overall_keys(conn, [columns.record_ids[i] for i in idx])
