"""Selection storage: the columns the retention preview needs, scorer choices, policy rows, generated data.

`load_selection_columns` reads records, the chosen student score per record and the curator's override
as arrays (`storage.columnar`), only numbers and short codes (never bodies, raw outputs or rationales).
Codes come back as stored text (`Coded`: 'resolved', 'keep', 'force_drop'); `mira_core.selection.store`
turns them into selection's arrays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any, get_args

import numpy as np
from sqlalchemy import Connection, Select, func, insert, literal_column, select, update

from mira_core.dimensions import COLUMNS, N_SLOTS
from mira_core.errors import ConflictError, NotFoundError
from mira_core.query import Recommendation
from mira_core.records import Outcome
from mira_core.storage import revisions_repo
from mira_core.storage.columnar import (
    Coded,
    Columns,
    Kind,
    Uncoded,
    Unpacked,
    known_codes,
    last_of_runs,
    positions,
    read_columns,
    records_by_id,
)
from mira_core.storage.overall_keys import refresh_overall_keys
from mira_core.storage.score_judges import judge_pairs
from mira_core.storage.tables import annotations_table, policies, record_counts, records, scores
from mira_core.timeutil import as_utc


@dataclass(frozen=True)
class ScorerRun:
    """How many of the chosen scores came from one model and prompt version (for the manifest)."""

    judge: str
    prompt_version: str
    records: int


@dataclass(frozen=True)
class SelectionColumns:
    """Generated records' numbers and short codes as columns of length n, to store (`insert_generated`).

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


@dataclass(frozen=True)
class SelectionArrays:
    """Every record's numbers and short codes as arrays of length n, sorted by record id (as bytes).

    Text columns are `Coded` stored values (`outcomes` 'resolved' / 'not_resolved' / 'unknown',
    `recommendations` 'keep' / 'downsample' / 'drop', `overrides` 'none' / 'force_keep' / 'force_drop'; None
    where there is none). `complete` is True where the record has a chosen (complete) score; `scores` is
    [n, 15] float32 with NaN where a slot is missing; `overall` is float32 with NaN for none. `tokens` is the
    chosen score's measured `record_tokens` where it has one (`tokens_measured`), else `token_estimate`.
    """

    record_ids: np.ndarray
    sources: Coded
    outcomes: Coded
    tokens: np.ndarray
    tokens_measured: np.ndarray
    complete: np.ndarray
    overall: np.ndarray
    recommendations: Coded
    overrides: Coded
    scores: np.ndarray
    runs: tuple[ScorerRun, ...] = ()
    instance_ids: Coded | None = None
    """Each record's instance id (None where it has none), when asked for: an export names them. As codes:
    runs share instances, and a 2.3M-row column of str would hold ~190 MB."""


def selection_version(conn: Connection) -> str:
    """A small value that changes when records, scores or overrides change (the page's cache key)."""
    r = conn.execute(select(func.count(), func.max(records.c.imported_at))).one()
    s = conn.execute(select(func.count(), func.max(scores.c.score_id))).one()
    a = conn.execute(select(func.count(), func.max(annotations_table.c.updated_at))).one()
    return f"r{r[0]}:{r[1]}|s{s[0]}:{s[1]}:{revisions_repo.current(conn, revisions_repo.SCORES)}|a{a[0]}:{a[1]}"


RECOMMENDATIONS: tuple[str | None, ...] = (*get_args(Recommendation), None)
"""The recommendations the scorer's parser stores; any other text makes the load read that column as text."""


def _chosen_scores_query(sqlite_db: bool, judge: str | None, prompt_version: str | None,
                         known: Mapping[str, Sequence[str | None]] | None = None) -> Select:
    """Complete student scores (of `judge`, `prompt_version`), each record's rows adjacent and its chosen one last.

    The chosen score is the latest by (created_at, score_id), the order of the index on (record_id,
    judge_kind, complete, created_at, score_id). SQLite would pick the (judge_kind, record_id) index for the
    conditions and sort each record's rows; written `+judge_kind`, `+complete` it walks the first index
    without sorting. With `known` (texts of judge, prompt_version, recommendation) those come as
    `known_codes` and the slots as their packed column, so a row is seven values, none of them a new string
    but the id; without it, as stored (texts and the 15 slot columns).
    """
    s = scores.c
    kind, complete = ((literal_column("+scores.judge_kind"), literal_column("+scores.complete")) if sqlite_db
                      else (s.judge_kind, s.complete))
    cond = [kind == "student", complete.is_(True),
            *([s.judge == judge] if judge else []), *([s.prompt_version == prompt_version] if prompt_version else [])]
    slots = [s.slots_packed] if known else [s[c] for c in COLUMNS]
    judge_col, prompt_col, rec_col = (known_codes(s[c], known[c]) if known else s[c]
                                      for c in ("judge", "prompt_version", "recommendation"))
    return (select(s.record_id, judge_col, prompt_col, s.overall, rec_col, s.record_tokens, *slots).where(*cond)
            .order_by(s.record_id, s.judge_kind, s.complete, s.created_at, s.score_id))


def _chosen_scores(conn: Connection, judge: str | None, prompt_version: str | None) -> Columns:
    """The chosen-scores read: packed slots and coded texts; as stored where a row lacks one (same result)."""
    kinds: list[Kind] = ["id", "code", "code", "float", "code", "float"]
    sqlite_db = conn.dialect.name == "sqlite"
    pairs = judge_pairs(conn, "student")
    known: dict[str, list[str | None]] = {"judge": list(dict.fromkeys(j for j, _ in pairs)),
                                          "prompt_version": list(dict.fromkeys(p for _, p in pairs)),
                                          "recommendation": list(RECOMMENDATIONS)}
    try:
        return read_columns(conn, _chosen_scores_query(sqlite_db, judge, prompt_version, known), kinds,
                            matrix=N_SLOTS, packed=True, known={1: known["judge"], 2: known["prompt_version"],
                                                                4: known["recommendation"]})
    except (Unpacked, Uncoded):
        return read_columns(conn, _chosen_scores_query(sqlite_db, judge, prompt_version), kinds, matrix=N_SLOTS)


def _spread(coded: Coded, pos: np.ndarray, n: int) -> Coded:
    """A coded column of the rows at `pos` spread over n records; the others None."""
    codes = np.full(n, len(coded.values), dtype=np.int32)
    codes[pos] = coded.codes
    return Coded((*coded.values, None), codes)


def load_selection_columns(conn: Connection, *, judge: str | None = None, prompt_version: str | None = None,
                           instance_ids: bool = False) -> SelectionArrays:
    """Every record with its chosen score (NaN + incomplete when none) and override, sorted by record id.

    The chosen score is the record's latest complete student score, optionally of one model and prompt
    version. Three plain reads (records; complete student scores in index order; annotations) aligned by
    record id in numpy: a lookup per record (a correlated subquery, or a LATERAL) took half a minute and more
    at 700K records (docs/BENCHMARKS.md, "bench scale"). `instance_ids`: also each record's instance id, in
    the same pass over records (a second pass for them took as long as the records read itself).
    """
    sources = list(conn.execute(select(record_counts.c.source)).scalars())
    names: list[str] = ["source", "outcome", "token_estimate"]
    kinds: list[Kind] = ["code", "code", "int"]
    if instance_ids:
        names.append("instance_id")
        kinds.append("code")
    rec = records_by_id(conn, names, kinds,
                        known={"source": sources, "outcome": [*(o.value for o in Outcome), None]})
    ids, n = rec.array(0), len(rec.array(0))
    got = _chosen_scores(conn, judge, prompt_version)
    at = positions(ids, got.array(0))
    last = np.flatnonzero(last_of_runs(got.array(0)) & (at >= 0))
    chosen, pos = (got.take(last) if len(last) < len(at) else got), at[last]  # all rows chosen: no copy
    del got
    complete = np.zeros(n, dtype=bool)
    complete[pos] = True
    rt = chosen.array(5)
    measured = np.zeros(n, dtype=bool)
    measured[pos] = ~np.isnan(rt)
    tokens = rec.array(3).copy()
    tokens[pos[~np.isnan(rt)]] = rt[~np.isnan(rt)].astype(np.int64)
    overall = np.full(n, np.nan, dtype=np.float32)
    overall[pos] = chosen.array(3)
    return SelectionArrays(
        record_ids=ids, sources=rec.coded(1), outcomes=rec.coded(2), tokens=tokens, tokens_measured=measured,
        complete=complete, overall=overall, recommendations=_spread(chosen.coded(4), pos, n),
        overrides=_overrides(conn, ids), scores=_spread_rows(chosen.matrix, pos, n), runs=_runs(chosen.coded(1), chosen.coded(2)),
        instance_ids=rec.coded(4) if instance_ids else None,
    )


def _spread_rows(values: np.ndarray, pos: np.ndarray, n: int) -> np.ndarray:
    """[n, 15] float32: `values` at rows `pos`, NaN elsewhere.

    No second copy when every record is there in order, the usual store (at 2.3M records one copy of the
    scores is 138 MB).
    """
    if len(pos) == n and bool((pos == np.arange(n)).all()):
        return values.astype(np.float32, copy=False)
    slots = np.full((n, N_SLOTS), np.nan, dtype=np.float32)
    slots[pos] = values
    return slots


def _overrides(conn: Connection, ids: np.ndarray) -> Coded:
    """Each record's stored override (None where it has no annotation)."""
    a = annotations_table.c
    got = read_columns(conn, select(a.record_id, a.override), ["id", "code"])
    pos = positions(ids, got.array(0))
    return _spread(got.take(pos >= 0).coded(1), pos[pos >= 0], len(ids))


def _runs(judges: Coded, prompts: Coded) -> tuple[ScorerRun, ...]:
    """How many chosen scores each (model, prompt version) gave, sorted."""
    width = max(len(prompts.values), 1)
    codes, counts = np.unique(judges.codes.astype(np.int64) * width + prompts.codes, return_counts=True)
    found = [(str(judges.values[c // width]), str(prompts.values[c % width]), int(k)) for c, k in zip(codes, counts, strict=True)]
    return tuple(ScorerRun(j, p, k) for j, p, k in sorted(found))


def scorer_choices(conn: Connection) -> tuple[list[str], list[str]]:
    """Distinct student models and prompt versions (choices for the scorer-run rule), each sorted."""
    pairs = judge_pairs(conn, "student")
    return list(dict.fromkeys(j for j, _ in pairs)), sorted({p for _, p in pairs})


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
