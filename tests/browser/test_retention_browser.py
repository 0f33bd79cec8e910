"""In a real browser: move a retention slider, see the preview follow, save a policy and download its keep list
(both logged under the local user's name)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

from mira_core.storage import migrate
from mira_core.storage.engine import make_engine, read_conn
from mira_core.team import list_changes
from tests.browser.conftest import serve_app
from tests.selection.dbcorpus import seed

pytestmark = pytest.mark.browser
WAIT = 30_000  # ms: the 2 cores are shared with other test runs


@pytest.fixture(scope="module")
def scored_server(tmp_path_factory):
    """`streamlit run` on a database holding the hand-made scored corpus (tests/selection/dbcorpus.py)."""
    tmp = tmp_path_factory.mktemp("retention")
    db_url = f"sqlite:///{tmp / 'mira.sqlite'}"
    eng = make_engine(db_url)
    migrate.upgrade(eng)
    seed(eng)
    eng.dispose()
    with serve_app(db_url, tmp, {"MIRA_CURATOR": "browser@example.org"}) as base:
        yield base, db_url


def _metric(page, label: str):
    return page.locator('[data-testid="stMetric"]').filter(has_text=label)


def test_slider_preview_and_keep_list_download(scored_server, page):
    base, db_url = scored_server
    page.goto(base + "/retention")
    page.wait_for_selector('[data-testid="stApp"]')
    kept = _metric(page, "Records kept")
    expect(kept).to_contain_text("5 / 9", timeout=WAIT)  # threshold 5 in both sources (first load sorts arrays)

    # Source A's slider to its maximum (10): nothing of A passes; B keeps b1 and the forced b4
    thumb = page.locator('[data-testid="stSlider"]').first.get_by_role("slider")  # the first slider is source A's
    # Under load the first run may still be finishing: wait until the app is idle, then press End until the
    # slider reports its maximum (a key press that lands during a rerun can be dropped by the browser widget).
    # A value the widget shows can still be lost on its way to the server (CI saw the thumb at its maximum and
    # the preview unchanged for 30 s), so each try moves the thumb off the maximum and back, which always sends.
    expect(page.locator('[data-testid="stStatusWidget"]')).to_be_hidden(timeout=WAIT)
    for attempt in range(4):
        thumb.focus()
        if attempt:
            thumb.press("ArrowLeft")
            page.wait_for_timeout(300)
        thumb.press("End")
        try:
            expect(kept).to_contain_text("2 / 9", timeout=WAIT // 3)
            break
        except AssertionError:
            continue
    expect(kept).to_contain_text("2 / 9", timeout=WAIT)
    expect(_metric(page, "Tokens kept")).to_contain_text("60 / 2,125", timeout=WAIT)

    page.get_by_label("Policy name").fill("browser-policy")
    page.get_by_role("button", name="Save policy").click()
    expect(page.get_by_text("Saved policy browser-policy")).to_be_visible(timeout=WAIT)
    page.get_by_role("button", name="Prepare download").click()
    button = page.get_by_role("button", name="Download keep list")
    expect(button).to_be_visible(timeout=WAIT)
    with page.expect_download() as info:
        button.click()
    download = info.value
    assert download.suggested_filename == "keep-browser-policy.jsonl"
    rows = [json.loads(line) for line in Path(download.path()).read_text(encoding="utf-8").splitlines()]
    assert [(r["record_id"], r["decision"]) for r in rows] == [("b1", "keep"), ("b4", "force_keep")]
    eng = make_engine(db_url)
    with read_conn(eng) as conn:
        log = [(c.actor, c.kind, c.target_id) for c in list_changes(conn)]
    eng.dispose()
    assert log == [("browser@example.org", "export.download", "keep-browser-policy.jsonl"),
                   ("browser@example.org", "policy.save", "browser-policy")]
