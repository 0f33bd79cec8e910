"""`bench scale` at a tiny size on each back end: every figure present and plausible. No timing assertions."""

from __future__ import annotations

import json

from mira_core.bench import benchmark_by_name
from mira_core.bench.scale import GOALS_MS
from mira_core.cli import main

BROWSE = {f"browse_{s}{f}_ms" for s in ("imported", "score", "tokens") for f in ("", "_filtered")}
KEYS = BROWSE | {"browse_last_page_ms", "browse_worst_ms", "text_search_ms", "text_search_rarer_ms",
                 "text_search_rarer_deepest_ms",
                 "record_page_ms", "preview_ms", "rebuild_ms", "reliability_intervals_ms", "export_jsonl_s",
                 "export_parquet_s", "peak_rss_mb", "import_records_per_s", "browse_rerun_ms",
                 "retention_rerun_ms", "page_process_peak_rss_mb", "export_baseline_records_per_s",
                 "export_jsonl_vs_baseline", "export_parquet_vs_baseline", "export_peak_rss_mb",
                 "export_jsonl_loaded_records_per_s", "export_parquet_loaded_records_per_s"}


def _check(fig: dict, records: int, base: int) -> None:
    assert set(fig) >= KEYS, KEYS - set(fig)
    assert (fig["records"], fig["base_records"], fig["copies"]) == (records, base, records // base - 1)
    assert fig["import_rejected"] == 0 and fig["import_records_per_s"] > 0
    assert all(fig[k] > 0 for k in KEYS), {k: fig[k] for k in KEYS if not fig[k] > 0}
    assert 0 < fig["filtered_matches"] < records  # the filter narrows, so its pages are not the unfiltered ones
    assert records * 0.8 < fig["text_matches"] <= records  # the frequent word is frequent
    assert 0 < fig["text_rarer_matches"] < fig["text_matches"]
    assert fig["scored_records"] == records  # every record has a SIMULATED student score
    assert 0.05 * records < fig["teacher_labelled"] < 0.15 * records  # teacher labels on ~10%
    assert fig["export_records"] == records  # small stores keep everything (the cut keeps ~1M of 2.3M)
    assert 30 < fig["peak_rss_mb"] < 4096 and 30 < fig["page_process_peak_rss_mb"] < 4096  # MiB
    assert 30 < fig["export_peak_rss_mb"] < 4096
    assert set(fig["goals_met"]) == {*GOALS_MS, "export_records_per_s", "peak_rss_mb"}


def test_bench_scale_measures_every_figure_on_each_back_end(db_url, tmp_path, capsys):
    assert benchmark_by_name("scale").name == "scale"
    args = ["bench", "scale", "--records", "600", "--base", "300", "--runs", "1", "--reruns", "1",
            "--work-dir", str(tmp_path / "work")]
    if db_url.startswith("postgresql"):
        args += ["--postgres-url", db_url]
    assert main(args) == 0
    fig = json.loads(capsys.readouterr().out)
    assert (fig["benchmark"], fig["records"]) == ("scale", 600)
    _check(fig["sqlite"], 600, 300)
    if db_url.startswith("postgresql"):
        _check(fig["postgres"], 600, 300)
