"""`bench import`: import throughput, memory, database size and page latencies on a generated corpus.

1. Generate the demo corpus (N records in the three source layouts; not timed in the throughput).
2. Import it into a fresh SQLite database through the real pipeline, in a child process (peak RSS).
3. Baseline: the same stored rows written with plain sqlite3 executemany (`baseline.py`), same run.
4. Serve a filtered Browse page and open the longest record, as the pages do (median of several runs).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from mira_core.bench.baseline import copy_rows_seconds
from mira_core.bench.proc_stats import machine_shares, machine_ticks
from mira_core.bench.registry import Benchmark, Figures
from mira_core.bench.timing import median_ms
from mira_core.demo.corpus import DemoCorpus, generate_corpus
from mira_core.errors import MiraError
from mira_core.query import RecordFilter, SortKey
from mira_core.storage import Engine, migrate, records_repo
from mira_core.storage.engine import make_engine, read_conn
from mira_core.views.diff import split_diff
from mira_core.views.timeline import shape_timeline

if TYPE_CHECKING:
    from mira_core.bench.import_child import ChildFigures

CORPUS_RECORDS = 232_000  # the real corpus holds 231,762 trajectories
GOALS = {"records_per_s": 2000, "peak_rss_mb": 1024, "browse_page_ms": 100, "record_page_ms": 1000}
BROWSE_FILTER = RecordFilter(sources=["agent_openhands"], min_tokens=2_000, max_tokens=40_000)
BROWSE_SORT = SortKey(column="token_estimate", descending=True)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of `bench import`."""
    p.add_argument("--records", type=int, default=CORPUS_RECORDS, help=f"corpus size (default {CORPUS_RECORDS:,})")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--runs", type=int, default=7, help="runs per page latency (median reported)")
    p.add_argument("--work-dir", type=Path, default=None,
                   help="keep corpus and databases here (a corpus of the same size and seed is reused)")


def _corpus(work: Path, records: int, seed: int) -> tuple[DemoCorpus, float, bool]:
    """The generated corpus (reused when `work` already holds the same one), its generation time, reused?"""
    manifest = work / "corpus" / "manifest.json"
    if manifest.exists():
        m = json.loads(manifest.read_text())
        if m["records"] == records and m["seed"] == seed:
            files = {s: Path(p) for s, p in m["files"].items()}
            if all(f.exists() for f in files.values()):
                return DemoCorpus(work / "corpus", files, records, m["bytes"], m["per_source"]), m["generate_s"], True
    t = time.perf_counter()
    corpus = generate_corpus(work / "corpus", records, seed)
    took = time.perf_counter() - t
    manifest.write_text(json.dumps({"records": records, "seed": seed, "bytes": corpus.bytes, "generate_s": took,
                                    "per_source": corpus.per_source,
                                    "files": {s: str(p) for s, p in corpus.files.items()}}))
    return corpus, took, False


def _import_in_child(url: str, corpus: DemoCorpus) -> ChildFigures:
    cmd = [sys.executable, "-m", "mira_core.bench.import_child", url,
           *[f"{s}={p}" for s, p in corpus.files.items()]]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise MiraError(f"import child failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


class PageFigures(TypedDict):
    """Median latencies of the Browse and Record pages' queries on the imported store."""

    browse_page_ms: float
    browse_matches: int
    browse_text_page_ms: float
    record_page_ms: float
    record_page_full_ms: float
    longest_record_tokens: int


def record_page(engine: Engine, rid: str, sort: SortKey = BROWSE_SORT, flt: RecordFilter | None = None) -> None:
    """What the Record page reads and shapes: metadata, body, neighbours, count, position, diff, timeline."""
    every = flt or RecordFilter()
    with read_conn(engine) as conn:
        records_repo.get_metadata(conn, rid)
        rec = records_repo.get_record(conn, rid)
        records_repo.neighbours(conn, every, sort, rid)
        records_repo.count_records(conn, every)
        records_repo.position(conn, every, sort, rid)
    split_diff(rec.patch)
    shape_timeline(rec.steps)


def _page_latencies(url: str, runs: int) -> PageFigures:
    """Browse: count + one page + synthetic marker; Record: what the Record page reads and shapes."""
    engine = make_engine(url)
    try:
        with read_conn(engine) as conn:
            longest = records_repo.list_records(conn, RecordFilter(), sort=BROWSE_SORT, limit=1)
            rid = str(longest.record_id.iloc[0])
            tokens = int(longest.token_estimate.iloc[0])

        def browse(flt: RecordFilter) -> None:
            # The queries Browse runs per rerun; its synthetic-marker check is answered from the page's rows
            # or a per-store cache, so it is not part of a page view.
            with read_conn(engine) as conn:
                records_repo.count_records(conn, flt)
                records_repo.list_records(conn, flt, sort=BROWSE_SORT, offset=0, limit=50)

        def open_record() -> None:
            with read_conn(engine) as conn:
                records_repo.get_metadata(conn, rid)
                records_repo.get_record(conn, rid)

        with read_conn(engine) as conn:
            matches = records_repo.count_records(conn, BROWSE_FILTER)
        return {
            "browse_page_ms": median_ms(lambda: browse(BROWSE_FILTER), runs),
            "browse_matches": matches,
            "browse_text_page_ms": median_ms(lambda: browse(BROWSE_FILTER.model_copy(update={"text": "TypeError"})), runs),
            "record_page_ms": median_ms(open_record, runs),
            "record_page_full_ms": median_ms(lambda: record_page(engine, rid), runs),
            "longest_record_tokens": tokens,
        }
    finally:
        engine.dispose()


def _db_mb(path: Path) -> float:
    import sqlite3

    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    return round(size / 2**20, 1)


def _cpu_figures(child: ChildFigures) -> Figures:
    """The import's CPU seconds (parent, workers) and milliseconds per record imported.

    On the shared 2-core machine CPU moves far less with other work's load than wall time does.
    """
    total = child["cpu_parent_s"] + child["cpu_workers_s"]
    return {"cpu_parent_s": child["cpu_parent_s"], "cpu_workers_s": child["cpu_workers_s"],
            "cpu_ms_per_record": round(total * 1000 / max(child["imported"], 1), 3)}


def _import_and_baseline(db: Path, base_db: Path, corpus: DemoCorpus) -> tuple[ChildFigures, tuple[float, int], Figures]:
    """The import (in a child), then the baseline copy of its rows, and how the machine's cores spent each."""
    ticks = machine_ticks()
    child = _import_in_child(f"sqlite:///{db}", corpus)
    machine: Figures = {"machine_during_import": machine_shares(ticks, machine_ticks())}
    base_engine = make_engine(f"sqlite:///{base_db}")
    migrate.upgrade(base_engine)
    base_engine.dispose()
    ticks = machine_ticks()
    baseline = copy_rows_seconds(db, base_db)
    machine["machine_during_baseline"] = machine_shares(ticks, machine_ticks())
    return child, baseline, machine


def run(args: argparse.Namespace) -> Figures:
    """Generate, import, measure (see module docstring); returns the figures."""
    with tempfile.TemporaryDirectory(prefix="mira-bench-") as tmp:
        work = args.work_dir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        corpus, generate_s, reused = _corpus(work, args.records, args.seed)
        db, base_db = work / "import.sqlite", work / "baseline.sqlite"
        for p in [*work.glob("import.sqlite*"), *work.glob("baseline.sqlite*")]:
            p.unlink()
        child, (base_s, base_rows), machine = _import_and_baseline(db, base_db, corpus)
        pages = _page_latencies(f"sqlite:///{db}", args.runs)
        secs = child["seconds"]
        records_per_s = round(child["imported"] / secs, 1)
        baseline_records_per_s = round(base_rows / base_s, 1) if base_s else None
        out: Figures = {
            "records": corpus.records,
            "imported": child["imported"],
            "rejected": child["rejected"],
            "input_mb": round(corpus.bytes / 2**20, 1),
            "import_s": round(secs, 2),
            "records_per_s": records_per_s,
            "mb_per_s": round(corpus.bytes / 2**20 / secs, 2),
            "baseline_records_per_s": baseline_records_per_s,
            "baseline_s": round(base_s, 2),
            "peak_rss_mb": child["peak_rss_mb"],  # parent + workers (see import_child)
            "peak_rss_parent_mb": child["peak_rss_parent_mb"],
            "peak_rss_worker_mb": child["peak_rss_worker_mb"],
            "workers": child["workers"],
            **_cpu_figures(child),
            # How all cores spent the import's and the baseline's time (busy, I/O wait, stolen, idle): runs
            # of the same code that differ in wall time can then be told apart from a change in the code.
            **machine,
            "db_mb": _db_mb(db),
            **pages,
            "generate_s": round(generate_s, 1),
            "corpus_reused": reused,
            "per_source": corpus.per_source,
        }
        out["vs_baseline"] = (round(records_per_s / baseline_records_per_s, 3)
                              if baseline_records_per_s is not None else None)
        out["goals_met"] = {
            "records_per_s": records_per_s >= GOALS["records_per_s"],
            "peak_rss_mb": child["peak_rss_mb"] < GOALS["peak_rss_mb"],
            "browse_page_ms": pages["browse_page_ms"] <= GOALS["browse_page_ms"],
            "record_page_ms": pages["record_page_full_ms"] <= GOALS["record_page_ms"],
        }
        if child["rejections"]:
            out["rejections"] = child["rejections"]
        return out


BENCHMARK = Benchmark(
    name="import",
    description="import throughput vs a plain sqlite3 baseline, peak memory, DB size, Browse/Record latency",
    add_arguments=add_arguments,
    run=run,
)
