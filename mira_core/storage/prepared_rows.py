"""Records turned into the rows storage inserts: metadata row, compressed body and raw, search row.

Pure and free of SQLAlchemy and pandas (it imports only the ground floor, zstandard and hashlib), so import
worker processes can prepare rows in parallel without paying for the storage stack at start-up: a spawned
worker that imported `records_repo` spent ~0.8 s importing pandas and SQLAlchemy before its first item.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from typing import TypedDict

import zstandard

from mira_core.records import Record, TestReport

# zstd compressor objects are not thread-safe; Streamlit sessions and the worker use threads.
_ZSTD = threading.local()


def _zc() -> zstandard.ZstdCompressor:
    if not hasattr(_ZSTD, "c"):
        _ZSTD.c = zstandard.ZstdCompressor(level=3)
    return _ZSTD.c


@dataclass(frozen=True)
class StoredItem:
    """A record ready to store: the normalized model and the raw original bytes."""

    record: Record
    raw: bytes


def _patch_files(patch: str) -> int:
    return sum(1 for line in patch.splitlines() if line.startswith("diff --git "))


class ReportColumns(TypedDict):
    """A `TestReport` in the columns of `records` and `outcome_reports` (`_REPORT_COLUMNS`)."""

    f2p_success: int | None
    f2p_failure: int | None
    p2p_success: int | None
    p2p_failure: int | None
    report_file: str | None


def report_columns(tests: TestReport | None) -> ReportColumns:
    """A test report as the columns `records` and `outcome_reports` store it in (all NULL for none)."""
    if tests is None:
        return {"f2p_success": None, "f2p_failure": None, "p2p_success": None, "p2p_failure": None,
                "report_file": None}
    return {"f2p_success": tests.fail_to_pass_success, "f2p_failure": tests.fail_to_pass_failure,
            "p2p_success": tests.pass_to_pass_success, "p2p_failure": tests.pass_to_pass_failure,
            "report_file": tests.report_file}


class RecordRow(ReportColumns):
    """A `records` row as `prepare_item` builds it; `imported_at` is added at insert time."""

    record_id: str
    source: str
    format: str
    instance_id: str | None
    run_id: str | None
    repo: str | None
    agent: str | None
    model: str | None
    outcome: str
    exit_status: str | None
    n_steps: int
    n_errors: int
    token_estimate: int
    patch_files: int
    title: str
    synthetic: bool
    altered_fields: str  # JSON list
    origin: str


class BodyRow(TypedDict):
    """A `record_bodies` row: the normalized record and the raw bytes, compressed."""

    record_id: str
    body: bytes
    raw: bytes
    raw_bytes: int
    raw_sha256: str


def _meta_row(rec: Record) -> RecordRow:
    title = (rec.issue.strip().splitlines() or [""])[0][:300]
    return {
        "record_id": rec.record_id,
        "source": rec.source,
        "format": rec.format,
        "instance_id": rec.instance_id,
        "run_id": rec.run_id,
        "repo": rec.repo,
        "agent": rec.agent,
        "model": rec.model,
        "outcome": rec.outcome.value,
        **report_columns(rec.report),
        "exit_status": rec.exit_status,
        "n_steps": len(rec.steps),
        "n_errors": sum(1 for s in rec.steps if s.error),
        "token_estimate": rec.token_estimate,
        "patch_files": _patch_files(rec.patch),
        "title": title,
        "synthetic": rec.synthetic,
        "altered_fields": json.dumps(rec.altered_fields),
        "origin": rec.origin,
    }


@dataclass(frozen=True)
class PreparedRow:
    """A record turned into the rows to insert (body and raw compressed, hashed).

    The CPU-heavy part of storing, done without a connection so import workers can do it in parallel (it
    pickles small).
    """

    record_id: str
    instance_id: str | None
    origin: str
    meta: RecordRow  # the `records` row without `imported_at` (set at insert time)
    body: BodyRow
    search: SearchRow  # for the full-text index
    raw_bytes: int


def prepare_item(item: StoredItem) -> PreparedRow:
    """Serialize, compress and hash one record for `insert_prepared` (pure; no database)."""
    rec = item.record
    body = rec.model_dump_json(exclude={"record_id"}).encode("utf-8")
    return PreparedRow(
        record_id=rec.record_id,
        instance_id=rec.instance_id,
        origin=rec.origin,
        meta=_meta_row(rec),
        body={
            "record_id": rec.record_id,
            "body": _zc().compress(body),
            "raw": _zc().compress(item.raw),
            "raw_bytes": len(item.raw),
            "raw_sha256": hashlib.sha256(item.raw).hexdigest(),
        },
        search={"record_id": rec.record_id, "instance_id": rec.instance_id or "", "issue": rec.issue, "patch": rec.patch},
        raw_bytes=len(item.raw),
    )


class SearchRow(TypedDict):
    """What the full-text index holds for one record."""

    record_id: str
    instance_id: str
    issue: str
    patch: str
