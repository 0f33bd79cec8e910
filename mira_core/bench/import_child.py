"""Child process of the import benchmark: migrate, then import the given files, and print figures as JSON.

Run as `python -m mira_core.bench.import_child DB_URL SOURCE=PATH...`. It runs in its own process so its
peak RSS is the import's own, not the generator's or the benchmark driver's. The import's worker processes
are reaped when it ends, so `RUSAGE_CHILDREN` then holds the largest worker's peak; `peak_rss_mb` is this
process's peak plus that times the number of workers (an upper bound of parent + workers at once).

The pipeline is imported inside `main`: spawned workers re-run this module's top level as `__mp_main__`,
and importing `ingest` there would load the storage stack into every worker. One worker pool serves the
three files, as `mira-curator demo` does.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path
from typing import TypedDict

from mira_core.bench.timing import peak_rss_mb


class Usage(TypedDict):
    """Peak memory (MB) and CPU seconds of the import: parent and workers."""

    peak_rss_mb: float
    peak_rss_parent_mb: float
    peak_rss_worker_mb: float
    workers: int
    rss_before_import_mb: float
    cpu_parent_s: float
    cpu_workers_s: float


class ChildFigures(Usage):
    """What the child prints (one JSON line) and `bench import` reads back."""

    seconds: float
    imported: int
    rejected: int
    rejections: list[str]


def _cpu_s(who: int) -> float:
    """User + system CPU seconds of this process (`RUSAGE_SELF`) or of its reaped workers (`RUSAGE_CHILDREN`).

    CPU, unlike wall time, hardly moves with the load other work puts on the shared cores.
    """
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _memory_and_cpu(rss_before: float, cpu_parent: float) -> Usage:
    """Peak memory and CPU of the import, read once its workers are reaped (see the module docstring)."""
    from mira_core.ingest import default_workers

    parent = peak_rss_mb()
    worker = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)  # KiB on Linux
    workers = default_workers() if default_workers() > 1 else 0
    return {"peak_rss_mb": round(parent + workers * worker, 1), "peak_rss_parent_mb": parent,
            "peak_rss_worker_mb": worker, "workers": workers, "rss_before_import_mb": rss_before,
            "cpu_parent_s": round(cpu_parent, 2), "cpu_workers_s": round(_cpu_s(resource.RUSAGE_CHILDREN), 2)}


def main(argv: list[str]) -> int:
    """Import `SOURCE=PATH` pairs into `DB_URL`; print {seconds, imported, rejected, peak_rss_mb, ...}."""
    from mira_core.ingest import WorkerPool, default_workers, import_paths
    from mira_core.storage import migrate
    from mira_core.storage.engine import make_engine

    url, pairs = argv[0], [a.split("=", 1) for a in argv[1:]]
    engine = make_engine(url)
    migrate.upgrade(engine)
    rss_before = peak_rss_mb()
    cpu_before = _cpu_s(resource.RUSAGE_SELF)
    t = time.perf_counter()
    imported = rejected = 0
    reasons: list[str] = []
    with WorkerPool(default_workers()) as pool:
        for source, path in pairs:
            summary = import_paths(engine, [Path(path)], source=source, pool=pool)
            imported += summary.imported
            rejected += len(summary.rejected)
            reasons += [f"{r.where}: {r.reason}" for r in summary.rejected[:3]]
    seconds = time.perf_counter() - t
    engine.dispose()
    cpu_parent = _cpu_s(resource.RUSAGE_SELF) - cpu_before
    figures: ChildFigures = {
        "seconds": seconds, "imported": imported, "rejected": rejected, "rejections": reasons[:5],
        **_memory_and_cpu(rss_before, cpu_parent),
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
