"""Exporting a keep list of about 1M records on a built store, in a process of its own (its peak RSS is the export's).

Run as `python -m mira_core.bench.export_measure DB_URL WORK_DIR`; prints one JSON line of figures. A
baseline is measured first in the same run: as many rows as the list, read with a plain streamed SELECT of
the list's text and count columns and written with one stdlib `json.dumps` per row (what the simplest
export of the table would cost, with no scores, selection or manifest behind it). Then the list is
exported to a file in each format with `export_to` (what `mira-curator export` runs: the selection arrays
loaded, the policy's cuts, instance ids, the list streamed to disk, the manifest), and each rate is
reported as a ratio to the baseline's. The selection arrays' load is also timed alone
(`export_selection_load_s`): it is shared with the Retention page and is most of an export's time. Last,
each format again from those loaded arrays (`export_<fmt>_loaded_records_per_s`): the Retention page's
download, which reuses the arrays the page holds for the store's current version.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from mira_core.bench.timing import peak_rss_mb
from mira_core.query import RecordFilter
from mira_core.selection.export import Format, export_to
from mira_core.selection.policies import CutSpec, Policy
from mira_core.selection.store import LoadedSelection, load_selection_data
from mira_core.storage import Engine, make_engine, read_conn, records_repo
from mira_core.storage.bench_reads import export_baseline_rows

KEEP_RECORDS = 1_000_000
FORMATS: tuple[Format, ...] = ("jsonl", "parquet")
Figures = dict[str, object]


def keep_policy(records: int) -> Policy:
    """A policy keeping about KEEP_RECORDS records (the top share of the store by mean score), all of a small store."""
    share = min(100.0, 100.0 * KEEP_RECORDS / max(records, 1))
    return Policy(name="bench-scale", criterion="mean", global_cut=CutSpec(mode="top_records", value=share))


def baseline_seconds(engine: Engine, path: Path, rows: int) -> float:
    """Seconds to read `rows` rows plainly and write them as jsonl with the stdlib, one dict per row."""
    t = time.perf_counter()
    with read_conn(engine) as conn, path.open("w", encoding="utf-8") as fh:
        for batch in export_baseline_rows(conn, rows):
            for rid, source, iid, tokens in batch:
                fh.write(json.dumps({"record_id": rid, "source": source, "instance_id": iid, "aggregate": None,
                                     "decision": "keep", "weight": 1.0, "token_count": tokens},
                                    ensure_ascii=False, separators=(",", ":")) + "\n")
    took = time.perf_counter() - t
    path.unlink()
    return took


def load_seconds(engine: Engine, policy: Policy) -> tuple[float, LoadedSelection]:
    """Seconds to load the selection arrays alone (the part of each export that is not the export's own)."""
    t = time.perf_counter()
    with read_conn(engine) as conn:
        loaded = load_selection_data(conn, policy.scorer)
    return time.perf_counter() - t, loaded


def export_seconds(engine: Engine, policy: Policy, fmt: Format, work: Path,
                   loaded: LoadedSelection | None = None) -> tuple[float, int]:
    """(seconds, rows) of one export to a file with its manifest (`loaded`: from arrays already loaded)."""
    path = work / f"bench-export.{fmt}"
    t = time.perf_counter()
    with path.open("wb") as fh:
        done = export_to(engine, policy, fmt, fh, loaded=loaded)
    (work / done.manifest_name).write_bytes(done.manifest_bytes)
    seconds = time.perf_counter() - t
    path.unlink()
    (work / done.manifest_name).unlink()
    return seconds, done.rows


def export_figures(engine: Engine, work: Path, records: int) -> Figures:
    """Baseline and export rates (records/s), each export's ratio to the baseline, the list's rows."""
    policy = keep_policy(records)
    load_s, loaded = load_seconds(engine, policy)  # first: a fresh heap
    out: Figures = {"export_selection_load_s": round(load_s, 2)}
    took: dict[str, float] = {}
    rows = 0
    for fmt in FORMATS:
        took[fmt], rows = export_seconds(engine, policy, fmt, work)
        out[f"export_{fmt}_s"] = round(took[fmt], 2)
        out[f"export_{fmt}_records_per_s"] = round(rows / took[fmt], 0)
    for fmt in FORMATS:
        seconds, _ = export_seconds(engine, policy, fmt, work, loaded)
        out[f"export_{fmt}_loaded_records_per_s"] = round(rows / seconds, 0)
    base = baseline_seconds(engine, work / "bench-export-baseline.jsonl", rows)
    out["export_records"] = rows
    out["export_baseline_records_per_s"] = round(rows / base, 0)
    for fmt in FORMATS:
        out[f"export_{fmt}_vs_baseline"] = round(base / took[fmt], 3)
    return out


def measure(url: str, work: Path) -> Figures:
    """The export figures on the store at `url`; `export_peak_rss_mb` is this process's peak."""
    engine = make_engine(url)
    try:
        with read_conn(engine) as conn:
            records = records_repo.count_records(conn, RecordFilter())
        out = export_figures(engine, work, records)
    finally:
        engine.dispose()
    out["export_peak_rss_mb"] = peak_rss_mb()
    return out


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1], Path(sys.argv[2]))))
