"""`bench scale`: the pages' queries, retention, reliability and export on a store of millions of records.

Builds a store per back end (`scale_store`: a short-body demo corpus imported through the real pipeline,
SIMULATED scores, SIMULATED teacher labels on 10%, copied up to `--records`), then measures it in child
processes (`scale_measure`, whose peak RSS is the app side's; `export_measure`, the keep-list export against
a plain-dump baseline, with its own peak RSS) and runs the Browse and Retention pages through AppTest
(`benchmarks/page_reruns.py`). SQLite always; PostgreSQL with `--postgres` (the empty database
named by MIRA_TEST_PG_URL, e.g. under `tests/support/with_postgres.sh`). Defaults are small so `make bench`
stays short; the 2.3M-record run is documented in docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from mira_core.bench.registry import Benchmark, Figures
from mira_core.bench.scale_store import build_store
from mira_core.errors import MiraError
from mira_core.query import RecordFilter
from mira_core.storage import make_engine, migrate, read_conn, records_repo

GOALS_MS = {"browse_worst_ms": 100, "text_search_ms": 150, "preview_ms": 5, "rebuild_ms": 1000,
            "reliability_intervals_ms": 1500}
GOAL_EXPORT_PER_S = 100_000
GOAL_RSS_MB = 2048
PAGES = Path(__file__).resolve().parents[2] / "benchmarks" / "page_reruns.py"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of `bench scale`."""
    p.add_argument("--records", type=int, default=40_000, help="store size (the issue's: 2300000)")
    p.add_argument("--base", type=int, default=20_000, help="records imported for real; the rest are copies")
    p.add_argument("--body-kb", type=float, default=2.0, help="short bodies (demo --body-kb)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--runs", type=int, default=5, help="runs per query latency (median reported)")
    p.add_argument("--reruns", type=int, default=5, help="AppTest reruns per page (0: skip the pages)")
    p.add_argument("--postgres", action="store_true", help="also on PostgreSQL at MIRA_TEST_PG_URL (empty database)")
    p.add_argument("--postgres-url", default=None, help="also on PostgreSQL at this URL (an empty database)")
    p.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only (with --postgres/--postgres-url)")
    p.add_argument("--work-dir", type=Path, default=None,
                   help="keep the corpus and the SQLite store here (a store of the same size is reused)")


def _store(url: str, work: Path, args: argparse.Namespace) -> Figures:
    """Build the store at `url` unless it already holds `--records` records (then its saved build figures)."""
    saved = work / f"build-{args.records}-{url.split(':')[0]}.json"
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        with read_conn(engine) as conn:
            have = records_repo.count_records(conn, RecordFilter())
        if have and saved.exists() and have == json.loads(saved.read_text())["records"]:
            return {**json.loads(saved.read_text()), "store_reused": True}
        if have:
            raise MiraError(f"{url.split('@')[-1]} already holds {have:,} records: bench scale needs an empty database")
        built = dict(build_store(engine, work, records=args.records, base=args.base, seed=args.seed,
                                 body_kb=args.body_kb))
    finally:
        engine.dispose()
    saved.write_text(json.dumps(built))
    return {**built, "store_reused": False}


def _child(cmd: list[str]) -> Figures:
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=PAGES.parents[1])
    if proc.returncode != 0:
        raise MiraError(f"{' '.join(cmd[1:3])} failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def goals_met(f: Figures) -> dict[str, bool]:
    """Each of the issue's goals, met or not, from one back end's figures."""
    met = {k: float(f[k]) <= v for k, v in GOALS_MS.items()}  # type: ignore[arg-type]
    met["export_records_per_s"] = min(float(f["export_jsonl_records_per_s"]),  # type: ignore[arg-type]
                                      float(f["export_parquet_records_per_s"])) >= GOAL_EXPORT_PER_S  # type: ignore[arg-type]
    peak = max(float(f["peak_rss_mb"]), float(f["export_peak_rss_mb"]))  # type: ignore[arg-type]
    met["peak_rss_mb"] = peak <= GOAL_RSS_MB
    return met


def _backend(url: str, work: Path, args: argparse.Namespace) -> Figures:
    out = _store(url, work, args)
    out.update(_child([sys.executable, "-m", "mira_core.bench.scale_measure", url, str(args.runs)]))
    out.update(_child([sys.executable, "-m", "mira_core.bench.export_measure", url, str(work)]))
    if args.reruns:
        out.update(_child([sys.executable, str(PAGES), "--url", url, "--reruns", str(args.reruns)]))
    out["goals_met"] = goals_met(out)
    return out


def run(args: argparse.Namespace) -> Figures:
    """Build and measure on SQLite (and PostgreSQL with --postgres); figures prefixed by back end."""
    if args.records < args.base:
        raise MiraError("--records must be at least --base")
    pg_url = args.postgres_url or (os.environ.get("MIRA_TEST_PG_URL") if args.postgres else None)
    if args.postgres and not pg_url:
        raise MiraError("--postgres needs MIRA_TEST_PG_URL (run under tests/support/with_postgres.sh)")
    with tempfile.TemporaryDirectory(prefix="mira-scale-") as tmp:
        work = args.work_dir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        out: Figures = {"records": args.records, "base": args.base, "body_kb": args.body_kb,
                        "load_average_before": round(os.getloadavg()[0], 2)}
        if not args.no_sqlite:
            out["sqlite"] = _backend(f"sqlite:///{work / f'scale-{args.records}.sqlite'}", work, args)
        if pg_url:
            out["postgres"] = _backend(pg_url, work, args)
        out["load_average_after"] = round(os.getloadavg()[0], 2)
        out["note"] = "scores and teacher labels are SIMULATED; rows past --base are copies of imported ones"
        return out


BENCHMARK = Benchmark(
    name="scale",
    description="Browse/Record/Retention/reliability/export at millions of records, SQLite and PostgreSQL",
    add_arguments=add_arguments,
    run=run,
)
