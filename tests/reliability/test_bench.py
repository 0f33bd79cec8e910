"""The reliability benchmark runs end to end at a small size and reports its keys (timings go in BENCHMARKS)."""

from mira_core.bench.reliability import run


def test_bench_reports_required_keys_on_a_small_corpus():
    out = run(3000, repeats=1, load_records=300)
    assert out["records"] == 3000 and out["cells"] == 7 * 15
    assert {"matrix_ms", "matrix_with_intervals_ms", "baseline_ms"} <= set(out)
    assert all(out[k] > 0 for k in ("matrix_ms", "matrix_with_intervals_ms", "load_ms"))
