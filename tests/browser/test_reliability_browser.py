"""Reliability page in chromium: the heatmap renders, and a mask JSON imported from the page becomes the
active version (the way a curator applies the MIRA repository's own reliability mask)."""

import json

import numpy as np
import pytest
from sqlalchemy import text

from mira_core.reliability.demo_teacher import label_demo_corpus
from mira_core.reliability.mask_store import active_mask
from mira_core.storage import migrate
from mira_core.storage.engine import make_engine, read_conn
from tests.browser.conftest import serve_app
from tests.reliability.builders import add_scores, make_records, person

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def rel_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("rel")
    url = f"sqlite:///{tmp / 'rel.sqlite'}"
    eng = make_engine(url)
    migrate.upgrade(eng)
    ids = make_records(eng, 120, sources=("src_a", "src_b"))
    rng = np.random.default_rng(1)
    add_scores(eng, ids, rng.integers(0, 11, (120, 15)).astype(float), judge="mira-SIMULATED")
    label_demo_corpus(eng, actor=person(), coverage=0.9)
    with serve_app(url, tmp) as base:
        yield base, eng, tmp
    eng.dispose()


def test_import_mask_json_from_the_page(rel_server, page):
    from playwright.sync_api import expect

    base, eng, tmp = rel_server
    mask_file = tmp / "paper-mask.json"
    mask_file.write_text(json.dumps({"src_a": {"A2": {"masked": True, "reason": "paper: MAE too high"}},
                                     "src_b": {"A7": {"masked": True, "reason": "paper: rho too low"}}}))
    page.goto(f"{base}/reliability")
    expect(page.get_by_text("Masked cells (draft, not saved)")).to_be_visible()
    expect(page.locator(".js-plotly-plot").first).to_be_visible()
    page.get_by_text("Import a mask from JSON").click()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(mask_file))
    page.get_by_label("Name of the new version").last.fill("paper mask")
    page.get_by_role("button", name="Import mask").click()
    expect(page.get_by_text("2 masked cells")).to_be_visible()
    with read_conn(eng) as conn:
        active = active_mask(conn)
        name = conn.execute(text("SELECT name FROM mask_versions WHERE active")).scalar()
    assert name == "paper mask"
    assert active.is_masked("src_a", "A2") and active.is_masked("src_b", "A7")
    assert not active.is_masked("src_a", "A7")


def _click_heatmap_cell(page, source: str, slot: str) -> None:
    """Click the centre of one heatmap cell (pixel position from the chart's own axes)."""
    chart = page.locator(".js-plotly-plot").first
    chart.scroll_into_view_if_needed()
    x, y = chart.evaluate("""(gd, [s, d]) => {
        const L = gd._fullLayout, box = gd.getBoundingClientRect();
        return [box.left + L._size.l + L.xaxis.d2p(d), box.top + L._size.t + L.yaxis.d2p(s)];
    }""", [source, slot])
    page.mouse.move(x, y)
    page.wait_for_timeout(300)  # plotly picks the hovered point before the click
    page.mouse.click(x, y)


def test_a_heatmap_click_opens_the_cell_and_a_row_shows_both_rationales(rel_server, page):
    from playwright.sync_api import expect

    from tests.browser.conftest import wait_idle

    base, _, _ = rel_server
    page.goto(f"{base}/reliability")
    expect(page.locator(".js-plotly-plot").first).to_be_visible()
    wait_idle(page)
    _click_heatmap_cell(page, "src_b", "A7")
    heading = page.get_by_role("heading", name="A7 · ")
    expect(heading).to_contain_text("src_b")
    wait_idle(page)
    table = page.locator(".st-key-rel_top")
    table.scroll_into_view_if_needed()
    expect(table).to_be_visible()
    box = table.locator('[data-testid="stDataFrame"]').bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 12, box["y"] + 35 + 17)  # the first row's marker
    student = page.locator(".st-key-rel_student_rationale")
    expect(student).to_contain_text("mira-SIMULATED because A7")
    expect(page.locator(".st-key-rel_teacher_rationale")).to_contain_text("Teacher:")
