"""What `bench scale` measures on a built store, in a process of its own (its peak RSS is the app side's).

Run as `python -m mira_core.bench.scale_measure DB_URL RUNS`; prints one JSON line of figures.
Browse: `load_browse_page` (what the page runs per rerun: count, one page of 50 rows, latest scores,
annotations) for each sort, with and without a source + outcome + score filter, a frequent-word text
search (its first page; for the rarer word also the deepest page it reaches) and the last page. Record
page: `import_bench.record_page` on a base record. Retention: selection
arrays loaded, rebuilt after a mask change, previewed. Reliability: score pairs loaded and the matrix
with bootstrap intervals. The export is measured in a process of its own (`export_measure`), so its peak
RSS is its own.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable

from mira_core.bench.import_bench import record_page
from mira_core.bench.preview import preview_samples, rebuild_samples
from mira_core.bench.timing import median_ms, peak_rss_mb
from mira_core.query import RecordFilter, SortKey
from mira_core.records import Outcome
from mira_core.reliability.demo_teacher import DEMO_TEACHER
from mira_core.reliability.metrics import reliability_matrix
from mira_core.selection.store import load_selection_data
from mira_core.storage import Engine, make_engine, read_conn, records_repo
from mira_core.storage.reliability_repo import load_score_pairs
from mira_core.views.browse import load_browse_page
from mira_core.views.browse_params import BrowseView

SORTS = {"imported": SortKey(column="imported_at"), "score": SortKey(column="overall"),
         "tokens": SortKey(column="token_estimate")}
FILTER = RecordFilter(sources=["agent_openhands"], outcomes=[Outcome.resolved], min_overall=60)
FREQUENT_WORD = "return"  # in ~95% of demo records (their patches): about the largest match set a word gives
RARER_WORD = "TypeError"  # in ~12%
Figures = dict[str, object]


def _browse(engine: Engine, view: BrowseView) -> Callable[[], object]:
    def load() -> object:
        with read_conn(engine) as conn:
            return load_browse_page(conn, view, store_has_synthetic=True)
    return load


def browse_figures(engine: Engine, runs: int) -> Figures:
    """Median ms of every Browse view measured, and the match counts."""
    out: Figures = {}
    for name, sort in SORTS.items():
        out[f"browse_{name}_ms"] = median_ms(_browse(engine, BrowseView(sort=sort)), runs)
        out[f"browse_{name}_filtered_ms"] = median_ms(_browse(engine, BrowseView(filter=FILTER, sort=sort)), runs)
    text = RecordFilter(text=FREQUENT_WORD)
    out["text_search_ms"] = median_ms(_browse(engine, BrowseView(filter=text)), runs)
    rarer = RecordFilter(text=RARER_WORD)
    out["text_search_rarer_ms"] = median_ms(_browse(engine, BrowseView(filter=rarer)), runs)
    # The deepest page the search can reach (the page number is clamped): its earlier rows are all read.
    out["text_search_rarer_deepest_ms"] = median_ms(_browse(engine, BrowseView(filter=rarer, page=10**6)), runs)
    with read_conn(engine) as conn:
        total = records_repo.count_records(conn, RecordFilter())
        out["filtered_matches"] = records_repo.count_records(conn, FILTER)
        out["text_matches"] = records_repo.count_records(conn, text)
        out["text_rarer_matches"] = records_repo.count_records(conn, rarer)
    last = BrowseView(page=-(-total // BrowseView().page_size))
    out["browse_last_page_ms"] = median_ms(_browse(engine, last), runs)
    out["browse_worst_ms"] = max(v for k, v in out.items() if k.startswith("browse_") and isinstance(v, float))
    return out


def record_figures(engine: Engine, runs: int) -> Figures:
    """The Record page's reads on the longest base record (bodies are stored for base records only)."""
    with read_conn(engine) as conn:
        top = records_repo.list_records(conn, RecordFilter(), sort=SORTS["tokens"], limit=200)
    rid = next(r for r in top.record_id if len(r) == 24)
    return {"record_page_ms": median_ms(lambda: record_page(engine, rid, SORTS["imported"]), runs)}


def selection_figures(engine: Engine) -> Figures:
    """Retention arrays: load, rebuild after a mask change, preview (counts + audit details)."""
    t = time.perf_counter()
    with read_conn(engine) as conn:
        loaded = load_selection_data(conn)
    load_s = time.perf_counter() - t
    pre, rebuild, rebuild_cpu = rebuild_samples(loaded.data, 5)
    _, full = preview_samples(pre, 400)
    return {"selection_load_ms": round(load_s * 1000, 1), "scored_records": int(loaded.data.n),
            "rebuild_ms": round(statistics.median(rebuild) * 1000, 1),
            "rebuild_cpu_ms": round(statistics.median(rebuild_cpu) * 1000, 1),
            "preview_ms": round(statistics.median(full) * 1000, 3)}


def reliability_figures(engine: Engine) -> Figures:
    """Score pairs (student + SIMULATED teacher) loaded, and the matrix with bootstrap intervals."""
    t = time.perf_counter()
    with read_conn(engine) as conn:
        pairs = load_score_pairs(conn, teacher=DEMO_TEACHER)
    load_s = time.perf_counter() - t
    ms = median_ms(lambda: reliability_matrix(pairs.student, pairs.teacher, pairs.sources, 30), 3)
    labelled = int((~(pairs.teacher != pairs.teacher).all(axis=1)).sum())
    return {"reliability_load_ms": round(load_s * 1000, 1), "reliability_intervals_ms": ms,
            "teacher_labelled": labelled}


def measure(url: str, runs: int) -> Figures:
    """Every figure above on the store at `url`; `peak_rss_mb` is this process's peak."""
    engine = make_engine(url)
    try:
        with read_conn(engine) as conn:
            records = records_repo.count_records(conn, RecordFilter())
        out: Figures = {"records": records, **browse_figures(engine, runs), **record_figures(engine, runs),
                        **selection_figures(engine), **reliability_figures(engine)}
    finally:
        engine.dispose()
    out["peak_rss_mb"] = peak_rss_mb()
    return out


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1], int(sys.argv[2]))))
