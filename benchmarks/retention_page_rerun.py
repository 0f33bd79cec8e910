"""Retention page rerun timings for `mira-curator bench preview` (run in its own process: it imports
streamlit, which `mira_core` never does). Prints one JSON line {"times": [...], "loads": [...]} in seconds."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from mira_core.selection.generate import generate_data

PAGE = Path(__file__).resolve().parents[1] / "app" / "screens" / "retention.py"


def page_rerun(records: int, reruns: int) -> tuple[list[float], list[float]]:
    """Median-ready timings: AppTest reruns after a slider change, and selection-array loads."""
    from mira_core.selection.store import insert_generated, load_selection_data
    from mira_core.storage import migrate
    from mira_core.storage.engine import make_engine, read_conn, write_tx

    app_dir = str(PAGE.parents[1])
    if app_dir not in sys.path:
        sys.path.insert(0, app_dir)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
        eng = make_engine(url)
        migrate.upgrade(eng)
        with write_tx(eng) as conn:
            insert_generated(conn, generate_data(records, seed=1))
        loads = []
        for _ in range(3):
            t0 = time.perf_counter()
            with read_conn(eng) as conn:
                load_selection_data(conn)
            loads.append(time.perf_counter() - t0)
        eng.dispose()
        old = os.environ.get("MIRA_DATABASE_URL")
        os.environ["MIRA_DATABASE_URL"] = url
        try:
            at = AppTest.from_file(str(PAGE), default_timeout=600)
            at.run()
            if at.exception:
                raise RuntimeError(f"retention page failed: {at.exception}")
            times = []
            key = next(s.key for s in at.slider if s.key and s.key.startswith("ret_v_threshold"))
            for i in range(reruns):
                slider = at.slider(key=key).set_value(4.0 + (i % 20) * 0.1)
                t0 = time.perf_counter()
                slider.run()
                times.append(time.perf_counter() - t0)
            return times, loads
        finally:
            if old is None:
                os.environ.pop("MIRA_DATABASE_URL", None)
            else:
                os.environ["MIRA_DATABASE_URL"] = old


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, required=True)
    ap.add_argument("--reruns", type=int, default=20)
    a = ap.parse_args()
    times, loads = page_rerun(a.records, a.reruns)
    print(json.dumps({"times": times, "loads": loads}))
