"""In a real browser: filter on Browse, open a record, read its diff; walk records with the keyboard."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import press_shortcut, wait_idle

pytestmark = pytest.mark.browser


def _wait_app(page) -> None:
    page.wait_for_selector('[data-testid="stApp"]')
    wait_idle(page)


def test_filter_open_record_and_read_diff(app_server, page):
    page.goto(app_server.url + "/")
    _wait_app(page)
    count = page.get_by_text(re.compile(r"matching records"))
    expect(count).to_contain_text("5 matching records")
    search = page.get_by_label("Search issue, instance id and patch")
    search.fill("tokenizer")
    search.press("Enter")
    expect(count).to_contain_text("1 matching records")
    expect(page).to_have_url(re.compile(r"[?&]q=tokenizer"))
    wait_idle(page)

    # Select the only row in the grid (canvas): its row marker sits at the left edge, under the header.
    grid = page.locator('[data-testid="stDataFrame"]')
    box = grid.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 12, box["y"] + 35 + 17)
    expect(page).to_have_url(re.compile(r"/record\?.*id="))
    expect(page.get_by_role("tabpanel", name="Issue").get_by_text("Crash in tokenizer when input is empty")).to_be_visible()

    page.get_by_role("tab", name="Patch").click()
    diff = page.locator('[data-testid="stCode"]').filter(has_text="return 3")
    expect(diff.first).to_be_visible()
    text = diff.first.inner_text()
    assert "-    return 2" in text and "+    return 3" in text
    expect(page.get_by_text("pkg/parser_2.py · modified · +1 −1")).to_be_visible()


def test_keyboard_walks_records_in_the_filter(app_server, page):
    page.goto(app_server.url + "/?source=swe_qa&sort=instance_id&order=asc")
    _wait_app(page)
    expect(page.get_by_text(re.compile(r"matching records"))).to_contain_text("3 matching records")
    heading = page.get_by_role("heading", name=re.compile("org__repo"))
    press_shortcut(page, "o", "Open first", page.get_by_role("heading", name="org__repo-1"))
    assert "/record?" in page.url and "source=swe_qa" in page.url
    press_shortcut(page, "j", "^Next", page.get_by_role("heading", name="org__repo-2"))
    press_shortcut(page, "k", "^Previous", page.get_by_role("heading", name="org__repo-1"))
    press_shortcut(page, "b", "^Browse", page.get_by_text(re.compile(r"3 matching records")))
    expect(heading).to_have_count(0)
