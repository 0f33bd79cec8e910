"""One curator's browser session in `bench load`: sign in, then loop through the pages a curator uses.

The loop: Browse filter → open a record → add a tag → back → Retention (open, move a slider) → spot-check
(open, answer an item). In-page actions are timed in the browser (`browser.timed`: key press or click to the
frame showing the answer); page loads by URL are timed from `goto` to the answer, in this process. A step
that fails is an error with its message; the rest of that loop is skipped and the next loop starts afresh.
"""

from __future__ import annotations

import os
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from mira_core.bench.browser import COUNT, IDLE, METRIC, RECORD, SPOT, WS_CLOCK, Sample, settled, timed

ACTIONS = ("browse_open", "browse_filter", "record_open", "tag", "back", "retention_open", "slider",
           "spot_check_open", "spot_check_answer")
IN_PAGE = ("slider", "tag", "spot_check_answer")
"""The in-page actions the issue's ≤ 1 s goal is about (the others load or switch a page)."""
SAVED = ("[...document.querySelectorAll('[data-testid=stAlertContainer]')].map(e => e.innerText)"
         ".find(t => t.includes('Saved (version') || t.includes('was changed by')) ?? null")
METRICS = "[...document.querySelectorAll('[data-testid=stMetricValue]')].map(e => e.innerText).join(' | ') || null"
PROBLEM = "[data-testid=stException], [data-testid=stAlertContentError]"
BROWSE_VIEW = "/?sort=token_estimate&order=asc&size=25"
"""Sorted by tokens: with each session's own "Min tokens", no two sessions open one record."""
SPOT_LIST = "[...document.querySelectorAll('h1')].some(h => h.innerText.startsWith('Spot-checks')) || null"
KEY_TRIES = 3  # presses of O before opening a record counts as failed
STEPS = 60  # slider steps tried for one that changes the preview (a small store's counts move rarely)
WAIT_MS = int(os.environ.get("MIRA_BENCH_LOAD_WAIT_MS", "180000"))  # a step slower than this is an error, not a figure


@dataclass
class SessionPlan:
    """What one session does: where, as whom, and the Browse filter value of each loop."""

    base: str
    curator: str
    min_tokens: list[int]
    spot_check: str
    tag_prefix: str
    shots: Path | None = None
    """Where a failing step leaves a screenshot (named after the session, loop and step)."""
    sidebar: bool = False
    """Open Browse, Retention and the spot-check through the sidebar (in the app) instead of by URL (a page load)."""
    start_delay_s: float = 0.0
    """Seconds to wait, once every session is signed in, before the first loop (`--stagger-s`)."""
    think_s: float = 0.0
    """Mean pause after each action (uniform in 0.5-1.5 times it, seeded by the curator): a person reads."""


@dataclass
class SessionResult:
    """A session's samples (ms) per action, its errors, and the writes the pages confirmed."""

    samples: dict[str, list[float]] = field(default_factory=lambda: {a: [] for a in ACTIONS})
    answered: dict[str, list[float]] = field(default_factory=lambda: {a: [] for a in ACTIONS})
    """In-page actions: ms from the input to the last websocket message before the answer showed (the
    server's part, seen from the browser; the rest of the sample is the browser drawing it)."""
    errors: list[str] = field(default_factory=list)
    tags: list[tuple[str, str]] = field(default_factory=list)
    answers: int = 0


def sign_in(page: Any, base: str, curator: str) -> None:
    """Through the OIDC provider's form (a button per known user), back to the app."""
    page.goto(base + "/")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name=curator, exact=True).click()
    page.wait_for_url(re.compile(re.escape(base) + "/?$"))
    page.wait_for_selector(IDLE)
    signed = page.locator('[data-testid="stSidebar"]').get_by_text(re.compile("Signed in as"))
    signed.wait_for(timeout=WAIT_MS)  # else the identity cookie did not stick: an error, not a slow page


def run_loop(page: Any, plan: SessionPlan, loop: int, out: SessionResult) -> None:
    """One pass through the pages; the first failing step ends the pass with an error."""
    steps: list[tuple[str, Callable[[], float | None]]] = [
        ("browse_open", partial(_browse_open, page, plan)),
        ("browse_filter", partial(_browse_filter, page, plan.min_tokens[loop])),
        ("record_open", partial(_record_open, page)),
        ("tag", partial(_tag, page, f"{plan.tag_prefix}-l{loop:02d}", out)),
        ("back", partial(_back, page)),
        ("retention_open", partial(_retention_open, page, plan)),
        ("slider", partial(_slider, page)),
        ("spot_check_open", partial(_spot_open, page, plan)),
        ("spot_check_answer", partial(_spot_answer, page, loop, out)),
    ]
    pauses = random.Random(f"{plan.curator}/{loop}")
    for name, step in steps:
        try:
            sample = step()
            if page.locator(PROBLEM).count():
                raise RuntimeError("the page shows an error: " + page.locator(PROBLEM).first.inner_text()[:300])
        except Exception as e:
            out.errors.append(f"{plan.curator} loop {loop} {name}: {str(e).splitlines()[0][:300]}")
            if plan.shots is not None:
                page.screenshot(path=plan.shots / f"{plan.tag_prefix}-l{loop}-{name}.png")
            return
        if sample is not None:
            out.samples[name].append(float(sample))
            if isinstance(sample, Sample) and sample.last_msg is not None:
                out.answered[name].append(float(sample.last_msg))
        if plan.think_s > 0:
            time.sleep(plan.think_s * pauses.uniform(0.5, 1.5))


def _loaded(page: Any, url: str, probe: str) -> float:
    """Milliseconds from `goto(url)` to `probe` giving a text, then to the end of the script run."""
    return _opened(page, partial(page.goto, url), probe)


def _opened(page: Any, act: Callable[[], object], probe: str) -> float:
    """Milliseconds from `act` (a page load, or a click that may become one) to `probe` giving a text.

    Timed here, not in the page: a page load replaces the page's clock.
    """
    t = time.perf_counter()
    act()
    page.wait_for_function(f"() => {{ try {{ return ({probe}) !== null; }} catch (e) {{ return false; }} }}",
                           timeout=WAIT_MS)
    ms = (time.perf_counter() - t) * 1000
    page.wait_for_selector(IDLE, timeout=WAIT_MS)
    return ms


def _browse_open(page: Any, plan: SessionPlan) -> float:
    """Browse by URL, or by its sidebar link, which opens the session's last view (`set_out` shows it once)."""
    if not plan.sidebar:
        return _loaded(page, plan.base + BROWSE_VIEW, COUNT)
    page.wait_for_selector(IDLE, timeout=WAIT_MS)
    return _opened(page, _nav_link(page, "").click, COUNT)


def set_out(page: Any, plan: SessionPlan) -> None:
    """Before the first loop, untimed: with sidebar navigation, Browse's view once by URL, then another page.

    So every loop, the first included, comes back to Browse through the sidebar from another page.
    """
    if plan.sidebar:
        _loaded(page, plan.base + BROWSE_VIEW, COUNT)
        _opened(page, _nav_link(page, "spot_check").click, SPOT_LIST)


def _browse_filter(page: Any, min_tokens: int) -> Sample:
    """A "Min tokens" value (a different one per session and loop, so each opens its own record)."""
    box = page.get_by_label("Min tokens")
    box.fill(str(min_tokens))
    return timed(page, COUNT, lambda: box.press("Enter"), timeout_ms=WAIT_MS)


def _record_open(page: Any) -> Sample:
    page.wait_for_selector(IDLE, timeout=WAIT_MS)
    page.wait_for_selector('button:has-text("Open first"):not([disabled])')
    page.locator("h1").first.click()  # out of the "Min tokens" box, or the key is typed into it
    page.wait_for_timeout(200)  # a key pressed while the page is still wiring its shortcuts is lost
    for _ in range(KEY_TRIES):  # ... and, rarely, later too (a 10-session run waited 180 s on one)
        got = settled(page, RECORD, partial(page.keyboard.press, "o"), timeout_ms=WAIT_MS)
        if got is not None:
            return got
        page.wait_for_selector(IDLE, timeout=WAIT_MS)
    raise RuntimeError(f"O opened no record in {KEY_TRIES} presses")


def _tag(page: Any, tag: str, out: SessionResult) -> Sample:
    """Annotation tab → type a new tag → Save annotation, timed from the click to "Saved"."""
    page.wait_for_selector(IDLE, timeout=WAIT_MS)
    record_id = parse_qs(urlparse(page.url).query)["id"][0]
    tab = page.get_by_role("tab", name="Annotation")
    if tab.get_attribute("aria-selected") != "true":
        tab.click()
        page.wait_for_selector(IDLE, timeout=WAIT_MS)
    box = page.locator('[data-testid="stMultiSelect"]').filter(has_text="Tags")
    tags = box.locator("input")
    tags.fill(tag)
    tags.press("Enter")
    tags.press("Escape")
    chosen = box.evaluate("e => [...e.querySelectorAll('[data-tag]')].map(t => t.getAttribute('aria-label'))")
    if tag not in chosen:  # Enter takes the first option the typed text matches, if one does
        raise RuntimeError(f"typing tag {tag} on {record_id} chose {chosen}, not a new tag")
    save = page.get_by_role("button", name=re.compile("Save annotation"))
    sample = timed(page, SAVED, save.click, timeout_ms=WAIT_MS)
    said = page.evaluate(f"() => {SAVED}") or ""
    if "Saved" not in said:
        raise RuntimeError(f"tag {tag} on {record_id} not saved: {said[:200]}")
    out.tags.append((record_id, tag))
    return sample


def _back(page: Any) -> Sample:
    page.wait_for_selector(IDLE, timeout=WAIT_MS)
    return timed(page, COUNT, page.locator(".st-key-record_back button").click, timeout_ms=WAIT_MS)


def _retention_open(page: Any, plan: SessionPlan) -> float:
    """Retention by URL, or by its sidebar link (in the app: no page load)."""
    if not plan.sidebar:
        return _loaded(page, plan.base + "/retention", METRIC)
    page.wait_for_selector(IDLE, timeout=WAIT_MS)
    return _opened(page, _nav_link(page, "retention").click, METRIC)


def _nav_link(page: Any, url_path: str) -> Any:
    """The sidebar's link to a page (by its URL path: the link text carries the icon's name too)."""
    return page.locator(f'[data-testid="stSidebarNavLink"][href$="/{url_path}"]')


def _slider(page: Any) -> Sample:
    """The first source's slider one keyboard step (the other way at the end) until the figures change."""
    thumb = page.locator('[data-testid="stSlider"]').first.get_by_role("slider")
    for _ in range(STEPS):
        page.wait_for_selector(IDLE, timeout=WAIT_MS)
        key = "ArrowLeft" if thumb.get_attribute("aria-valuenow") == thumb.get_attribute("aria-valuemax") else "ArrowRight"
        thumb.focus()
        got = settled(page, METRICS, partial(thumb.press, key), timeout_ms=WAIT_MS)
        if got is not None:
            return got
    raise RuntimeError(f"{STEPS} slider steps left the preview unchanged")


def _spot_open(page: Any, plan: SessionPlan) -> float:
    """By URL, or the sidebar's Spot-check link then this spot-check's line in the list (timed from the first click)."""
    if not plan.sidebar:
        return _loaded(page, f"{plan.base}/spot_check?id={plan.spot_check}", SPOT)
    page.wait_for_selector(IDLE, timeout=WAIT_MS)
    mine = page.locator(f'[data-testid="stPageLink"] a[href*="id={plan.spot_check}"]')

    def clicks() -> None:
        _nav_link(page, "spot_check").click()
        mine.click(timeout=WAIT_MS)
    return _opened(page, clicks, SPOT)


def _spot_answer(page: Any, loop: int, out: SessionResult) -> Sample:
    page.locator("h1").first.click()  # focus out of any text box, so the key is a shortcut
    sample = timed(page, SPOT, partial(page.keyboard.press, str(loop % 10)), timeout_ms=WAIT_MS)
    out.answers += 1
    return sample


def new_page(browser: Any) -> Any:
    """A page in a context of its own (own cookies: own sign-in), with the websocket clock installed."""
    ctx = browser.new_context(viewport={"width": 1500, "height": 1000})
    page = ctx.new_page()
    page.add_init_script(WS_CLOCK)
    page.set_default_timeout(WAIT_MS)
    return page
