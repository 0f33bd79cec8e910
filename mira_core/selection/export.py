"""Reproducible keep-list exports: the list (jsonl, csv or parquet) and a manifest JSON beside it.

The same policy on the same database gives byte-identical files: rows are in record-id order, numbers are
written with fixed formatting (6 decimals), and the manifest holds no wall-clock time; its `exported_at` is
the policy's last save time, so a reader can check the list against the manifest's sha256 and both files
can be regenerated exactly. Files are written to temporary names and renamed, so a failure leaves nothing
partial, and only inside the export folder.

Who exported is recorded in the activity log (`export.write`), never in the manifest: a name there would
make two people's exports of the same policy differ.
"""

from __future__ import annotations

import io
import json
import math
import os
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

import numpy as np

from mira_core.dimensions import cluster_weights
from mira_core.errors import NotFoundError
from mira_core.identity import Actor, Role, require
from mira_core.selection.export_render import COLUMNS, FORMATS, ExportError, Format, KeepColumns, write_list
from mira_core.selection.keep import KeepList, keep_list
from mira_core.selection.policies import Policy
from mira_core.selection.preview import Precomputed, as_weights, precompute
from mira_core.selection.store import LoadedSelection, load_selection_data, policy_revision
from mira_core.settings import Settings
from mira_core.storage import Connection, Engine, export_repo, read_conn, selection_repo, write_tx
from mira_core.team import record_change

MANIFEST_VERSION = 1


def _num(x: float) -> float | None:
    """A float rounded to 6 decimals (JSON writes its shortest repr, so equal inputs give equal text)."""
    return None if math.isnan(x) else round(float(x), 6)


def keep_columns(pre: Precomputed, kl: KeepList, instance_ids: np.ndarray) -> KeepColumns:
    """The list's columns (numpy, no row objects), in record-id order; `instance_ids` aligned with `kl`."""
    data = pre.data
    return KeepColumns(record_id=data.record_ids[kl.index], sources=tuple(data.sources),
                       source_code=data.source_codes[kl.index], instance_id=instance_ids, aggregate=kl.value,
                       decision=kl.decision, weight=kl.weight, token_count=data.tokens[kl.index])


def build_manifest(pre: Precomputed, policy: Policy, kl: KeepList, runs: tuple[selection_repo.ScorerRun, ...],
                   list_name: str, fmt: Format, sha256: str) -> dict:
    """Everything needed to check and reproduce the list (deterministic: no wall-clock time)."""
    p = kl.preview
    per_source = {}
    for sp, sa in zip(p.sources, pre.per_source, strict=True):
        per_source[sp.source] = {
            "records": sp.records, "tokens": sp.tokens, "kept": sp.kept, "kept_tokens": sp.kept_tokens,
            "kept_by_cut": sp.cut_records, "downsampled": sp.downsampled,
            "effective_tokens": _num(sp.effective_tokens), "unscored": sp.unscored,
            "unscored_tokens": sp.unscored_tokens, "force_keep": sp.force_keep, "force_drop": sp.force_drop,
            "cut_value": _num(sp.cut_value), "scored": sa.m,
        }
    t = p.total
    return {
        "manifest_version": MANIFEST_VERSION,
        "policy": json.loads(policy.model_dump_json()),
        "thresholds": {
            "mode": "global" if policy.global_cut else "per_source",
            "cuts": {s: c.model_dump() for s, c in sorted(policy.cuts.items())},
            "global_cut": policy.global_cut.model_dump() if policy.global_cut else None,
            "cut_values": {s: v["cut_value"] for s, v in per_source.items()},
        },
        "mask": {"version": policy.mask_version, "cells": policy.masked_cells},
        "scorer": {"rule": policy.scorer.model_dump(),
                   "runs": [{"model": r.judge, "prompt_version": r.prompt_version, "records": r.records} for r in runs]},
        "counts": {"per_source": per_source,
                   "total": {"records": t.records, "tokens": t.tokens, "kept": t.kept, "kept_tokens": t.kept_tokens,
                             "downsampled": t.downsampled, "unscored": t.unscored, "force_keep": t.force_keep,
                             "force_drop": t.force_drop}},
        "list": {"file": list_name, "format": fmt, "rows": len(kl), "columns": list(COLUMNS), "sha256": sha256},
        "exported_at": policy.updated_at.isoformat() if policy.updated_at else None,
        "exported_at_rule": "the policy's last save time (not the wall clock), so re-exports are identical",
    }


def render_manifest(manifest: dict) -> bytes:
    """Manifest JSON bytes (sorted keys, 2-space indent, trailing newline)."""
    return (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


class ExportedList(Protocol):
    """What the activity log records of an export: its rows and the list's sha256."""

    @property
    def rows(self) -> int: ...

    @property
    def sha256(self) -> str: ...


@dataclass(frozen=True)
class Exported:
    """A list written to a sink: its name, rows and sha256, and the manifest's name and bytes."""

    list_name: str
    manifest_name: str
    manifest_bytes: bytes
    rows: int
    sha256: str


@dataclass(frozen=True)
class ExportFiles:
    """An export in memory: the list and manifest bytes and their file names."""

    list_name: str
    list_bytes: bytes
    manifest_name: str
    manifest_bytes: bytes
    rows: int
    sha256: str


def file_names(policy_name: str, fmt: Format) -> tuple[str, str]:
    """Default names: keep-<policy>.<fmt> and keep-<policy>.<fmt>.manifest.json.

    The format is in both names, so the three formats' manifests of one policy never overwrite each other
    (on disk or in a browser's download folder).
    """
    list_name = f"keep-{policy_name}.{fmt}"
    return list_name, manifest_name(list_name, fmt)


def export_to(engine: Engine, policy: Policy, fmt: Format, out: BinaryIO, list_name: str | None = None,
              weights: Sequence[float] | None = None, loaded: LoadedSelection | None = None) -> Exported:
    """Write a policy's list to `out` (streamed, chunk by chunk) and build its manifest.

    `weights` are the dimensions' cluster sizes, needed when the policy's criterion is `weighted`. The
    list's rows are rendered from numpy columns a chunk at a time (`export_render`): memory holds the
    selection arrays and the kept records' instance ids, never the list's rows or bytes. `loaded`: the
    policy's selection arrays as already loaded for the store's current state (the Retention page's), so
    they are not read again; the list is the same as from a fresh load of that state. A fresh load reads
    the instance ids in its pass over records; `loaded` without them has the kept ones read apart.
    """
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}: expected one of {', '.join(FORMATS)}")
    with read_conn(engine) as conn:
        loaded = loaded if loaded is not None else load_selection_data(conn, policy.scorer, instance_ids=True)
        if not loaded.runs:
            rule = policy.scorer
            which = f" by model {rule.judge!r}" if rule.judge else ""
            which += f" with prompt version {rule.prompt_version!r}" if rule.prompt_version else ""
            raise NotFoundError(f"no complete student scores{which}: score records first (`mira-curator score`)")
        pre = precompute(loaded.data, policy.mask_array(loaded.data.sources), policy.criterion, as_weights(weights))
        kl = keep_list(pre, policy)
        iids = (loaded.instance_ids.strings()[kl.index] if loaded.instance_ids is not None
                else export_repo.instance_ids(conn, pre.data.record_ids[kl.index]))
    list_name = list_name or file_names(policy.name, fmt)[0]
    sha = write_list(keep_columns(pre, kl, iids), fmt, out)
    manifest = render_manifest(build_manifest(pre, policy, kl, loaded.runs, list_name, fmt, sha))
    return Exported(list_name, manifest_name(list_name, fmt), manifest, len(kl), sha)


def export_files(engine: Engine, policy: Policy, fmt: Format, list_name: str | None = None,
                 weights: Sequence[float] | None = None, loaded: LoadedSelection | None = None) -> ExportFiles:
    """Build the list and manifest of a policy from the database in memory (nothing is written; for downloads)."""
    buf = io.BytesIO()
    e = export_to(engine, policy, fmt, buf, list_name, weights, loaded)
    return ExportFiles(e.list_name, buf.getvalue(), e.manifest_name, e.manifest_bytes, e.rows, e.sha256)


def manifest_name(list_name: str, fmt: Format) -> str:
    """The manifest beside `list_name`: its stem, the format, then `.manifest.json`."""
    stem = list_name.rsplit(".", 1)[0] if "." in list_name else list_name
    return f"{stem}.{fmt}.manifest.json"


def resolve_out(out: Path | str | None, policy_name: str, fmt: Format, settings: Settings) -> Path:
    """The list's path: inside the export folder (a relative path is taken from it), else refused."""
    root = Path(settings.export_dir).resolve()
    path = Path(out) if out is not None else Path(file_names(policy_name, fmt)[0])
    target = (path if path.is_absolute() else root / path).resolve()
    if not target.is_relative_to(root) or target == root:
        raise ExportError(f"{out}: exports are written only inside the export folder {root} "
                          "(set MIRA_EXPORT_DIR to export elsewhere)")
    return target


def _temp_beside(path: Path) -> Path:
    """A new empty file beside `path` with the permissions any new file gets (0666 less the umask).

    `tempfile.mkstemp` makes it 0600, which the rename would carry over: a list in a shared export folder
    that no teammate (nor the training job reading it as another user) could open.
    """
    while True:
        tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return tmp
        except FileExistsError:
            continue


@contextmanager
def staged(paths: Sequence[Path]) -> Iterator[list[BinaryIO]]:
    """Open a temp file beside each path; the caller writes them, then `publish` renames them in place.

    On error (in the caller's block or in `publish`) every temp file is removed, so nothing partial remains.
    """
    temps: list[Path] = []
    handles: list[BinaryIO] = []
    try:
        for path in paths:
            path.parent.mkdir(parents=True, exist_ok=True)
            temps.append(_temp_beside(path))
            handles.append(open(temps[-1], "wb"))  # noqa: SIM115 (closed below); its name is the temp path
        yield handles
    finally:
        for fh in handles:
            fh.close()
        for tmp in temps:
            tmp.unlink(missing_ok=True)


def publish(handles: Sequence[BinaryIO], paths: Sequence[Path]) -> None:
    """Sync the staged files to disk and rename each to its path."""
    for fh in handles:
        fh.flush()
        os.fsync(fh.fileno())
    for fh, path in zip(handles, paths, strict=True):
        os.replace(fh.name, path)


@dataclass(frozen=True)
class ExportResult:
    """Where an export went."""

    list_path: Path
    manifest_path: Path
    rows: int
    sha256: str


def export_policy(engine: Engine, policy: Policy, fmt: Format, settings: Settings,
                  out: Path | str | None = None, *, actor: Actor) -> ExportResult:
    """Write a policy's keep list and manifest inside the export folder (atomically, nothing partial).

    The list is streamed to a temp file beside its target; logged as `export.write` with the policy, its
    revision, the format, rows and the list's sha256; the files are renamed in place inside that
    transaction, so a failed write leaves neither files nor a log entry.
    """
    require(actor, Role.curator, "writing exports")
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}: expected one of {', '.join(FORMATS)}")
    target = resolve_out(out, policy.name, fmt, settings)
    manifest_path = target.with_name(manifest_name(target.name, fmt))
    with staged([target, manifest_path]) as (list_fh, manifest_fh):
        done = export_to(engine, policy, fmt, list_fh, target.name, cluster_weights(settings.anchors_path))
        manifest_fh.write(done.manifest_bytes)
        with write_tx(engine) as conn:
            record_export(conn, actor, "export.write", policy, fmt, done,
                          file=target.relative_to(Path(settings.export_dir).resolve()).as_posix())
            publish([list_fh, manifest_fh], [target, manifest_path])
    return ExportResult(target, manifest_path, done.rows, done.sha256)


def record_export(conn: Connection, actor: Actor, kind: str, policy: Policy, fmt: Format, files: ExportedList, *,
                  file: str) -> None:
    """Log an export (`export.write`, `export.download`) of `policy` in the caller's transaction."""
    record_change(conn, actor, kind, target_kind="export", target_id=file, policy=policy.name,
                  revision=policy_revision(policy), format=fmt, rows=files.rows, sha256=files.sha256)


__all__ = ["FORMATS", "ExportError", "ExportFiles", "ExportResult", "Exported", "Format", "export_files",
           "export_policy", "export_to", "record_export"]
