"""Reliability storage: score matrices for the reliability page, teacher labels, mask version rows.

The matrix loader reads only numeric slot columns and a few metadata columns, in chunks straight into
arrays (`storage.columnar`: no rationales, no bodies, no per-row Python objects kept); the page caches
the arrays keyed by `data_version`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
from sqlalchemy import Connection, delete, func, insert, select, update

from mira_core.dimensions import COLUMNS, SLOTS, column_of
from mira_core.errors import NotFoundError, StorageError
from mira_core.storage import revisions_repo
from mira_core.storage.columnar import id_order, last_of_runs, positions, read_columns, records_by_id
from mira_core.storage.rows import as_utc, utcnow
from mira_core.storage.score_judges import judge_pairs
from mira_core.storage.tables import mask_cells, mask_versions, records, scores

# ----------------------------------------------------------------------------- score matrices


@dataclass(frozen=True)
class ScorePairs:
    """Aligned per-record arrays: one row per record with a student score (latest matching one).

    `student` and `teacher` are [n, 15] floats with NaN where a judge gave no score for a slot (or,
    for the teacher, no label at all): float32 when every value is exact in it (whole and half points),
    else float64. `sources` and `outcomes` share one str per distinct value.
    """

    record_ids: np.ndarray
    sources: np.ndarray
    outcomes: np.ndarray
    tokens: np.ndarray
    student: np.ndarray
    teacher: np.ndarray

    def subset(self, keep: np.ndarray) -> ScorePairs:
        """The rows where `keep` (a boolean mask or index array) selects."""
        return ScorePairs(*(getattr(self, f)[keep] for f in self.__dataclass_fields__))

    def __len__(self) -> int:
        return len(self.record_ids)


def data_version(conn: Connection) -> str:
    """A small value that changes whenever scores change (cache key for the heavy arrays)."""
    n, top = conn.execute(select(func.count(), func.max(scores.c.score_id))).one()
    return f"{int(n or 0)}:{int(top or 0)}:{revisions_repo.current(conn, revisions_repo.SCORES)}"


def list_judges(conn: Connection, kind: str) -> list[str]:
    """Distinct judge names of one kind ('student' models or 'teacher' names), sorted."""
    return list(dict.fromkeys(j for j, _ in judge_pairs(conn, kind)))


def list_prompt_versions(conn: Connection) -> list[str]:
    """Distinct prompt versions of student scores, sorted."""
    return sorted({p for _, p in judge_pairs(conn, "student")})


def _score_conditions(kind: str, judge: str | None, prompt_version: str | None, sources: Sequence[str]) -> list:
    """Scores of this kind (and judge, prompt version; of records of these sources)."""
    s = scores.c
    cond = [s.judge_kind == kind, *([s.judge == judge] if judge else []),
            *([s.prompt_version == prompt_version] if prompt_version else [])]
    if sources:
        cond.append(s.record_id.in_(select(records.c.record_id).where(records.c.source.in_(list(sources)))))
    return cond


def _latest_scores(conn: Connection, cond: Sequence) -> tuple[np.ndarray, np.ndarray]:
    """(record ids as bytes sorted, [n, 15] scores): each record's latest score (highest id) under `cond`.

    Rows come in (record_id, score_id) order, the order of the index on (judge_kind, record_id), so the
    latest score of each record is the last of its run; no join (records are read once, by the caller).
    """
    s = scores.c
    got = read_columns(conn, select(s.record_id, *[s[c] for c in COLUMNS]).where(*cond)
                       .order_by(s.record_id, s.score_id), ["id"], matrix=len(COLUMNS))
    last = last_of_runs(got.array(0))
    ids, values = got.array(0)[last], got.matrix[last]
    order = id_order(ids)
    return (ids, values) if order is None else (ids[order], values[order])


def _student_scores(conn: Connection, cond: list, labelled_by: str | None) -> tuple[np.ndarray, np.ndarray]:
    """The latest student scores under `cond`; with `labelled_by`, values only where that teacher labelled.

    Every student-scored record keeps its row (ids only: one short column from an index), NaN elsewhere.
    """
    if not labelled_by:
        return _latest_scores(conn, cond)
    s, t = scores.c, scores.alias("t")
    got = read_columns(conn, select(s.record_id).where(*cond).order_by(s.record_id), ["id"])
    ids = got.array(0)[last_of_runs(got.array(0))]
    order = id_order(ids)
    ids = ids if order is None else ids[order]
    labelled = select(t.c.record_id).where(t.c.judge_kind == "teacher", t.c.judge == labelled_by)
    lids, lvals = _latest_scores(conn, [*cond, s.record_id.in_(labelled)])
    student = np.full((len(ids), len(COLUMNS)), np.nan, dtype=lvals.dtype)
    pos = positions(ids, lids)
    student[pos[pos >= 0]] = lvals[pos >= 0]
    return ids, student


def load_score_pairs(conn: Connection, *, student_judge: str | None = None, prompt_version: str | None = None,
                     teacher: str | None = None, sources: Sequence[str] = (),
                     labelled_only: bool = False) -> ScorePairs:
    """Student scores (latest per record among `student_judge`/`prompt_version`) aligned with `teacher`.

    Without a `teacher` name the teacher matrix is all NaN. Records are in record-id order (as bytes).
    Scores are float32 where that is exact (whole and half points), else float64. `labelled_only` (the
    agreement page, which compares only labelled records) reads student values only where `teacher` gave
    a label and leaves them NaN elsewhere; every student-scored record still has its row.
    """
    cond = _score_conditions("student", student_judge, prompt_version, sources)
    ids, student = _student_scores(conn, cond, teacher if labelled_only else None)
    where = [records.c.source.in_(list(sources))] if sources else []
    rec = records_by_id(conn, ["source", "outcome", "token_estimate"], ["code", "code", "int"], where)
    at = positions(rec.array(0), ids)
    ids, student, at = ids[at >= 0], student[at >= 0], at[at >= 0]
    teach = np.full(student.shape, np.nan, dtype=student.dtype)
    if teacher and len(ids):
        tids, tvals = _latest_scores(conn, _score_conditions("teacher", teacher, None, sources))
        teach = teach.astype(np.result_type(teach, tvals), copy=False)
        pos = positions(ids, tids)
        teach[pos[pos >= 0]] = tvals[pos >= 0]
    return ScorePairs(
        record_ids=ids.astype("U32").astype(object), sources=rec.coded(1).strings()[at],
        outcomes=rec.coded(2).strings()[at], tokens=rec.array(3)[at], student=student, teacher=teach,
    )


# ----------------------------------------------------------------------------- teacher labels


@dataclass(frozen=True)
class TeacherLabel:
    """One teacher label ready to store (slots 'A1'..'A15' -> score or None)."""

    record_id: str
    raw_output: str
    complete: bool
    slots: dict[str, float | None]
    parsed_json: str
    overall: int | None = None
    recommendation: str | None = None
    domain_tag: str | None = None
    brief: str | None = None


def resolve_record_ids(conn: Connection, keys: Sequence[tuple[str, str, str | None]]) -> dict[tuple, list[str]]:
    """{(source, instance_id, run_id): [record ids]} for the given keys (run_id None = any run)."""
    out: dict[tuple, list[str]] = {}
    wanted_instances = sorted({k[1] for k in keys})
    for start in range(0, len(wanted_instances), 500):
        chunk = wanted_instances[start : start + 500]
        stmt = select(records.c.record_id, records.c.source, records.c.instance_id, records.c.run_id).where(
            records.c.instance_id.in_(chunk)
        )
        for rid, source, inst, run in conn.execute(stmt):
            out.setdefault((source, inst, None), []).append(rid)
            if run is not None:
                out.setdefault((source, inst, run), []).append(rid)
    return {k: out.get(k, []) for k in keys}


def existing_record_ids(conn: Connection, ids: Sequence[str]) -> set[str]:
    """Which of `ids` are stored records."""
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        found.update(conn.execute(select(records.c.record_id).where(records.c.record_id.in_(chunk))).scalars())
    return found


def store_teacher_labels(conn: Connection, teacher: str, labels: Sequence[TeacherLabel],
                         *, prompt_version: str = "teacher") -> int:
    """Replace `teacher`'s labels for these records (one label per record and teacher: re-import is a no-op)."""
    if not labels:
        return 0
    latest = {lab.record_id: lab for lab in labels}
    ids = list(latest)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        conn.execute(delete(scores).where(scores.c.judge_kind == "teacher", scores.c.judge == teacher,
                                          scores.c.record_id.in_(chunk)))
    now = utcnow()
    rows = []
    for lab in latest.values():
        row: dict[str, object] = {
            "record_id": lab.record_id, "judge_kind": "teacher", "judge": teacher, "job_id": None,
            "prompt_version": prompt_version, "created_at": now, "raw_output": lab.raw_output,
            "complete": lab.complete, "overall": lab.overall, "recommendation": lab.recommendation,
            "domain_tag": lab.domain_tag, "brief": lab.brief, "shortened": False, "elided_tokens": 0,
            "prompt_tokens": None, "parsed": lab.parsed_json,
        }
        row.update({c: lab.slots.get(s) for s, c in zip(SLOTS, COLUMNS, strict=True)})
        rows.append(row)
    conn.execute(insert(scores), rows)
    return len(rows)


def label_rationales(conn: Connection, record_id: str, slot: str) -> pd.DataFrame:
    """Every judge's score and rationale for one record and slot (columns judge_kind, judge, score, rationale).

    Reads the `parsed` JSON of this one record only (see mira_core.scoring.results: parsed["rationales"][slot]).
    """
    col = column_of(slot)
    stmt = (
        select(scores.c.judge_kind, scores.c.judge, scores.c.created_at, scores.c[col], scores.c.parsed)
        .where(scores.c.record_id == record_id)
        .order_by(scores.c.judge_kind, scores.c.score_id.desc())
    )
    out = []
    for kind, judge, created, value, parsed in conn.execute(stmt):
        out.append({"judge_kind": kind, "judge": judge, "created_at": as_utc(created), "score": value,
                    "rationale": _rationale(parsed, slot)})
    return pd.DataFrame(out, columns=["judge_kind", "judge", "created_at", "score", "rationale"])


def _rationale(parsed: str | None, slot: str) -> str:
    try:
        data = json.loads(parsed or "{}")
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    text = (data.get("rationales") or {}).get(slot)
    return "" if text is None else str(text)


def cell_rationales(conn: Connection, record_ids: Sequence[str], slot: str, *, student_judge: str | None = None,
                    prompt_version: str | None = None, teacher: str | None = None) -> dict[str, tuple[str, str]]:
    """{record id: (student rationale, teacher rationale)} of one slot for a few records ('' where none).

    The student's is that of the latest score matching `student_judge`/`prompt_version` (the score the
    agreement matrix compared); the teacher's that of the latest label by `teacher`. Two queries in all.
    """
    if not record_ids:
        return {}
    ids = list(record_ids)
    out = {rid: ["", ""] for rid in ids}
    for k, (kind, judge, prompt) in enumerate((("student", student_judge, prompt_version), ("teacher", teacher, None))):
        stmt = select(scores.c.record_id, scores.c.parsed).where(scores.c.record_id.in_(ids), scores.c.judge_kind == kind)
        if judge:
            stmt = stmt.where(scores.c.judge == judge)
        if prompt:
            stmt = stmt.where(scores.c.prompt_version == prompt)
        for rid, parsed in conn.execute(stmt.order_by(scores.c.record_id, scores.c.score_id)):
            out[rid][k] = _rationale(parsed, slot)  # rows in score order: the latest one stays
    return {rid: (s, t) for rid, (s, t) in out.items()}


# ----------------------------------------------------------------------------- mask versions


class MaskCellRow(NamedTuple):
    """One stored cell of a mask version (`decided_by` is 'rule', 'curator' or 'import')."""

    source: str
    slot: str
    masked: bool
    reason: str
    decided_by: str


def insert_mask_version(conn: Connection, *, name: str, cells: Sequence[MaskCellRow], rules_json: str,
                        created_by: str, note: str = "", activate: bool = True) -> int:
    """Store a named mask version with all its cells; returns its id (optionally made the active one)."""
    res = conn.execute(insert(mask_versions).values(
        name=name, created_by=created_by, created_at=utcnow(), rules_json=rules_json, note=note, active=False,
    ))
    key = res.inserted_primary_key
    if key is None:
        raise StorageError("the database returned no id for the new mask version")
    version_id = int(key[0])
    rows = [{"version_id": version_id, **c._asdict()} for c in cells]
    if rows:
        conn.execute(insert(mask_cells), rows)
    if activate:
        activate_mask_version(conn, version_id)
    return version_id


def activate_mask_version(conn: Connection, version_id: int) -> None:
    """Make one version the active mask (all others inactive) in the caller's transaction."""
    exists = conn.execute(select(mask_versions.c.version_id).where(mask_versions.c.version_id == version_id)).scalar()
    if exists is None:
        raise NotFoundError(f"mask version {version_id} not found: `mira-curator mask list` shows the versions")
    # One statement flips every flag, so no reader or concurrent activation sees zero or two active.
    conn.execute(update(mask_versions).values(active=mask_versions.c.version_id == version_id))


def list_mask_versions(conn: Connection) -> pd.DataFrame:
    """All versions, newest first (columns version_id, name, created_by, created_at, active, masked, rules_json, note)."""
    n_masked = (
        select(mask_cells.c.version_id, func.count().label("masked"))
        .where(mask_cells.c.masked.is_(True)).group_by(mask_cells.c.version_id).subquery()
    )
    stmt = (
        select(mask_versions.c.version_id, mask_versions.c.name, mask_versions.c.created_by,
               mask_versions.c.created_at, mask_versions.c.active,
               func.coalesce(n_masked.c.masked, 0).label("masked"), mask_versions.c.rules_json, mask_versions.c.note)
        .select_from(mask_versions.outerjoin(n_masked, n_masked.c.version_id == mask_versions.c.version_id))
        .order_by(mask_versions.c.version_id.desc())
    )
    cols = ["version_id", "name", "created_by", "created_at", "active", "masked", "rules_json", "note"]
    df = pd.DataFrame([tuple(r) for r in conn.execute(stmt)], columns=cols)
    df["created_at"] = [as_utc(v) for v in df["created_at"]]
    return df


def mask_cell_rows(conn: Connection, version_id: int) -> list[MaskCellRow]:
    """The cells of one mask version; NotFoundError when there is no such version."""
    if conn.execute(select(mask_versions.c.version_id).where(mask_versions.c.version_id == version_id)).scalar() is None:
        raise NotFoundError(f"mask version {version_id} not found: `mira-curator mask list` shows the versions")
    stmt = select(mask_cells.c.source, mask_cells.c.slot, mask_cells.c.masked, mask_cells.c.reason,
                  mask_cells.c.decided_by).where(mask_cells.c.version_id == version_id)
    return [MaskCellRow(*r) for r in conn.execute(stmt)]


def active_mask_version(conn: Connection) -> int | None:
    """The id of the active mask version, or None before any mask is saved."""
    stmt = select(mask_versions.c.version_id).where(mask_versions.c.active.is_(True)).order_by(
        mask_versions.c.version_id.desc()).limit(1)
    value = conn.execute(stmt).scalar()
    return int(value) if value is not None else None


# ----------------------------------------------------------------------------- one record's judges


class JudgeScore(NamedTuple):
    """One stored score of a record: A1..A15 values (None where missing) and rationales ('' where none)."""

    values: tuple[float | None, ...]
    rationales: tuple[str, ...]


class RecordScores(NamedTuple):
    """A record's source with its latest student score and its teacher label (None when there is none)."""

    source: str
    student: JudgeScore | None
    teacher: JudgeScore | None


def record_latest_scores(conn: Connection, record_id: str, *, teacher: str | None = None) -> RecordScores:
    """The latest student score of one record and the teacher's (the named one, else the latest of any).

    Raises NotFoundError when the record is not stored.
    """
    source = conn.execute(select(records.c.source).where(records.c.record_id == record_id)).scalar()
    if source is None:
        raise NotFoundError(f"record {record_id} not found: check the id, or re-import its file")

    def latest(kind: str, judge: str | None) -> JudgeScore | None:
        stmt = select(*[scores.c[c] for c in COLUMNS], scores.c.parsed).where(
            scores.c.record_id == record_id, scores.c.judge_kind == kind)
        if judge:
            stmt = stmt.where(scores.c.judge == judge)
        row = conn.execute(stmt.order_by(scores.c.score_id.desc()).limit(1)).first()
        if row is None:
            return None
        parsed = row[-1]
        return JudgeScore(tuple(row[:-1]), tuple(_rationale(parsed, slot) for slot in SLOTS))

    return RecordScores(source, latest("student", None), latest("teacher", teacher))
