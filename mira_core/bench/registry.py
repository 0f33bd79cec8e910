"""The benchmark registry: `mira-curator bench NAME` runs one, `bench all` runs every one with its defaults.

A benchmark module exposes `BENCHMARK = Benchmark(...)` and is listed in `BENCHMARK_MODULES`. Modules
written as scripts (`run(records, ...)` plus their own `main`) are wrapped by an entry in `_ADAPTERS` until
they expose `BENCHMARK` themselves. Each run returns one flat JSON-ready dict of figures.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import TypeAlias

from mira_core.errors import MiraError

BENCHMARK_MODULES = [
    "mira_core.bench.import_bench",
    "mira_core.bench.preview",
    "mira_core.bench.reliability",
    "mira_core.bench.scoring",
    "mira_core.bench.browser",
    "mira_core.bench.load",
    "mira_core.bench.scale",
]
CORPUS = 231_762

# What a benchmark run returns: one flat dict of figures, printed as JSON.
Figures: TypeAlias = dict[str, object]


@dataclass(frozen=True)
class Benchmark:
    """A named benchmark: its CLI options and the function that runs it and returns its figures."""

    name: str
    description: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], Figures]


def _preview(module: ModuleType) -> Benchmark:
    def add(p: argparse.ArgumentParser) -> None:
        p.add_argument("--records", type=int, default=CORPUS)
        p.add_argument("--page-max", type=int, default=300_000, help="largest size for the AppTest page rerun")

    return Benchmark("preview", "retention preview latency vs a pandas recomputation, rebuild after a mask change",
                     add, lambda a: module.run(a.records, page_max=a.page_max))


def _reliability(module: ModuleType) -> Benchmark:
    def add(p: argparse.ArgumentParser) -> None:
        p.add_argument("--records", type=int, default=CORPUS)
        p.add_argument("--repeats", type=int, default=5)
        p.add_argument("--load-records", type=int, default=50_000, help="database size for load_ms (0: skip)")

    return Benchmark("reliability", "source x dimension reliability matrix vs a pandas baseline, load time", add,
                     lambda a: module.run(a.records, repeats=a.repeats, load_records=a.load_records))


_ADAPTERS: dict[str, Callable[[ModuleType], Benchmark]] = {
    "mira_core.bench.preview": _preview,
    "mira_core.bench.reliability": _reliability,
}


def benchmarks() -> list[Benchmark]:
    """Every registered benchmark, in registration order."""
    out = []
    for name in BENCHMARK_MODULES:
        module = importlib.import_module(name)
        bench = getattr(module, "BENCHMARK", None)
        out.append(bench if isinstance(bench, Benchmark) else _ADAPTERS[name](module))
    return out


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
