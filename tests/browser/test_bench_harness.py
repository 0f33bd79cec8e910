"""`bench.browser.settled` in chromium, on a page standing in for Streamlit's script-state attribute.

An answer that changed is a sample; a rerun that ended unchanged is None; an input that started no rerun
is None after `lost_ms` instead of a hang until the timeout.
"""

from __future__ import annotations

import time

import pytest

from mira_core.bench.browser import settled

pytestmark = pytest.mark.browser

PAGE = '<div data-testid="stApp" data-test-script-state="notRunning"><p id="answer">1</p></div>'
PROBE = "document.getElementById('answer')?.innerText ?? null"
RERUN = """changed => {
  const app = document.querySelector('[data-testid=stApp]');
  app.setAttribute('data-test-script-state', 'running');
  setTimeout(() => {
    if (changed) document.getElementById('answer').innerText = '2';
    app.setAttribute('data-test-script-state', 'notRunning');
  }, 200);
}"""


def _key_then(page, changed: bool | None):
    def act():
        page.keyboard.press("Shift")  # the input the harness starts its clock on
        if changed is not None:
            page.evaluate(RERUN, changed)
    return act


def test_a_changed_answer_is_a_sample(page):
    page.set_content(PAGE)
    got = settled(page, PROBE, _key_then(page, True), timeout_ms=10_000, lost_ms=5_000)
    assert got is not None and 150 <= float(got) < 5_000


def test_a_rerun_that_ended_unchanged_is_none(page):
    page.set_content(PAGE)
    assert settled(page, PROBE, _key_then(page, False), timeout_ms=10_000, lost_ms=5_000) is None


def test_an_input_that_started_no_rerun_is_none_after_lost_ms(page):
    page.set_content(PAGE)
    t = time.monotonic()
    assert settled(page, PROBE, _key_then(page, None), timeout_ms=10_000, lost_ms=500) is None
    assert time.monotonic() - t < 8  # not the 10 s timeout (which raises)
