"""How long the Record page takes to open the longest real OpenHands record in Debian chromium, against a
floor measured in the same run, and how many bytes the page ships over the websocket.

Run: `.venv/bin/python benchmarks/record_open_browser.py [--samples 7]` (needs /usr/bin/chromium and the
shared real data, `MIRA_REAL_DATA`). Prints one JSON object; figures go in docs/BENCHMARKS.md.

Each sample starts on the Record page without an id (loaded, not timed), types an id into "Record id" and
presses Enter; the time runs from the key press until the page shows the result and its script run is
over. The floor is the same action with an unknown id (one lookup, one error line): what any rerun of
this page costs. Records: the longest OpenHands record by token estimate and the shortest one.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
REAL = Path(os.environ.get("MIRA_REAL_DATA", ROOT.parent / "shared" / "data" / "real"))
CHROMIUM = "/usr/bin/chromium"
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def _store(tmp: Path) -> tuple[str, dict[str, str]]:
    """A store with every real OpenHands record; returns its URL and {longest, shortest} record ids."""
    from mira_core.ingest import import_paths
    from mira_core.storage import migrate
    from mira_core.storage.engine import make_engine, read_conn

    url = f"sqlite:///{tmp / 'bench.sqlite'}"
    eng = make_engine(url)
    migrate.upgrade(eng)
    import_paths(eng, [REAL / "openhands"], source="openhands_real", workers=1)
    with read_conn(eng) as conn:
        rows = conn.execute(text("SELECT record_id FROM records WHERE format LIKE 'openhands%' "
                                 "ORDER BY token_estimate DESC")).scalars().all()
        tokens = conn.execute(text("SELECT token_estimate FROM records WHERE record_id = :r"),
                              {"r": rows[0]}).scalar_one()
    eng.dispose()
    return url, {"longest": rows[0], "shortest": rows[-1], "longest_tokens": str(tokens)}


def _serve(url: str, tmp: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "MIRA_DATABASE_URL": url, "MIRA_EXPORT_DIR": str(tmp / "exports")}
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app/main.py", "--server.port", str(port),
                             "--server.headless", "true", "--server.address", "127.0.0.1",
                             "--browser.gatherUsageStats", "false"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            with urllib.request.urlopen(base + "/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return proc, base
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("streamlit did not start")


def _open(page, base: str, record_id: str, shown: str, sizes: list[int]) -> tuple[float, int]:
    """(milliseconds from Enter to the page showing `shown` and idle, websocket bytes received meanwhile)."""
    page.goto(f"{base}/record")
    page.get_by_label("Record id").wait_for()
    page.wait_for_selector(IDLE)
    page.get_by_label("Record id").fill(record_id)
    sizes.clear()
    t0 = time.perf_counter()
    page.keyboard.press("Enter")
    page.get_by_text(shown, exact=False).first.wait_for()
    page.wait_for_selector(IDLE)
    return (time.perf_counter() - t0) * 1000, sum(sizes)


def measure(samples: int) -> dict[str, object]:
    """Run the floor and both records `samples` times each (interleaved) and summarise."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        url, ids = _store(tmp)
        proc, base = _serve(url, tmp)
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
                page = browser.new_page(viewport={"width": 1500, "height": 1000})
                sizes: list[int] = []
                page.on("websocket", lambda ws: ws.on("framereceived", lambda p: sizes.append(len(p))))
                runs: dict[str, list[tuple[float, int]]] = {"floor": [], "longest": [], "shortest": []}
                for _ in range(samples):
                    runs["floor"].append(_open(page, base, "0" * 24, "not found", sizes))
                    runs["longest"].append(_open(page, base, ids["longest"], "tokens", sizes))
                    runs["shortest"].append(_open(page, base, ids["shortest"], "tokens", sizes))
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    p50 = {k: statistics.median(ms for ms, _ in v) for k, v in runs.items()}
    return {
        "benchmark": "record_open_browser", "samples": samples, "longest_record": ids["longest"],
        "longest_tokens": int(ids["longest_tokens"]),
        "floor_ms_p50": round(p50["floor"], 1),
        "record_open_longest_ms_p50": round(p50["longest"], 1),
        "record_open_shortest_ms_p50": round(p50["shortest"], 1),
        "longest_vs_floor": round(p50["longest"] / p50["floor"], 2),
        "shortest_vs_floor": round(p50["shortest"] / p50["floor"], 2),
        "record_open_longest_bytes": max(b for _, b in runs["longest"]),
        "record_open_shortest_bytes": max(b for _, b in runs["shortest"]),
    }


def main() -> None:
    """Parse --samples and print the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=7)
    print(json.dumps(measure(parser.parse_args().samples)))


if __name__ == "__main__":
    main()
