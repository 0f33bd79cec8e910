"""Sign-in in chromium against a real OIDC provider (oidc-provider-mock on loopback): nothing of the corpus
before sign-in, the stored role after it, "ask an admin" for strangers, and sign-out back to the start."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

import numpy as np
import pytest
from sqlalchemy import text

from mira_core.bench.processes import free_port
from mira_core.identity import Role
from mira_core.reliability import create_spot_check
from mira_core.storage import migrate, spot_checks_repo
from mira_core.storage.annotations_repo import get_annotation
from mira_core.storage.engine import Engine, make_engine, read_conn, write_tx
from mira_core.team import add_user, cli_operator, list_changes
from tests.app.builders import import_messages, messages_row
from tests.browser.conftest import serve_app, wait_idle
from tests.reliability.builders import add_scores

pytestmark = pytest.mark.browser

CURATOR, VIEWER, STRANGER_SUB = "curator@example.org", "viewer@example.org", "stranger-sub-42"
CURATOR2 = "second.curator@example.org"


@dataclass
class SignInServer:
    url: str
    eng: Engine
    record_id: str
    instance_ids: list[str]
    other_record_id: str
    spot_check_id: str


@pytest.fixture(scope="module")
def signin_server(tmp_path_factory):
    import oidc_provider_mock

    tmp = tmp_path_factory.mktemp("signin")
    db_url = f"sqlite:///{tmp / 'signin.sqlite'}"
    eng = make_engine(db_url)
    migrate.upgrade(eng)
    import_messages(eng, tmp, [messages_row(1), messages_row(2), messages_row(3)])
    with write_tx(eng) as conn:
        add_user(conn, cli_operator("ops"), CURATOR, Role.curator)
        add_user(conn, cli_operator("ops"), VIEWER, Role.viewer)
        add_user(conn, cli_operator("ops"), CURATOR2, Role.curator)
    with read_conn(eng) as conn:
        rows = conn.execute(text("SELECT record_id, instance_id FROM records ORDER BY instance_id")).all()
    add_scores(eng, [r[0] for r in rows], np.full((len(rows), 15), 5.0), judge="stud")
    with write_tx(eng) as conn:
        sid = create_spot_check(conn, source="swe_qa", slot="A3", size=2, actor=cli_operator("ops"))
    people = [oidc_provider_mock.User(sub=who, claims={"email": who, "email_verified": True})
              for who in (CURATOR, VIEWER, CURATOR2)]
    people.append(oidc_provider_mock.User(sub=STRANGER_SUB, claims={}))  # no email: known by its sub
    with oidc_provider_mock.run_server_in_thread(user_claims=people) as oidc:
        port = free_port()
        secrets_file = tmp / "secrets.toml"  # the project's own .streamlit/ is left alone
        secrets_file.write_text(
            "[auth]\n"
            f'redirect_uri = "http://localhost:{port}/oauth2callback"\n'
            f'cookie_secret = "{secrets.token_hex(16)}"\n'
            'client_id = "mira-test"\nclient_secret = "mira-test-secret"\n'
            f'server_metadata_url = "http://127.0.0.1:{oidc.server_port}/.well-known/openid-configuration"\n')
        with serve_app(db_url, tmp, port=port, extra_args=["--secrets.files", str(secrets_file)]):
            # The browser must use the redirect URI's host, or the sign-in cookie is not sent back.
            yield SignInServer(f"http://localhost:{port}", eng, rows[0][0], [r[1] for r in rows], rows[1][0],
                               sid)
    eng.dispose()


def _open(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector('[data-testid="stApp"]')
    wait_idle(page)


def _sign_in(page, server: SignInServer, sub: str) -> None:
    from playwright.sync_api import expect

    _open(page, server.url + "/")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name=sub, exact=True).click()  # the provider's form: a button per known user
    expect(page).to_have_url(re.compile(re.escape(server.url)))
    page.wait_for_selector('[data-testid="stApp"]')
    wait_idle(page)


def test_not_signed_in_sees_only_the_sign_in_page_and_no_record_reaches_the_browser(signin_server, page):
    from playwright.sync_api import expect

    frames: list[bytes | str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(f)))
    for path in ("/", "/record?id=" + signin_server.record_id, "/activity"):
        _open(page, signin_server.url + path)
        expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    body = page.locator("body").inner_text()
    assert "matching records" not in body and "Browse" not in body and "Activity" not in body
    assert frames, "the websocket carried no messages: the check below would prove nothing"
    received = b"".join(f if isinstance(f, bytes) else f.encode() for f in frames)
    for instance_id in signin_server.instance_ids:
        assert instance_id not in body
        assert instance_id.encode() not in received
    assert signin_server.record_id.encode() not in received.replace(b"id=" + signin_server.record_id.encode(), b"")


def test_a_curator_browses_and_tags_a_record_under_their_email(signin_server, page):
    from playwright.sync_api import expect

    _sign_in(page, signin_server, CURATOR)
    expect(page.get_by_text(re.compile(r"matching records"))).to_contain_text("3 matching records")
    assert f"Signed in as {CURATOR} · curator" in _sidebar_text(page)
    _add_tag(page, signin_server, "needs-review")
    expect(page.get_by_text(re.compile(r"Saved \(version 1\)"))).to_be_visible()
    with read_conn(signin_server.eng) as conn:
        changes = list_changes(conn, actors=[CURATOR], kinds=["tag.add"], record_id=signin_server.record_id)
        assert "needs-review" in get_annotation(conn, signin_server.record_id).tags
    assert [(c.actor, c.via) for c in changes] == [(CURATOR, "web")]


def test_a_viewer_sees_the_record_but_the_core_refuses_the_tag(signin_server, page):
    from playwright.sync_api import expect

    _sign_in(page, signin_server, VIEWER)
    assert f"Signed in as {VIEWER} · viewer" in _sidebar_text(page)
    _add_tag(page, signin_server, "viewer-tag")
    expect(page.get_by_text(re.compile("needs the curator role"))).to_be_visible()
    with read_conn(signin_server.eng) as conn:
        assert list_changes(conn, actors=[VIEWER]) == []
        assert "viewer-tag" not in get_annotation(conn, signin_server.record_id).tags


def test_a_person_not_on_the_list_is_asked_to_see_an_admin_then_signs_out(signin_server, page):
    from playwright.sync_api import expect

    _sign_in(page, signin_server, STRANGER_SUB)
    expect(page.get_by_text(re.compile(rf"ask an admin to add you \(your id: {STRANGER_SUB}\)"))).to_be_visible()
    assert "matching records" not in page.locator("body").inner_text()
    _sign_out(page, signin_server)


def test_sign_out_returns_to_the_sign_in_page(signin_server, page):
    from playwright.sync_api import expect

    _sign_in(page, signin_server, CURATOR)
    expect(page.get_by_text(re.compile(r"matching records"))).to_be_visible()
    _sign_out(page, signin_server)
    _open(page, signin_server.url + "/")  # a new session: the identity cookie is gone
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.get_by_text(re.compile(r"matching records"))).to_have_count(0)


def test_two_curators_edit_one_record_and_the_second_is_told_who_saved_first(signin_server, page, browser):
    from playwright.sync_api import expect

    other = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        second = other.new_page()
        second.set_default_timeout(20_000)
        _sign_in(page, signin_server, CURATOR)
        _sign_in(second, signin_server, CURATOR2)
        rid = signin_server.other_record_id
        _open_annotation(page, signin_server, rid)  # both read version 0
        _open_annotation(second, signin_server, rid)
        _tag_and_save(second, "second-first")
        expect(second.get_by_text(re.compile(r"Saved \(version 1\)"))).to_be_visible()
        _tag_and_save(page, "first-late")
        conflict = page.get_by_text(re.compile(r"was changed by"))
        expect(conflict).to_be_visible()
        assert f"was changed by {CURATOR2}" in conflict.inner_text().replace("\u2060", "")
    finally:
        other.close()
    with read_conn(signin_server.eng) as conn:
        saved = get_annotation(conn, rid)
        assert (saved.tags, saved.updated_by) == (["second-first"], CURATOR2)  # the late save wrote nothing
        assert [c.actor for c in list_changes(conn, record_id=rid, kinds=["tag.add"])] == [CURATOR2]


def test_two_curators_review_one_spot_check_blind(signin_server, page, browser):
    """Each answers under their own name; the second sees that someone answered, not what, until they have."""
    from playwright.sync_api import expect

    other = browser.new_context(viewport={"width": 1400, "height": 1000})
    url = f"{signin_server.url}/spot_check?id={signin_server.spot_check_id}"
    try:
        second = other.new_page()
        second.set_default_timeout(20_000)
        _sign_in(page, signin_server, CURATOR)
        _open(page, url)
        page.get_by_label("Note (optional)").fill("first-reviewer-note")
        page.get_by_label("Note (optional)").press("Enter")
        wait_idle(page)
        page.get_by_role("button", name=re.compile("^8")).first.click()
        expect(page.get_by_text("1 of 2 answered by you")).to_be_visible()
        frames: list[bytes | str] = []
        second.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(f)))
        _sign_in(second, signin_server, CURATOR2)
        _open(second, url)
        expect(second.get_by_text("1 reviewer answered this item already")).to_be_visible()
        expect(second.get_by_text("0 of 2 answered by you")).to_be_visible()
        received = b"".join(f if isinstance(f, bytes) else f.encode() for f in frames)
        assert b"first-reviewer-note" not in received and "first-reviewer-note" not in second.content()
        second.get_by_role("button", name=re.compile("^3")).first.click()
        expect(second.get_by_text("1 of 2 answered by you")).to_be_visible()
        second.get_by_role("button", name=re.compile("^Previous")).click()
        expect(second.get_by_text("Other reviewers' answers")).to_be_visible()
        expect(second.get_by_text("Your answer: 3.")).to_be_visible()
    finally:
        other.close()
    with read_conn(signin_server.eng) as conn:
        answers = sorted(c.actor for c in list_changes(conn, kinds=["spot_check.answer"]))
        scores = spot_checks_repo.item_answers(conn, signin_server.spot_check_id, 0)
    assert answers == [CURATOR, CURATOR2]
    assert scores[["reviewer", "human_score"]].values.tolist() == [[CURATOR, 8], [CURATOR2, 3]]


def _open_annotation(page, server: SignInServer, record_id: str) -> None:
    _open(page, f"{server.url}/record?id={record_id}")
    page.get_by_role("tab", name="Annotation").click()


def _tag_and_save(page, tag: str) -> None:
    tags = page.locator('[data-testid="stMultiSelect"]').filter(has_text="Tags").locator("input")
    tags.fill(tag)
    tags.press("Enter")
    tags.press("Escape")
    page.get_by_role("button", name=re.compile("Save annotation")).click()


def _sidebar_text(page) -> str:
    """The sidebar's text without the word joiner that keeps an email from becoming a mailto link."""
    return page.locator('[data-testid="stSidebar"]').inner_text().replace("\u2060", "")


def _add_tag(page, server: SignInServer, tag: str) -> None:
    _open(page, f"{server.url}/record?id={server.record_id}")
    page.get_by_role("tab", name="Annotation").click()
    tags = page.locator('[data-testid="stMultiSelect"]').filter(has_text="Tags").locator("input")
    tags.fill(tag)
    tags.press("Enter")
    tags.press("Escape")  # close the open option list: while it is open the rest of the page is hidden from roles
    page.get_by_role("button", name=re.compile("Save annotation")).click()


def _sign_out(page, server: SignInServer) -> None:
    from playwright.sync_api import expect

    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="End session").click()  # the provider's RP-initiated logout page
    expect(page).to_have_url(re.compile(re.escape(server.url)))
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
