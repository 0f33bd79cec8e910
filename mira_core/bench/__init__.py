"""Benchmarks (figures, not tests): `mira-curator bench NAME` runs one and prints one JSON object.

Results and the machine they were measured on are recorded in docs/BENCHMARKS.md.
"""

from mira_core.bench.registry import BENCHMARK_MODULES, Benchmark, benchmark_by_name, benchmarks, default_args

__all__ = ["BENCHMARK_MODULES", "Benchmark", "benchmark_by_name", "benchmarks", "default_args"]
