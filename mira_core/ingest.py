"""The import pipeline: walk paths, detect each file's layout, stream items, normalize, store in batches.

Every bad item becomes a reported rejection (file:line or file#index and reason) and the rest still go
through. Each batch is one transaction; if it fails, its items are retried one by one so a single bad
record never takes good ones with it and none is half-written. Re-importing adds nothing (ids are
content hashes). An item that is understood but holds no trajectory (a SWE-bench task instance) is listed
in `skipped` with its reason, not rejected. Outcome files (report.json, results.json, all_preds.jsonl)
become reports joined to records by instance id, whichever is imported first.

Large files are parsed, normalized, serialized and compressed by a pool of worker processes (one per
core), in chunks of items with a bounded number in flight; the parent runs SQL. For JSON Lines the parent
only finds line boundaries and sends (offset, length, line) spans; workers read the bytes themselves.
Results come back in file order and go through the same batching as the serial path (`process_item` is
the one per-item step of both), so what is stored and rejected does not depend on the path taken.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from mira_core.errors import ImportRejected, MiraError, StorageError
from mira_core.importers import Layout
from mira_core.importers.summary import ImportSummary, Progress, ProgressFn, Rejection, SummaryDict
from mira_core.ingest_worker import (
    ChunkEntry,
    ItemResult,
    init_worker,
    normalize_item,
    plain_item,
    process_chunk,
    process_item,
)
from mira_core.input_files import (
    FileProblem,
    InputFile,
    choose_layout,
    file_items,
    iter_input_files,
    sniff_file,
)
from mira_core.jsonstream import (
    READ_ERRORS,
    LineSpan,
    RawItem,
    compression_of,
    iter_line_spans,
)
from mira_core.records import OutcomeReport
from mira_core.spawn import SpawnWithoutMain
from mira_core.storage import Engine, write_tx
from mira_core.storage.outcomes_repo import store_outcome_reports
from mira_core.storage.prepared_rows import PreparedRow
from mira_core.storage.records_repo import insert_prepared

# A batch is flushed at `batch_size` records or this many raw input bytes, whichever comes first (bounded
# memory: a batch holds the compressed rows, about a fifth of that). 1,000 rows per transaction cost ~15%
# less SQLite time per record than 500 on a large store (fewer commits, FTS segments and checkpoints).
BATCH_SIZE = 1000
BATCH_BYTES = 128 << 20
__all__ = ["ImportSummary", "Importer", "Progress", "ProgressFn", "Rejection", "SummaryDict", "WorkerPool",
           "import_paths", "normalize_item"]

# Outcome reports are stored in batches too; they join onto records stored before or after them.
REPORT_BATCH = 5000
# Files at least this big go through the worker pool (smaller ones are not worth starting processes).
PARALLEL_MIN_BYTES = 16 << 20
# A chunk sent to a worker: this many items or raw bytes, whichever comes first; at most
# IN_FLIGHT_PER_WORKER chunks per worker are queued or running (bounded memory: at most
# 2 x 16 x 4 MB of raw bytes). The workers must stay busy through a batch's commit (~150 ms on a large
# store): at 232K records (import child, 2 workers; docs/BENCHMARKS.md) 4 in flight took 119-121 s, 16 took
# 107 s, 32 took 114 s.
CHUNK_ITEMS = 64
CHUNK_BYTES = 4 << 20
IN_FLIGHT_PER_WORKER = 16


def default_workers() -> int:
    """Worker processes for large files: one per core (1 means no pool)."""
    return os.cpu_count() or 1


class WorkerPool:
    """Import worker processes, started on first use and shared by every import run given this pool.

    An `Importer` without one starts its own and stops it when its run ends; callers importing several
    sources in a row (`demo`, `bench import`) share one, so the workers start once (each start imports
    the worker module in every process: ~0.3 s on 2 cores).
    """

    def __init__(self, workers: int):
        self.workers = workers
        self._executor: ProcessPoolExecutor | None = None

    def executor(self) -> ProcessPoolExecutor:
        """The running pool (started now if it is not yet)."""
        if self._executor is None:
            # spawn: workers never inherit the parent's database connections or threads
            self._executor = ProcessPoolExecutor(self.workers, mp_context=SpawnWithoutMain(),
                                                 initializer=init_worker)
        return self._executor

    def close(self) -> None:
        """Stop the workers (waits for them; a later `executor()` starts new ones)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class Importer:
    """Runs one import command against one database."""

    def __init__(self, engine: Engine, *, source: str, fmt: str | None = None, max_bytes: int = 32 << 20,
                 batch_size: int = BATCH_SIZE, progress: ProgressFn | None = None, workers: int | None = None,
                 parallel_min_bytes: int = PARALLEL_MIN_BYTES, pool: WorkerPool | None = None):
        self.engine, self.source, self.fmt = engine, source, fmt
        self._own_pool = pool is None
        self.pool = WorkerPool(default_workers() if workers is None else workers) if pool is None else pool
        self.workers = self.pool.workers
        self.parallel_min_bytes = parallel_min_bytes
        self.max_bytes, self.batch_size, self.progress = max_bytes, batch_size, progress
        self.summary = ImportSummary()
        self._batch: list[PreparedRow] = []
        self._batch_bytes = 0
        self.batch_bytes = BATCH_BYTES
        self._reports: list[OutcomeReport] = []
        self._done = 0
        self._in_file = 0  # bytes of the current file consumed so far (approximate: items + separators)
        self._file_size = 0  # on disk: a compressed file's items add up to more, and must not move the bar past it
        self._total = 0

    def run(self, paths: list[Path]) -> ImportSummary:
        """Import every file under `paths`; returns the summary.

        A path that cannot be read (broken link, FIFO or device, no permission) or is passed over (its name)
        is listed with its reason, and the other files still go through.
        """
        files: list[InputFile] = []
        for entry in iter_input_files(paths):
            if isinstance(entry, FileProblem):
                (self.summary.skipped if entry.skipped else self.summary.rejected).append(
                    Rejection(str(entry.path), entry.reason))
            else:
                files.append(entry)
        self._total = sum(f.size for f in files)
        try:
            for f in files:
                self._file_size = f.size
                self._import_file_safely(f)
                self._done += f.size
                self._in_file = 0
                self._report_progress()
        finally:
            if self._own_pool:
                self.pool.close()
        self._flush()
        self._flush_reports()
        return self.summary

    def _import_file_safely(self, f: InputFile) -> None:
        """Import one file; a read error (permissions changed, corrupt gzip/zstd, file vanished) is its rejection.

        Items read before the error are kept.
        """
        try:
            self._import_file(f)
        except READ_ERRORS as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
            self.summary.rejected.append(Rejection(str(f.path), f"cannot read the rest of this file: {reason}"))

    def _import_file(self, f: InputFile) -> None:
        path = f.path
        self.summary.files += 1
        try:
            sniffed = sniff_file(path, self.max_bytes)
            layout = choose_layout(sniffed, path, self.fmt)
        except ImportRejected as exc:
            self.summary.rejected.append(Rejection(exc.where, exc.reason))
            return
        except MiraError as exc:
            self.summary.rejected.append(Rejection(str(path), str(exc)))
            return
        self.summary.layouts[layout.name] = self.summary.layouts.get(layout.name, 0) + 1
        items: Iterator[RawItem | ImportRejected]
        reuse = sniffed.whole is not None and (layout.framing == "whole" or sniffed.container == "whole")
        if sniffed.whole is not None and reuse:
            items = iter([sniffed.whole])  # already read and parsed while sniffing
        else:
            items = file_items(path, layout, sniffed.container, self.max_bytes)
        if not reuse and self.workers > 1 and f.size >= self.parallel_min_bytes:
            # workers read a plain JSON Lines file's lines themselves; a compressed one's are sent to them
            if layout.framing == "rows" and sniffed.container == "lines" and compression_of(path) is None:
                self._run_parallel(iter_line_spans(path, self.max_bytes), layout, path)
            else:
                self._run_parallel(items, layout, path)
            return
        parsed = sniffed.first if reuse else None
        for item in items:
            self._accept(process_item(plain_item(item), layout, self.source, path, parsed))

    def _run_parallel(self, items: Iterator[RawItem | LineSpan | ImportRejected], layout: Layout, path: Path) -> None:
        """Chunks of items to the worker pool, results accepted in file order, at most a few chunks in flight."""
        pool, limit = self.pool.executor(), self.workers * IN_FLIGHT_PER_WORKER
        pending: deque[Future[list[ItemResult]]] = deque()
        chunk: list[ChunkEntry] = []
        chunk_bytes = 0
        try:
            for item in items:
                entry = item if isinstance(item, LineSpan) else plain_item(item)
                chunk.append(entry)
                chunk_bytes += len(entry.raw) if isinstance(entry, RawItem) else entry.length if isinstance(entry, LineSpan) else 0
                if len(chunk) >= CHUNK_ITEMS or chunk_bytes >= CHUNK_BYTES:
                    pending.append(pool.submit(process_chunk, chunk, layout.name, self.source, path))
                    chunk, chunk_bytes = [], 0
                    while len(pending) >= limit:
                        self._accept_all(pending.popleft().result())
            if chunk:
                pending.append(pool.submit(process_chunk, chunk, layout.name, self.source, path))
            while pending:
                self._accept_all(pending.popleft().result())
        finally:
            for fut in pending:
                fut.cancel()

    def _accept_all(self, results: list[ItemResult]) -> None:
        for res in results:
            self._accept(res)

    def _accept(self, res: ItemResult) -> None:
        """Count one item's result and batch its row or reports (the same for the serial and parallel paths)."""
        self._in_file += res.nbytes
        if res.rejected is not None:
            self.summary.rejected.append(res.rejected)
        elif res.skipped is not None:
            self.summary.skipped.append(res.skipped)
        elif res.row is not None:
            self._batch.append(res.row)
            self._batch_bytes += res.row.raw_bytes
            if len(self._batch) >= self.batch_size or self._batch_bytes >= self.batch_bytes:
                self._flush()
        elif res.reports is not None:
            self._reports.extend(res.reports)
            if len(self._reports) >= REPORT_BATCH:
                self._flush_reports()

    def _flush(self) -> None:
        batch, self._batch, self._batch_bytes = self._batch, [], 0
        if not batch:
            return
        try:
            with write_tx(self.engine, journal_in_memory=True) as conn:
                counts = insert_prepared(conn, batch)
            self._count(counts)
        except StorageError:
            for row in batch:  # isolate the bad record; the others still go in
                try:
                    with write_tx(self.engine, journal_in_memory=True) as conn:
                        self._count(insert_prepared(conn, [row]))
                except StorageError as exc:
                    self.summary.rejected.append(Rejection(row.origin, f"database refused the record: {exc.reason}"))
        self._report_progress()

    def _count(self, counts: dict[str, int]) -> None:
        self.summary.imported += counts["inserted"]
        self.summary.present += counts["present"]

    def _flush_reports(self) -> None:
        if not self._reports:
            return
        self.summary.reports += len(self._reports)
        # Detailed per-instance reports go last so their counts and file name win over run-level summaries.
        ordered = sorted(self._reports, key=lambda r: r.tests.has_counts)
        with write_tx(self.engine) as conn:
            self.summary.outcomes_joined += store_outcome_reports(conn, ordered)
        self._reports = []

    def _report_progress(self) -> None:
        if self.progress:
            done = min(self._done + min(self._in_file, self._file_size), self._total)
            self.progress(Progress(done, self._total, self.summary.imported, len(self.summary.rejected)))


def import_paths(engine: Engine, paths: list[Path], *, source: str, fmt: str | None = None,
                 max_bytes: int = 32 << 20, progress: ProgressFn | None = None,
                 workers: int | None = None, pool: WorkerPool | None = None) -> ImportSummary:
    """Import files and folders into the store (see module docstring); `workers` defaults to one per core.

    `pool` shares worker processes with other runs (its size then wins over `workers`).
    """
    return Importer(engine, source=source, fmt=fmt, max_bytes=max_bytes, progress=progress,
                    workers=workers, pool=pool).run(paths)
