"""Browse and Retention page runs on an existing store, through AppTest (for `mira-curator bench scale`).

Run in its own process (it imports streamlit, which `mira_core` never does), so its peak RSS is that of
a Streamlit process serving the two pages on this store. Prints one JSON line: first-run seconds, median
rerun milliseconds (Browse: the source filter toggled; Retention: a threshold slider moved) and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[1] / "app"


def _first(path: Path) -> tuple[AppTest, float]:
    at = AppTest.from_file(str(path), default_timeout=900)
    t = time.perf_counter()
    at.run()
    took = time.perf_counter() - t
    if at.exception:
        raise RuntimeError(f"{path.name} failed: {at.exception}")
    return at, took


def browse(reruns: int) -> dict[str, float]:
    """Browse (app/main.py's default page): first run, then reruns with the source filter on and off."""
    at, first = _first(APP / "main.py")
    times = []
    for i in range(reruns):
        box = at.multiselect(key="browse_source")
        change = box.select("agent_openhands") if i % 2 == 0 else box.unselect("agent_openhands")
        t = time.perf_counter()
        change.run()
        times.append(time.perf_counter() - t)
    return {"browse_first_run_s": round(first, 2), "browse_rerun_ms": round(statistics.median(times) * 1000, 1)}


def retention(reruns: int) -> dict[str, float]:
    """Retention: first run (loads and precomputes the arrays), then reruns after a slider move."""
    at, first = _first(APP / "screens" / "retention.py")
    key = next(s.key for s in at.slider if s.key and s.key.startswith("ret_v_threshold"))
    times = []
    for i in range(reruns):
        slider = at.slider(key=key).set_value(4.0 + (i % 20) * 0.1)
        t = time.perf_counter()
        slider.run()
        times.append(time.perf_counter() - t)
    return {"retention_first_run_s": round(first, 2), "retention_rerun_ms": round(statistics.median(times) * 1000, 1)}


def main() -> int:
    """Parse options, run both pages, print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--url", required=True, help="database URL of a built store")
    ap.add_argument("--reruns", type=int, default=7)
    args = ap.parse_args()
    os.environ["MIRA_DATABASE_URL"] = args.url
    os.environ["MIRA_WORKER_AUTOSTART"] = "0"
    if str(APP) not in sys.path:
        sys.path.insert(0, str(APP))
    out = {**browse(args.reruns), **retention(args.reruns),
           "page_process_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
