"""Untrusted record text stays text: nothing executes, no link or remote image goes live, payloads show literally."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.payloads import (
    ANGLE_JS,
    DATA_LINK,
    HTML_LINK,
    IFRAME,
    IMG,
    JS_LINK,
    REMOTE_IMG,
    SCRIPT,
    SERVER_PATH,
)

pytestmark = pytest.mark.browser


def _idle(page) -> None:
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')


def _assert_inert(page, requests: list[str]) -> None:
    assert page.evaluate("typeof window.__xss") == "undefined"
    bad_links = page.eval_on_selector_all(
        "a[href]", "els => els.map(e => e.getAttribute('href')).filter(h => /^\\s*(javascript|data):/i.test(h))"
    )
    assert bad_links == []
    assert page.locator('img[src*="127.0.0.1:9"]').count() == 0
    assert page.locator('a[href*="127.0.0.1:9"]').count() == 0
    assert page.locator("script", has_text="__xss").count() == 0
    assert page.locator("iframe").count() == 0
    assert page.locator('img[src^="data:"], img[src^="http"]').count() == 0  # no image from record text
    assert not [u for u in requests if "127.0.0.1:9/" in u]
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
    schemes = {m.group(1).lower() for h in hrefs if (m := re.match(r"\s*([a-zA-Z][a-zA-Z0-9+.-]*):", h))}
    assert schemes <= {"http", "https"}, hrefs  # no mailto:, javascript:, data:, file: ...


def test_payloads_render_as_literal_text(app_server, page):
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    page.goto(f"{app_server.url}/record?id={app_server.xss_id}")
    page.wait_for_selector('[data-testid="stApp"]')
    _idle(page)
    issue = page.get_by_role("tabpanel", name="Issue")
    # Safe markdown: raw HTML shows as text, formatting and http(s) links stay, nothing else links or loads.
    for literal in (SCRIPT, IMG, JS_LINK, DATA_LINK, HTML_LINK, IFRAME, ANGLE_JS):
        shown = literal.replace("://", ":\u2060//")  # a WORD JOINER keeps GFM from autolinking a URL
        expect(issue.get_by_text(shown, exact=False).first).to_be_visible()
    expect(issue.locator("strong", has_text="bold issue")).to_be_visible()
    expect(issue.locator("code", has_text="<b>code</b>")).to_be_visible()
    expect(issue.get_by_role("link", name="a fine link")).to_have_attribute("href", "https://example.org/docs")
    expect(issue.get_by_text(re.compile("image \\(not loaded\\): no description — http:\u2060//127"))).to_be_visible()
    expect(issue.get_by_text(re.compile("image \\(not loaded\\): d — data:image/svg"))).to_be_visible()
    expect(issue.get_by_text("![ref][leak]", exact=False)).to_be_visible()  # no reference image either
    expect(issue.get_by_text("␛[31mred␛[0m")).to_be_visible()  # ANSI escapes shown, not interpreted
    assert issue.locator("a").count() == 1  # the https link only: no mailto:, no javascript:
    # The instance id heading shows the payloads literally (escaped markdown, not a link or an image).
    heading = page.get_by_role("heading", level=3).filter(has_text="window.__xss=1")
    expect(heading).to_contain_text(SCRIPT + " " + IMG + " " + JS_LINK)
    _assert_inert(page, requests)

    page.get_by_role("tab", name="Steps").click()
    steps = page.get_by_role("tabpanel", name="Steps")
    # Labels are escaped markdown; a WORD JOINER after ":" keeps GFM from turning the URL into a link.
    tool_call = steps.get_by_text("![](http:\u2060//127.0.0.1:9/leak.png) — " + SCRIPT + " " + IMG)
    expect(tool_call).to_be_visible()
    tool_call.click()  # open the tool call: arguments as code and JSON
    expect(steps.locator('[data-testid="stJson"]').get_by_text(REMOTE_IMG).first).to_be_visible()
    expect(steps.get_by_text("exit 1")).to_be_visible()
    observation = steps.get_by_role("group", name="Chat message from observation")
    badge = observation.locator('[data-testid="stMarkdownContainer"]').filter(has_text="data:text/html")
    expect(badge).to_contain_text(DATA_LINK)  # the tool-name badge, literal (no stray backslashes)
    last_step = steps.locator('[data-testid="stChatMessage"]').last  # the message step: just the path
    expect(last_step.get_by_text(SERVER_PATH, exact=True)).to_be_visible()  # a path is text, never read
    assert "root:x:0:0" not in page.content()
    _assert_inert(page, requests)

    page.get_by_role("tab", name="Patch").click()
    patch = page.get_by_role("tabpanel", name="Patch")
    # Escaped markdown label; a WORD JOINER after ":" keeps GFM from turning the URL into a link.
    expect(patch.get_by_text("x/![](http:\u2060//127.0.0.1:9/leak.png).py · modified · +7 −0")).to_be_visible()
    expect(patch.locator('[data-testid="stCode"]').filter(has_text="+" + SCRIPT)).to_be_visible()
    _assert_inert(page, requests)

    page.get_by_role("tab", name="Metadata").click()
    _idle(page)
    _assert_inert(page, requests)
    assert dialogs == []


def test_browse_with_payload_filters_stays_inert(app_server, page):
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    # Payloads in the URL itself (a shared link) are shown as text in the search box and warnings.
    page.goto(f"{app_server.url}/?source=xss_src&q=script&sort=%3Cimg%20src%3Dx%20onerror%3D1%3E")
    page.wait_for_selector('[data-testid="stApp"]')
    _idle(page)
    expect(page.get_by_text(re.compile(r"matching records"))).to_contain_text("1 matching records")
    expect(page.get_by_text("sort='<img src=x onerror=1>' ignored", exact=False)).to_be_visible()
    _assert_inert(page, requests)
    # Filter options come from record data (agent, model): open the dropdowns and look.
    for label, payload in (("Agent", IMG), ("Model", JS_LINK)):
        page.get_by_label(label, exact=True).click()
        expect(page.get_by_role("option", name=payload)).to_be_visible()
        _assert_inert(page, requests)
        page.keyboard.press("Escape")
        expect(page.get_by_role("option")).to_have_count(0)  # closed before the next dropdown opens
