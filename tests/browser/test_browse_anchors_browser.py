"""Browse in chromium at 1500x1000: A1-A15 fit the page beside the record's identity and curation (tags and
override as columns), masked and unscored cells are blank, not "None", and a search runs on Enter."""

from __future__ import annotations

import re

import numpy as np
import pytest
from playwright.sync_api import expect

from mira_core.reliability.mask_store import save_mask_version
from mira_core.reliability.masks import Cell, CellDecision, Mask
from mira_core.storage import migrate
from mira_core.storage.annotations_repo import save_annotation
from mira_core.storage.engine import make_engine, write_tx
from tests.browser.conftest import serve_app, wait_idle
from tests.reliability.builders import add_scores, make_records, person

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def anchors_server(tmp_path_factory):
    """6 records in src_a (4 scored 0..10), A3 masked; one tagged 'gold' and force-kept."""
    tmp = tmp_path_factory.mktemp("browse_anchors")
    url = f"sqlite:///{tmp / 'mira.sqlite'}"
    eng = make_engine(url)
    migrate.upgrade(eng)
    ids = make_records(eng, 6, sources=("src_a",))
    add_scores(eng, ids[:4], np.tile(np.linspace(0, 10, 15), (4, 1)).round(1))
    with write_tx(eng) as conn:
        save_mask_version(conn, name="m", rules=None, actor=person(), mask=Mask(
            cells={Cell("src_a", "A3"): CellDecision(masked=True, reason="MAE too high")}))
        save_annotation(conn, ids[0], expected_version=0, override="force_keep", reason="clean", tags=["gold"],
                        who="ann")
    eng.dispose()
    with serve_app(url, tmp) as base:
        yield base


def _cells(page, column: str) -> list[str]:
    """Text of one column's cells in the grid's accessible table."""
    grid = page.locator('[data-testid="stDataFrame"]').first
    headers = [h.inner_text() for h in grid.locator('thead [role="columnheader"]').all()]
    k = headers.index(column) + 1
    return [c.inner_text() for c in grid.locator(f'tbody [role="gridcell"][aria-colindex="{k}"]').all()]


def test_anchor_table_fits_blank_cells_tags_override_and_search(anchors_server, browser):
    ctx = browser.new_context(viewport={"width": 1500, "height": 1000})
    page = ctx.new_page()
    page.goto(anchors_server + "/?cols=anchors&sort=instance_id&order=asc")
    count = page.get_by_text(re.compile(r"matching records"))
    expect(count).to_contain_text("6 matching records")
    wait_idle(page)
    grid = page.locator('[data-testid="stDataFrame"]').first
    scroller = grid.locator(".dvn-scroller").first
    overflow = scroller.evaluate("e => e.scrollWidth - e.clientWidth")
    assert overflow <= 1, f"the table scrolls sideways by {overflow}px"
    grid.hover()  # the grid builds its accessible table (what the assertions read) once the pointer is over it
    expect(grid.locator('thead [role="columnheader"]').first).to_be_attached()
    headers = [h.inner_text() for h in grid.locator('thead [role="columnheader"]').all()]
    assert [f"A{i}" for i in range(1, 16)] == headers[headers.index("score") + 1: headers.index("score") + 16]
    assert "tags" in headers and "override" in headers
    assert _cells(page, "A3") == [""] * 6  # masked for src_a
    assert _cells(page, "A15")[:4] == ["10"] * 4 and _cells(page, "A15")[4:] == ["", ""]  # two unscored
    assert "None" not in " ".join(_cells(page, "score") + _cells(page, "A1"))
    assert _cells(page, "tags")[0] == "gold" and _cells(page, "override")[0] == "force keep"

    search = page.get_by_label("Search issue, instance id and patch")
    search.fill("inst-3")
    search.press("Enter")
    expect(count).to_contain_text("1 matching records for “inst-3”")
    ctx.close()
