"""escape_markdown must leave no markdown construct alive; visible_controls must show what terminals hide."""

import re

from hypothesis import given
from hypothesis import strategies as st

from mira_core.views.escape import WORD_JOINER, escape_badge_label, escape_markdown, visible_controls

PAYLOADS = [
    "<script>window.__xss=1</script>",
    '<img src=x onerror="window.__xss=2">',
    "[click](javascript:window.__xss=3)",
    "[d](data:text/html,<script>alert(1)</script>)",
    "![](http://127.0.0.1:9/leak.png)",
    "**bold** _it_ `code` $x^2$ :red[alert] www.example.com",
]


def _unescape(md: str) -> str:
    # CommonMark: a backslash before ASCII punctuation yields the punctuation itself; word joiners are invisible.
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", md).replace(WORD_JOINER, "")


def test_every_ascii_punctuation_is_escaped():
    for p in PAYLOADS:
        md = escape_markdown(p)
        # No unescaped markdown-active character remains.
        assert not re.search(r"(?<!\\)[\[\]()<>!*_`$:]", md.replace("\\\\", "")), md
        assert _unescape(md) == p


def test_controls_made_visible_and_single_line():
    assert escape_markdown("a\nb\u001b[31mred") == "a b␛\\[31mred"
    assert visible_controls("x\u202ey") == "x<U+202E>y"
    assert visible_controls("l1\nl2\tx\r\n") == "l1\nl2\tx\n"
    assert visible_controls("\x00\x7f\x85") == "␀␡<U+0085>"


def test_truncation_happens_before_escaping():
    md = escape_markdown("[" * 10, max_chars=4)
    assert md == "\\[\\[\\[…"


@given(st.text())
def test_escape_round_trips_for_any_printable_text(s):
    flat = visible_controls(s, keep_newlines=False).replace(WORD_JOINER, "")
    assert _unescape(escape_markdown(s)) == flat


def test_autolink_literals_are_broken_by_word_joiners():
    md = escape_markdown("![](http://127.0.0.1:9/x.png) www.example.com me@example.org HTTPS://A")
    assert "://" not in md.replace("\\", "") and "http\\:" + WORD_JOINER + "\\/\\/" in md
    assert "www" + WORD_JOINER + "\\." in md
    assert "@" + WORD_JOINER + "example" in md
    assert "HTTPS\\:" + WORD_JOINER in md


def test_badge_labels_leave_brackets_to_st_badge():
    # st.badge turns "[" into "\\[" itself; everything else must still be escaped by us.
    assert escape_badge_label("[d](data:x)") == "[d]\\(data\\:x\\)"
    assert escape_badge_label("a\\[b") == "a\\\\[b"  # a literal backslash stays escaped
