"""The store `bench scale` measures: a short-body demo corpus imported for real, scored, copied up to size.

1. Generate `base` demo records with short bodies (`demo --body-kb`), kept in the work folder for the next
   run and the other back end.
2. Import them through the real pipeline (`demo.load.import_corpus`: layouts detected, worker pool), timed:
   the import rate is this step's records per second, on the base corpus.
3. SIMULATED student scores for every record (as `bench browser` stores them) and SIMULATED teacher labels
   on 10% (`label_demo_corpus`, through the teacher import).
4. Copies of all of it (`storage.bench_copies`) until the store holds `records` records: the tables and
   indexes the pages query have the full row count; copies carry no body (a record opened is a base one).
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import TypedDict

from mira_core.bench.browser_corpus import BENCH_ACTOR, student_scores
from mira_core.demo.corpus import DemoCorpus, generate_corpus
from mira_core.demo.load import import_corpus, mark_corpus
from mira_core.query import RecordFilter
from mira_core.reliability.demo_teacher import label_demo_corpus
from mira_core.storage import Engine, is_sqlite, read_conn, records_repo, scores_repo, write_tx
from mira_core.storage.bench_copies import analyze, copy_records

TEACHER_COVERAGE = 0.1
SCORE_BATCH = 20_000


class BuildFigures(TypedDict):
    """How the store was built (the import figures are the real pipeline's, on the base corpus)."""

    base_records: int
    copies: int
    records: int
    input_mb: float
    import_s: float
    import_records_per_s: float
    import_rejected: int
    scores_s: float
    teacher_s: float
    copy_s: float


def log(msg: str) -> None:
    """A progress line on stderr (stdout carries only the JSON figures)."""
    print(f"bench scale: {msg}", file=sys.stderr, flush=True)


def corpus(work: Path, base: int, seed: int, body_kb: float) -> DemoCorpus:
    """The short-body base corpus, generated once per (size, seed, body size) in `work`."""
    root = work / f"corpus-{base}-{seed}-{body_kb:g}kb"
    manifest = root / "manifest.json"
    if manifest.exists():
        m = json.loads(manifest.read_text())
        return DemoCorpus(root, {s: Path(p) for s, p in m["files"].items()}, m["records"], m["bytes"], m["per_source"])
    log(f"generating {base:,} short-body demo records (--body-kb {body_kb:g}) in {root}")
    c = generate_corpus(root, base, seed, body_kb=body_kb)
    manifest.write_text(json.dumps({"records": c.records, "bytes": c.bytes, "per_source": c.per_source,
                                    "files": {s: str(p) for s, p in c.files.items()}}))
    return c


def _scores(engine: Engine, seed: int) -> None:
    with read_conn(engine) as conn:
        ids = [m["record_id"] for m in records_repo.iter_record_metadata(conn, RecordFilter())]
    for start in range(0, len(ids), SCORE_BATCH):
        with write_tx(engine) as conn:
            scores_repo.insert_scores(conn, student_scores(ids[start:start + SCORE_BATCH], seed + start))


def build_store(engine: Engine, work: Path, *, records: int, base: int, seed: int = 0,
                body_kb: float = 2.0) -> BuildFigures:
    """Build the store in an empty database (see the module docstring); returns how it went."""
    c = corpus(work, base, seed, body_kb)
    t = time.perf_counter()
    summaries = import_corpus(engine, c)
    import_s = time.perf_counter() - t
    imported = sum(s.imported for s in summaries.values())
    log(f"imported {imported:,} records in {import_s:.1f} s ({imported / import_s:,.0f}/s)")
    mark_corpus(engine, c)
    t = time.perf_counter()
    _scores(engine, seed)
    scores_s = time.perf_counter() - t
    t = time.perf_counter()
    label_demo_corpus(engine, actor=BENCH_ACTOR, coverage=TEACHER_COVERAGE)
    teacher_s = time.perf_counter() - t
    copies = max(0, math.ceil(records / max(imported, 1)) - 1)
    t = time.perf_counter()
    for k in range(1, copies + 1):
        with write_tx(engine) as conn:
            copy_records(conn, k)
        log(f"copy {k}/{copies} stored")
    if not is_sqlite(engine):  # what autovacuum would do soon after a bulk load; SQLite's app never ANALYZEs
        with write_tx(engine) as conn:
            analyze(conn)
    copy_s = time.perf_counter() - t
    with read_conn(engine) as conn:
        total = records_repo.count_records(conn, RecordFilter())
    return {"base_records": imported, "copies": copies, "records": total, "input_mb": round(c.bytes / 2**20, 1),
            "import_s": round(import_s, 2), "import_records_per_s": round(imported / import_s, 1),
            "import_rejected": sum(len(s.rejected) for s in summaries.values()), "scores_s": round(scores_s, 1),
            "teacher_s": round(teacher_s, 1), "copy_s": round(copy_s, 1)}
