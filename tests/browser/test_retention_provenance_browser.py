"""Retention in chromium: metrics with eight-digit totals show whole, records next to a cut show instance id
and issue and link to the record, and each format's download has its own manifest name."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from mira_core.storage import migrate
from mira_core.storage.engine import make_engine, write_tx
from tests.browser.conftest import serve_app, wait_idle
from tests.selection.dbcorpus import seed

pytestmark = pytest.mark.browser
WAIT = 30_000


@pytest.fixture(scope="module")
def big_tokens_server(tmp_path_factory):
    """The hand-made corpus with millions of tokens per record (so totals have eight digits)."""
    tmp = tmp_path_factory.mktemp("retention_prov")
    url = f"sqlite:///{tmp / 'mira.sqlite'}"
    eng = make_engine(url)
    migrate.upgrade(eng)
    seed(eng)
    with write_tx(eng) as conn:  # 9 records: 16,420,947 tokens in all
        conn.execute(text("UPDATE records SET token_estimate = 1824549 WHERE record_id != 'a1'"))
        conn.execute(text("UPDATE records SET token_estimate = 1824555 WHERE record_id = 'a1'"))
    eng.dispose()
    with serve_app(url, tmp, {"MIRA_CURATOR": "ann@example.org"}) as base:
        yield base


def test_metrics_borderline_records_and_download_names(big_tokens_server, browser):
    ctx = browser.new_context(viewport={"width": 1100, "height": 1000})
    page = ctx.new_page()
    page.goto(big_tokens_server + "/retention")
    tokens = page.locator('[data-testid="stMetric"]').filter(has_text="Tokens kept")
    expect(tokens).to_contain_text("/ 16,420,947", timeout=WAIT)
    wait_idle(page)
    for value in page.locator('[data-testid="stMetricValue"]').all():
        clipped = value.evaluate("e => [...e.querySelectorAll('*'), e].some(x => x.scrollWidth > x.clientWidth + 1)")
        assert not clipped, value.inner_text()

    # source A's tab: a1 (8), a2 and a3 (6) kept at threshold 5, each with its link, instance id and issue title
    above = page.locator('[data-testid="stDataFrame"]').filter(has_text="inst-a1").first
    expect(above).to_be_visible(timeout=WAIT)
    rows = [[c.inner_text() for c in r.locator('[role="gridcell"]').all()]
            for r in above.locator('tbody [role="row"]').all()]
    assert [[*r[:2], r[3]] for r in rows] == [["record?id=a3", "inst-a3", "6"], ["record?id=a2", "inst-a2", "6"],
                                              ["record?id=a1", "inst-a1", "8"]]
    assert all(r[2].startswith("xxxx") for r in rows)  # the issue title (the seeded issue is x's)

    page.get_by_label("Policy name").fill("big")
    page.get_by_role("button", name="Save policy").click()
    expect(page.get_by_text("Saved policy big")).to_be_visible(timeout=WAIT)
    names = set()
    for fmt in ("jsonl", "csv"):
        wait_idle(page)
        if fmt != "jsonl":  # the first format is chosen already
            page.get_by_label("Format", exact=True).click()
            page.get_by_role("option", name=fmt, exact=True).click()
            wait_idle(page)
        page.get_by_role("button", name="Prepare download").click()
        button = page.get_by_role("button", name=re.compile(rf"Download manifest \(keep-big\.{fmt}"))
        expect(button).to_be_visible(timeout=WAIT)
        with page.expect_download() as info:
            button.click()
        names.add(info.value.suggested_filename)
    assert names == {"keep-big.jsonl.manifest.json", "keep-big.csv.manifest.json"}
    ctx.close()
