"""`mira-curator bench browser`: interaction latency in a real browser (Debian chromium driven by Playwright).

Against the demo corpus (`browser_corpus`), a real `streamlit run` of the app, and, in the same run, a
one-widget page whose slider-to-text time is the floor every Streamlit rerun pays (websocket, script run,
render). Each figure is the time from the key press (or click) to the first animation frame in which the
page shows the answer, read in the browser (`performance.now()` in a key/mouse listener and a
requestAnimationFrame probe, so Playwright's own polling adds nothing); figures are also given as ratios
to the floor.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from mira_core.bench.browser_corpus import build_store, log
from mira_core.bench.processes import CHROMIUM, CHROMIUM_ARGS, serve
from mira_core.bench.registry import Benchmark, Figures
from mira_core.errors import MiraError

FLOOR_APP = 'import streamlit as st\nv = st.slider("floor", 0, 1000, 500)\nst.markdown(f"value {v}")\n'
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
# Probes: JS expressions giving the text a measurement waits on (null while the answer is not there).
METRIC = "document.querySelector('[data-testid=stMetricValue]')?.innerText ?? null"
FLOOR = "[...document.querySelectorAll('[data-testid=stMarkdownContainer]')].map(e => e.innerText).find(t => t.startsWith('value')) ?? null"
COUNT = ("[...document.querySelectorAll('[data-testid=stMarkdownContainer]')].map(e => e.innerText)"
         ".find(t => t.includes('matching records')) ?? null")
RECORD = "location.pathname.endsWith('/record') ? (document.querySelector('h3')?.innerText ?? null) : null"
SPOT = "document.querySelector('[data-testid=stProgress]')?.innerText ?? null"


LOST_MS = 30_000
"""An input after which no rerun started for this long counts as lost (`settled` gives None: try again)."""


def _harness(probe: str, lost_ms: float = LOST_MS) -> str:
    return f"""before => {{
  const b = window.__bench = {{t0: null, t1: null, ran: false, idle: 0, same: false, lost: false, at: performance.now()}};
  const probe = () => {{ try {{ return {probe}; }} catch (e) {{ return null; }} }};
  const state = () => document.querySelector('[data-testid=stApp]')?.getAttribute('data-test-script-state');
  const start = () => {{ if (b.t0 === null) b.t0 = performance.now(); }};
  document.addEventListener('keydown', start, {{capture: true, once: true}});
  document.addEventListener('mousedown', start, {{capture: true, once: true}});
  const tick = () => {{
    const now = probe();
    if (b.t0 !== null && now !== null && now !== before) {{ b.t1 = performance.now(); return; }}
    if (b.t0 !== null && state() === 'running') {{ b.ran = true; b.idle = 0; }}
    // a rerun that ended (and stayed ended for 10 frames) with the answer as it was
    if (b.ran && state() === 'notRunning' && ++b.idle >= 10) {{ b.same = true; return; }}
    // no rerun started long after the input: the input was lost (e.g. focus moved as the page drew)
    if (!b.ran && performance.now() - (b.t0 ?? b.at) > {lost_ms}) {{ b.lost = true; return; }}
    requestAnimationFrame(tick);
  }};
  requestAnimationFrame(tick);
}}"""


WS_CLOCK = """(() => {
  const W = window.WebSocket;
  window.__ws = [];
  window.WebSocket = class extends W {
    constructor(...args) { super(...args); this.addEventListener('message', () => window.__ws.push(performance.now())); }
  };
})();"""
"""Init script: the arrival time of every websocket message (Streamlit's deltas), to split a figure."""
SPLIT = """() => {
  const b = window.__bench, got = (window.__ws || []).filter(t => t >= b.t0 && t <= b.t1);
  return [b.t1 - b.t0, got.length ? got[0] - b.t0 : null, got.length ? got[got.length - 1] - b.t0 : null];
}"""


class Sample(float):
    """A latency in ms that also carries when the first and the last websocket message of it arrived."""

    first_msg: float | None
    last_msg: float | None


def timed(page: Any, probe: str, act: Callable[[], None], timeout_ms: float = 60_000) -> Sample:
    """Milliseconds from the input `act` makes to the first frame where `probe` shows a different text."""
    before = page.evaluate(f"() => {{ try {{ return {probe}; }} catch (e) {{ return null; }} }}")
    page.evaluate(_harness(probe), before)
    act()
    page.wait_for_function("() => window.__bench && window.__bench.t1 !== null", timeout=timeout_ms)
    return _sample(page)


def settled(page: Any, probe: str, act: Callable[[], None], timeout_ms: float = 60_000,
            lost_ms: float = LOST_MS) -> Sample | None:
    """As `timed`, but None when the rerun `act` started ended with `probe` unchanged, or none started.

    A slider step that kept the same count: under load a slow answer and no answer are told apart without
    a short timeout. A key press that started no rerun within LOST_MS was lost (rarely, as the page redraws
    around the focused thumb); the caller takes another step instead of waiting out its timeout.
    """
    before = page.evaluate(f"() => {{ try {{ return {probe}; }} catch (e) {{ return null; }} }}")
    page.evaluate(_harness(probe, lost_ms), before)
    act()
    page.wait_for_function("() => window.__bench && (window.__bench.t1 !== null || window.__bench.same"
                           " || window.__bench.lost)", timeout=timeout_ms)
    return _sample(page) if page.evaluate("() => window.__bench.t1 !== null") else None


def _sample(page: Any) -> Sample:
    total, first, last = page.evaluate(SPLIT)
    out = Sample(total)
    out.first_msg, out.last_msg = first, last
    return out


def split(samples: list[Sample]) -> dict[str, float]:
    """Where a figure's time went: medians from the key press to the first and the last websocket message.

    The last message is the one before the answer showed; from it to the frame is the browser's render of
    the rerun's deltas.
    """
    first = [s.first_msg for s in samples if s.first_msg is not None]
    last = [(s.last_msg, float(s)) for s in samples if s.last_msg is not None]
    if not first or not last:
        return {}
    return {"to_first_message_ms": round(statistics.median(first), 1),
            "to_last_message_ms": round(statistics.median(m for m, _ in last), 1),
            "last_message_to_frame_ms": round(statistics.median(t - m for m, t in last), 1)}


def _idle(page: Any, timeout_ms: float = 300_000) -> None:
    page.wait_for_selector(IDLE, timeout=timeout_ms)


def _slider_samples(page: Any, base: str, n: int, first_load_ms: float) -> list[Sample]:
    """Retention: the first source's slider moved by one keyboard step until "Records kept" changes."""
    page.goto(base + "/retention")
    page.wait_for_selector("[data-testid=stMetricValue]", timeout=first_load_ms)
    _idle(page)
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    thumb = page.locator('[data-testid="stSlider"]').first.get_by_role("slider")
    out: list[Sample] = []
    key = "ArrowRight"
    while len(out) < n:
        _idle(page)
        thumb.focus()
        try:
            out.append(timed(page, METRIC, partial(thumb.press, key), timeout_ms=3_000))
        except PlaywrightTimeout:  # a step that kept the same count: take another step
            if thumb.get_attribute("aria-valuenow") == thumb.get_attribute("aria-valuemax"):
                key = "ArrowLeft"
    return out


def _floor_samples(page: Any, base: str, n: int) -> list[Sample]:
    """The one-widget page: slider step -> the text under it."""
    page.goto(base)
    page.wait_for_selector("[data-testid=stSlider]")
    thumb = page.get_by_role("slider")
    out = []
    for i in range(n):
        _idle(page)
        thumb.focus()
        out.append(timed(page, FLOOR, partial(thumb.press, "ArrowRight" if i % 2 == 0 else "ArrowLeft")))
    return out


def _browse_samples(page: Any, base: str, n: int) -> list[Sample]:
    """Browse: a new "Min tokens" value (Enter) -> the new match count."""
    page.goto(base + "/")
    page.wait_for_selector("[data-testid=stDataFrame]", timeout=120_000)
    box = page.get_by_label("Min tokens")
    out = []
    for i in range(n):
        _idle(page)
        box.fill(str(2000 + 1000 * (i % 4)))
        out.append(timed(page, COUNT, lambda: box.press("Enter")))
    return out


def _open_first(page: Any, url: str) -> Sample:
    """From a Browse view, "Open first" (the O key) -> the record's title."""
    page.goto(url)
    page.wait_for_function(f"() => ({COUNT}) !== null", timeout=120_000)
    _idle(page)
    page.wait_for_selector('button:has-text("Open first"):not([disabled])')
    page.wait_for_timeout(200)  # a key pressed while the page is still wiring its shortcuts is lost
    return timed(page, RECORD, lambda: page.keyboard.press("o"))


def _spot_samples(page: Any, base: str, spot_check: str, n: int) -> list[Sample]:
    """Spot-check: a score key -> the answered count moves on."""
    page.goto(f"{base}/spot_check?id={spot_check}")
    page.wait_for_selector("[data-testid=stProgress]", timeout=120_000)
    out = []
    for i in range(n):
        _idle(page)
        page.locator("h1").first.click()  # focus out of any text box, so the key is a shortcut
        out.append(timed(page, SPOT, partial(page.keyboard.press, str(i % 10))))
    return out


def _pct(samples: Sequence[float], q: float) -> float:
    return round(float(np.percentile(samples, q)), 1)


def measure(base: str, floor_base: str, spot_check: str, samples: int) -> dict[str, list[Sample]]:
    """Every interaction's samples (ms), the floor first."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise MiraError(f"{CHROMIUM} not found: install Debian's chromium (`make chromium`)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        page.add_init_script(WS_CLOCK)
        page.set_default_timeout(120_000)
        out: dict[str, list[Sample]] = {}
        steps: list[tuple[str, Callable[[], list[Sample]]]] = [
            ("floor", lambda: _floor_samples(page, floor_base, samples)),
            ("slider", lambda: _slider_samples(page, base, samples, first_load_ms=600_000)),
            ("browse", lambda: _browse_samples(page, base, max(samples // 2, 3))),
            ("record", lambda: [_open_first(page, f"{base}/?sort=record_id&order=asc&size=25&page={k + 1}")
                                for k in range(max(samples // 3, 3))]),
            ("longest", lambda: [_open_first(page, f"{base}/?sort=token_estimate&order=desc")]),
            ("spot", lambda: _spot_samples(page, base, spot_check, max(samples // 2, 3))),
        ]
        for name, step in steps:
            log(f"measuring {name}")
            out[name] = step()
        browser.close()
    return out


def figures(s: dict[str, list[Sample]], records: int) -> Figures:
    """The JSON figures: percentiles, the floor, and every figure as a ratio to the floor's median."""
    floor = statistics.median(s["floor"])
    out: Figures = {
        "records": records,
        "websocket_rerun_floor_ms_p50": round(floor, 1),
        "slider_to_preview_ms_p50": _pct(s["slider"], 50),
        "slider_to_preview_ms_p95": _pct(s["slider"], 95),
        "browse_filter_ms_p50": _pct(s["browse"], 50),
        "record_open_ms_p50": _pct(s["record"], 50),
        "record_open_longest_ms": round(s["longest"][0], 1),
        "spot_check_answer_ms_p50": _pct(s["spot"], 50),
    }
    for key in [k for k in out if k.endswith("_ms_p50") or k.endswith("_ms_p95") or k.endswith("_longest_ms")]:
        if key != "websocket_rerun_floor_ms_p50":
            out[key.replace("_ms", "") + "_x_floor"] = round(float(out[key]) / floor, 2)  # type: ignore[arg-type]
    out["samples"] = {k: len(v) for k, v in s.items()}
    out["split_ms"] = {k: split(v) for k, v in s.items()}
    return out


def run(records: int = 232_000, *, work_dir: Path | None = None, samples: int = 20) -> Figures:
    """Build (or reuse) the store for `records`, serve the app and the floor page, measure in chromium."""
    work = work_dir or Path(tempfile.gettempdir()) / "mira-bench-browser"
    work.mkdir(parents=True, exist_ok=True)
    url, spot_check = build_store(work / f"demo-{records}.sqlite", records)
    floor_script = work / "floor_app.py"
    floor_script.write_text(FLOOR_APP, encoding="utf-8")
    env = {"MIRA_DATABASE_URL": url, "MIRA_CURATOR": "bench@localhost", "MIRA_EXPORT_DIR": str(work / "exports")}
    with serve("app/main.py", env, work / "app.log") as app, serve(str(floor_script), {}, work / "floor.log") as floor:
        return figures(measure(app.url, floor.url, spot_check, samples), records)


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--records", type=int, default=232_000, help="demo corpus size (built once per size)")
    p.add_argument("--work-dir", type=Path, default=None, help="where the store is kept (default: a temp folder)")
    p.add_argument("--samples", type=int, default=20, help="slider and floor samples (fewer for the others)")


BENCHMARK = Benchmark("browser", "interaction latency in chromium (slider, Browse filter, record open, spot-check) "
                      "vs a one-widget rerun floor", _add_arguments,
                      lambda a: run(a.records, work_dir=a.work_dir, samples=a.samples))
