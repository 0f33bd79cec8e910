"""`bench import` at a tiny size: one JSON object with every figure, sane values. No timing assertions."""

from __future__ import annotations

import argparse
import json

import pytest

from mira_core.bench import Benchmark, benchmark_by_name, benchmarks, default_args
from mira_core.cli import bench_cmds, build_parser, main
from mira_core.errors import MiraError

KEYS = {"records", "records_per_s", "mb_per_s", "baseline_records_per_s", "peak_rss_mb", "db_mb",
        "browse_page_ms", "record_page_ms", "record_page_full_ms", "imported", "rejected", "generate_s"}


def test_bench_import_prints_one_json_object_with_all_figures(tmp_path, capsys):
    work = tmp_path / "work"
    assert main(["bench", "import", "--records", "300", "--runs", "2", "--work-dir", str(work)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    fig = json.loads(out[0])
    assert set(fig) >= KEYS
    assert fig["benchmark"] == "import"
    assert fig["records"] == fig["imported"] == 300 and fig["rejected"] == 0
    for key in ("records_per_s", "mb_per_s", "baseline_records_per_s", "peak_rss_mb", "db_mb"):
        assert fig[key] > 0, key
    assert fig["browse_page_ms"] >= 0 and fig["record_page_ms"] >= 0
    assert fig["browse_matches"] > 0  # the Browse filter matches something, so the page is not trivially empty
    assert 40_000 < fig["longest_record_tokens"] <= 61_000
    assert 50 < fig["peak_rss_mb"] < 4096  # the child's own RSS in MiB, not KiB or bytes
    assert fig["cpu_parent_s"] > 0 and 0 <= fig["cpu_workers_s"] < 600  # seconds, not ms or µs
    assert fig["cpu_ms_per_record"] == pytest.approx((fig["cpu_parent_s"] + fig["cpu_workers_s"]) * 1000 / 300, abs=0.001)
    for phase in ("machine_during_import", "machine_during_baseline"):
        shares = fig[phase]
        assert set(shares) == {"busy", "iowait", "steal", "idle"} and all(0 <= v <= 1 for v in shares.values())
        assert sum(shares.values()) == pytest.approx(1, abs=0.01) and shares["busy"] > 0
    assert set(fig["goals_met"]) == {"records_per_s", "peak_rss_mb", "browse_page_ms", "record_page_ms"}
    assert not fig["corpus_reused"]
    # A second run in the same work dir reuses the generated corpus and rebuilds the databases.
    assert main(["bench", "import", "--records", "300", "--runs", "1", "--work-dir", str(work)]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["corpus_reused"] and again["imported"] == 300


def test_registry_and_cli_know_every_benchmark():
    names = [b.name for b in benchmarks()]
    assert {"import", "preview", "reliability", "scoring"} <= set(names) and len(names) == len(set(names))
    assert default_args(benchmark_by_name("import")).records == 232_000
    parser = build_parser()
    assert parser.parse_args(["bench", "all"]).func.__name__ == "cmd_bench_all"
    assert parser.parse_args(["bench", "import", "--records", "5"]).records == 5
    with pytest.raises(MiraError, match="unknown benchmark"):
        benchmark_by_name("nope")


def test_bench_all_runs_each_benchmark_with_its_defaults(monkeypatch, capsys):
    seen: list[argparse.Namespace] = []
    fake = Benchmark(name="fake", description="d", add_arguments=lambda p: p.add_argument("--n", type=int, default=3),
                     run=lambda args: seen.append(args) or {"n": args.n})
    monkeypatch.setattr(bench_cmds, "benchmarks", lambda: [fake])
    assert bench_cmds.cmd_bench_all(argparse.Namespace()) == 0
    assert json.loads(capsys.readouterr().out) == {"benchmark": "fake", "n": 3}
    assert seen[0].n == 3
