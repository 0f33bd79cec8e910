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
    expect(page.get_by_text("Masked cells (preview)")).to_be_visible()
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
