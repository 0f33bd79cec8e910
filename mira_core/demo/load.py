"""Load the demo corpus into a store: generate the files, import them through the real importers, mark them.

The files are imported exactly as a user's files would be (`import_paths` with `--source` per file and
layout auto-detection). The real layouts have no "synthetic" flag, so afterwards the records are marked by
id: each id is the content hash of the row's bytes, recomputed by re-reading the files in bounded memory.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from mira_core.demo.corpus import DemoCorpus, GenerateProgress, generate_corpus
from mira_core.ingest import ImportSummary, Progress, ProgressFn, WorkerPool, default_workers, import_paths
from mira_core.query import RecordFilter
from mira_core.records import make_record_id
from mira_core.storage import Engine, read_conn, records_repo, write_tx

MARK_BATCH = 2000


@dataclass
class DemoResult:
    """What `load_demo` did. `skipped` is True when `if_empty` found records already stored."""

    skipped: bool = False
    generated: int = 0
    summaries: dict[str, ImportSummary] = field(default_factory=dict)
    marked: int = 0

    @property
    def imported(self) -> int:
        """Records newly stored."""
        return sum(s.imported for s in self.summaries.values())

    @property
    def rejected(self) -> int:
        """Items the importers rejected (zero for a healthy generator)."""
        return sum(len(s.rejected) for s in self.summaries.values())


def store_is_empty(engine: Engine) -> bool:
    """True when the store holds no records."""
    with read_conn(engine) as conn:
        return records_repo.count_records(conn, RecordFilter()) == 0


def iter_record_ids(corpus: DemoCorpus) -> Iterator[str]:
    """The record id each generated row gets on import (same hash as the importers: source + line bytes)."""
    for source, path in corpus.files.items():
        with path.open("rb") as fh:
            for line in fh:
                raw = line.rstrip(b"\r\n")
                if raw.strip():
                    yield make_record_id(source, raw)


def mark_corpus(engine: Engine, corpus: DemoCorpus) -> int:
    """Flag every record of `corpus` as synthetic, in batches; returns how many were flagged."""
    marked, batch = 0, []
    for rid in iter_record_ids(corpus):
        batch.append(rid)
        if len(batch) >= MARK_BATCH:
            with write_tx(engine) as conn:
                marked += records_repo.mark_synthetic(conn, batch)
            batch = []
    if batch:
        with write_tx(engine) as conn:
            marked += records_repo.mark_synthetic(conn, batch)
    return marked


def import_corpus(engine: Engine, corpus: DemoCorpus, progress: ProgressFn | None = None) -> dict[str, ImportSummary]:
    """Import each source's file under its source name (layouts auto-detected, as for a user's files)."""
    summaries: dict[str, ImportSummary] = {}
    done_bytes = done_imported = 0
    with WorkerPool(default_workers()) as pool:  # one set of worker processes for the three files
        for source, path in corpus.files.items():
            def relay(p: Progress, base: int = done_bytes, imported: int = done_imported) -> None:
                if progress:  # one bar over all files: offset this file's figures by the files before it
                    progress(Progress(base + p.bytes_done, corpus.bytes, imported + p.imported, p.rejected))

            summaries[source] = import_paths(engine, [path], source=source, progress=relay, pool=pool)
            done_bytes += path.stat().st_size
            done_imported += summaries[source].imported
    return summaries


def load_demo(engine: Engine, records: int, *, seed: int = 0, out_dir: Path | None = None, if_empty: bool = False,
              on_generate: GenerateProgress | None = None, on_import: ProgressFn | None = None,
              body_kb: float | None = None) -> DemoResult:
    """Generate `records` synthetic trajectories, import them and mark them synthetic (see module docstring).

    With `out_dir` the generated files are kept there; otherwise they live in a temp folder removed afterwards.
    `body_kb` shortens every run (median body about that many KiB; `corpus.body_scale`), nothing else.
    """
    if if_empty and not store_is_empty(engine):
        return DemoResult(skipped=True)
    with tempfile.TemporaryDirectory(prefix="mira-demo-") as tmp:
        corpus = generate_corpus(out_dir or Path(tmp), records, seed, on_generate, body_kb=body_kb)
        summaries = import_corpus(engine, corpus, on_import)
        marked = mark_corpus(engine, corpus)
    return DemoResult(generated=corpus.records, summaries=summaries, marked=marked)
