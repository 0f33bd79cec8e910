"""A real `streamlit run` server on a filled temp database, and a Debian chromium driven by Playwright.

Both are session-scoped: the server starts once (~3 s) and every browser test gets a fresh page.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from mira_core.bench.processes import CHROMIUM, CHROMIUM_ARGS, serve
from mira_core.storage import migrate
from mira_core.storage.engine import make_engine
from tests.app.builders import import_messages, insert_records, long_record, messages_row
from tests.browser.payloads import xss_record


@contextmanager
def serve_app(db_url: str, tmp: Path, extra_env: dict[str, str] | None = None, *, port: int | None = None,
              extra_args: Sequence[str] = ()) -> Iterator[str]:
    """Run `streamlit run app/main.py` on `db_url` until the block ends; yields its base URL once healthy.

    Other browser tests can reuse it with their own database (log in `tmp/server.log`); `port` when the
    test must know it beforehand (a sign-in redirect URI), `extra_args` for more `streamlit run` options.
    """
    env = {"MIRA_DATABASE_URL": db_url, "MIRA_EXPORT_DIR": str(tmp / "exports"), **(extra_env or {})}
    with serve("app/main.py", env, tmp / "server.log", port=port, extra_args=extra_args) as served:
        yield served.url


class Server:
    """Where the app listens, and the ids of the records the tests look for."""

    def __init__(self, url: str, xss_id: str, big_id: str):
        self.url = url
        self.xss_id = xss_id
        self.big_id = big_id


@pytest.fixture(scope="session")
def app_server(tmp_path_factory):
    """Migrate and fill a temp DB, start `streamlit run app/main.py` on it, wait for health, stop at the end."""
    tmp = tmp_path_factory.mktemp("browser")
    db_url = f"sqlite:///{tmp / 'mira.sqlite'}"
    eng = make_engine(db_url)
    migrate.upgrade(eng)
    import_messages(eng, tmp, [
        messages_row(1, resolved=True),
        messages_row(2, resolved=False, issue="Crash in tokenizer when input is empty", n_tools=2),
        messages_row(3),
    ])
    big, xss = long_record(synthetic=False), xss_record()
    insert_records(eng, [big, xss])
    eng.dispose()

    with serve_app(db_url, tmp) as base:
        yield Server(base, xss.record_id, big.record_id)


@pytest.fixture(scope="session")
def browser():
    """One headless Debian chromium for the session."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not found: `make test` installs Debian's chromium")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=15_000)  # 2 shared cores: a rerun can take seconds while other suites run
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A fresh browser context and page per test."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    p = ctx.new_page()
    p.set_default_timeout(20_000)
    yield p
    ctx.close()


def wait_idle(page) -> None:
    """The script run is over (Streamlit marks the app root with its script state)."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')


def press_shortcut(page, key: str, button: str, then) -> None:
    """Press `key` once the script run is over and the button it triggers (name matching the regex
    `button`) is enabled, then wait for `then`: a key pressed mid-run can be lost."""
    import re

    from playwright.sync_api import expect

    wait_idle(page)
    expect(page.get_by_role("button", name=re.compile(button)).first).to_be_enabled()
    page.keyboard.press(key)
    expect(then).to_be_visible(timeout=15_000)
