"""Small timing helpers shared by benchmarks."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_ms(fn: Callable[[], object], runs: int = 7) -> float:
    """Median wall time of `fn()` over `runs` calls, in milliseconds (the first, cold call included)."""
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(times), 2)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux `ru_maxrss` is in KiB)."""
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
