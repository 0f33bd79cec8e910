"""The benchmark registry: `mira-curator bench NAME` runs one, `bench all` runs every one with its defaults.

A benchmark is a module exposing `BENCHMARK = Benchmark(...)`; add its module name to `BENCHMARK_MODULES`.
Each run returns one flat JSON-ready dict of figures (the CLI prints it as one JSON object).
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mira_core.errors import MiraError

BENCHMARK_MODULES = [
    "mira_core.bench.import_bench",
    "mira_core.bench.scoring",
]


@dataclass(frozen=True)
class Benchmark:
    """A named benchmark: its CLI options and the function that runs it and returns its figures."""

    name: str
    description: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], dict[str, Any]]


def benchmarks() -> list[Benchmark]:
    """Every registered benchmark, in registration order."""
    return [importlib.import_module(m).BENCHMARK for m in BENCHMARK_MODULES]


def benchmark_by_name(name: str) -> Benchmark:
    """The benchmark called `name`."""
    for b in benchmarks():
        if b.name == name:
            return b
    known = ", ".join(b.name for b in benchmarks())
    raise MiraError(f"unknown benchmark {name!r}; known: {known}, or 'all'")


def default_args(bench: Benchmark) -> argparse.Namespace:
    """The options of `bench` with every default (what `bench all` uses)."""
    parser = argparse.ArgumentParser(prog=f"bench {bench.name}")
    bench.add_arguments(parser)
    return parser.parse_args([])
