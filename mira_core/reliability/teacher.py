"""Teacher labels from JSONL: one line per record, matched by record id or by source + instance id (+ run id).

A line carries either the teacher's raw output text (read by the same parser as the student's) or
structured per-slot scores `{"A1": {"score": 7, "rationale": "..."}}` (a bare number is also accepted).
A bad line is a reported rejection with its line number; the other lines go through. A line over the size
limit is measured while skipped, never read whole. Storing replaces this teacher's earlier label for the
record, so re-importing the same file changes nothing; a second line for the same record within one file
is a reported duplicate (the first line's label is kept). Importing needs
the curator role; each stored batch adds a `teacher.import` entry (teacher, labels stored) to the activity log
in its own transaction.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, ValidationError, model_validator

from mira_core.dimensions import COLUMNS, SLOTS
from mira_core.identity import Actor, Role, require
from mira_core.jsonstream import iter_bounded_lines, too_large
from mira_core.storage import Engine, read_conn, write_tx
from mira_core.storage import reliability_repo as repo
from mira_core.team import record_change
from mira_core.text_rules import make_storable

BATCH = 2000
IMPORTING = "importing teacher labels"


class SlotLabel(BaseModel):
    """One slot of a structured teacher label."""

    model_config = ConfigDict(extra="forbid")

    score: StrictInt | StrictFloat | None = Field(description="0-10; null when the teacher gave none.")
    rationale: str = ""


class TeacherLine(BaseModel):
    """One JSONL line of teacher labels."""

    model_config = ConfigDict(extra="forbid")

    record_id: str | None = None
    source: str | None = None
    instance_id: str | None = None
    run_id: str | None = None
    raw_output: str | None = Field(default=None, description="The teacher's answer in the scorer's text format.")
    scores: dict[str, SlotLabel | StrictInt | StrictFloat | None] | None = Field(
        default=None, description="Structured per-slot scores A1..A15."
    )

    @model_validator(mode="after")
    def _check(self) -> TeacherLine:
        if not self.record_id and not (self.source and self.instance_id):
            raise ValueError("needs record_id, or source and instance_id")
        if (self.raw_output is None) == (self.scores is None):
            raise ValueError("needs exactly one of raw_output or scores")
        for slot, value in (self.scores or {}).items():
            if slot not in SLOTS:
                raise ValueError(f"unknown slot {slot!r} in scores (expected A1..A15)")
            score = value.score if isinstance(value, SlotLabel) else value
            if score is not None and not (math.isfinite(score) and 0 <= score <= 10):
                raise ValueError(f"{slot} score {score!r} is not between 0 and 10")
        return self


@dataclass
class TeacherImportSummary:
    """What an import did; `rejections` are (line number, reason)."""

    lines: int = 0
    stored: int = 0
    partial: int = 0
    rejections: list[tuple[int, str]] = field(default_factory=list)


def _structured_label(record_id: str, line: TeacherLine, raw: str) -> repo.TeacherLabel:
    slots: dict[str, float | None] = {}
    rationales: dict[str, str] = {}
    for slot, value in (line.scores or {}).items():
        label = value if isinstance(value, SlotLabel) else SlotLabel(score=value)
        slots[slot] = None if label.score is None else float(label.score)
        rationales[slot] = make_storable(label.rationale)[0]
    complete = all(slots.get(s) is not None for s in SLOTS)
    parsed = json.dumps({"rationales": rationales, "problems": []}, ensure_ascii=False)
    return repo.TeacherLabel(record_id=record_id, raw_output=raw, complete=complete, slots=slots, parsed_json=parsed)


def _parsed_label(record_id: str, text: str) -> repo.TeacherLabel:
    """Parse raw teacher output with the student's parser; raises ValueError when no slot is readable."""
    from mira_core.scoring.parse import parse_scorer_output  # the scoring helper's parser
    from mira_core.scoring.results import parsed_columns

    text = make_storable(text)[0]  # NUL and lone surrogates cannot be stored (PostgreSQL, UTF-8)
    cols = parsed_columns(parse_scorer_output(text))
    slots = {s: cols.get(c) for s, c in zip(SLOTS, COLUMNS, strict=True)}
    if all(v is None for v in slots.values()):
        problems = json.loads(cols["parsed"]).get("problems") or []
        why = f": {problems[0]}" if problems else ""
        raise ValueError(f"no slot score could be read from raw_output{why}")
    return repo.TeacherLabel(record_id=record_id, raw_output=text, complete=bool(cols["complete"]), slots=slots,
                             parsed_json=cols["parsed"], overall=cols.get("overall"),
                             recommendation=cols.get("recommendation"), domain_tag=cols.get("domain_tag"),
                             brief=cols.get("brief"))


NumberedLine = tuple[int, "str | bytes | int"]
"""(line number, the line) or (line number, its size) for a line over the limit."""


def _read(lines: Iterable[NumberedLine], summary: TeacherImportSummary,
          max_bytes: int) -> Iterator[tuple[int, TeacherLine, str]]:
    for no, line in lines:
        summary.lines = no
        if isinstance(line, int):
            summary.rejections.append((no, too_large(line, max_bytes)))
            continue
        try:
            text = line.decode("utf-8") if isinstance(line, bytes) else line
        except UnicodeDecodeError as exc:
            summary.rejections.append((no, f"not valid UTF-8 (byte {exc.start})"))
            continue
        if not text.strip():
            continue
        try:
            data = json.loads(text, parse_constant=_refuse_constant)
            yield no, TeacherLine.model_validate(data), text
        except (ValueError, RecursionError) as exc:
            summary.rejections.append((no, _message(exc)))


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a valid JSON number")


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        return f"{loc + ': ' if loc else ''}{err['msg'].removeprefix('Value error, ')}"
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON ({exc.msg} at column {exc.colno})"
    return str(exc)


def import_teacher_lines(engine: Engine, lines: Iterable[str | bytes], *, teacher: str, actor: Actor,
                         progress: Callable[[TeacherImportSummary], None] | None = None) -> TeacherImportSummary:
    """Match, parse and store teacher labels, a batch per transaction; returns what happened.

    Raises PermissionDenied for a viewer before anything is read or stored.
    """
    return _import_numbered(engine, enumerate(lines, start=1), teacher=teacher, actor=actor, progress=progress)


def _import_numbered(engine: Engine, lines: Iterable[NumberedLine], *, teacher: str, actor: Actor,
                     progress: Callable[[TeacherImportSummary], None] | None = None,
                     max_bytes: int = 0) -> TeacherImportSummary:
    require(actor, Role.curator, IMPORTING)
    if not teacher.strip():
        raise ValueError("a teacher name is required (e.g. --teacher kimi-k2.6)")
    summary = TeacherImportSummary()
    first_line: dict[str, int] = {}  # record id -> the line that labelled it (duplicates are reported)
    batch: list[tuple[int, TeacherLine, str]] = []
    for item in _read(lines, summary, max_bytes):
        batch.append(item)
        if len(batch) >= BATCH:
            _store_batch(engine, teacher, batch, summary, actor, first_line)
            batch = []
            if progress:
                progress(summary)
    if batch:
        _store_batch(engine, teacher, batch, summary, actor, first_line)
    summary.rejections.sort()
    return summary


def import_teacher_file(engine: Engine, path: Path, *, teacher: str, actor: Actor, max_bytes: int = 32 << 20,
                        progress: Callable[[TeacherImportSummary], None] | None = None) -> TeacherImportSummary:
    """`import_teacher_lines` over a UTF-8 JSONL file (streamed; a line over `max_bytes` is rejected unread)."""
    require(actor, Role.curator, IMPORTING)
    with path.open("rb") as fh:  # decoded per line, so one bad line is a rejection, not a failed import
        return _import_numbered(engine, iter_bounded_lines(fh, max_bytes), teacher=teacher, actor=actor,
                                progress=progress, max_bytes=max_bytes)


def _match(line: TeacherLine, direct: set[str],
           by_key: dict[tuple, list[str]]) -> tuple[str | None, str]:
    """(the record id a line labels, "") or (None, why it matches none or several)."""
    if line.record_id:
        if line.record_id not in direct:
            return None, f"unmatched: no record with id {line.record_id}"
        return line.record_id, ""
    found = by_key.get((line.source, line.instance_id, line.run_id), [])
    where = f"source {line.source!r}, instance {line.instance_id!r}" + (f", run {line.run_id!r}" if line.run_id else "")
    if not found:
        return None, f"unmatched: no record for {where}"
    if len(set(found)) > 1:
        return None, f"ambiguous: {len(set(found))} records for {where}; add run_id or record_id"
    return found[0], ""


def _store_batch(engine: Engine, teacher: str, batch: list[tuple[int, TeacherLine, str]],
                 summary: TeacherImportSummary, actor: Actor, first_line: dict[str, int]) -> None:
    with read_conn(engine) as conn:
        direct = repo.existing_record_ids(conn, [ln.record_id for _, ln, _ in batch if ln.record_id])
        keys = [(ln.source, ln.instance_id, ln.run_id) for _, ln, _ in batch
                if not ln.record_id and ln.source and ln.instance_id]  # the model requires both then
        by_key = repo.resolve_record_ids(conn, keys)
    labels = []
    for no, line, raw in batch:
        rid, problem = _match(line, direct, by_key)
        if rid is None:
            summary.rejections.append((no, problem))
            continue
        if rid in first_line:
            summary.rejections.append((no, f"duplicate: record {rid} is already labelled on line {first_line[rid]} "
                                           "of this file; this line is ignored (one label per record and teacher)"))
            continue
        try:
            label = _parsed_label(rid, line.raw_output) if line.raw_output is not None else _structured_label(
                rid, line, raw)
        except (ValueError, ImportError) as exc:
            summary.rejections.append((no, f"unparseable: {exc}"))
            continue
        first_line[rid] = no
        labels.append(label)
        summary.partial += int(not label.complete)
    if labels:
        with write_tx(engine) as conn:
            repo.store_teacher_labels(conn, teacher, labels)
            record_change(conn, actor, "teacher.import", target_kind="teacher", target_id=teacher, labels=len(labels))
        summary.stored += len(labels)
