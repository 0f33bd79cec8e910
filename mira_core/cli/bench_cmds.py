"""`mira-curator bench NAME|all`: run benchmarks and print their figures, one JSON object per benchmark."""

from __future__ import annotations

import argparse
import json

from mira_core.bench import Benchmark, benchmarks, default_args


def register(sub: argparse._SubParsersAction) -> None:
    """Add `bench` with one sub-command per registered benchmark, plus `all`."""
    p = sub.add_parser("bench", help="run a benchmark (figures in docs/BENCHMARKS.md); 'all' runs every one")
    bsub = p.add_subparsers(dest="benchmark", required=True)
    for bench in benchmarks():
        q = bsub.add_parser(bench.name, help=bench.description)
        bench.add_arguments(q)
        q.set_defaults(func=cmd_bench, bench=bench)
    q = bsub.add_parser("all", help="run every benchmark with its defaults (make bench)")
    q.set_defaults(func=cmd_bench_all)


def _print(bench: Benchmark, figures: dict) -> None:
    print(json.dumps({"benchmark": bench.name, **figures}), flush=True)


def cmd_bench(args: argparse.Namespace) -> int:
    """Run one benchmark."""
    _print(args.bench, args.bench.run(args))
    return 0


def cmd_bench_all(args: argparse.Namespace) -> int:
    """Run every benchmark, one JSON line each."""
    for bench in benchmarks():
        _print(bench, bench.run(default_args(bench)))
    return 0
