"""safe_markdown keeps an issue's formatting and code, and lets no HTML, image, or non-http(s) link through."""

import re

from hypothesis import given
from hypothesis import strategies as st

from mira_core.views.escape import WORD_JOINER
from mira_core.views.safe_markdown import safe_markdown

# A markdown link whose target survived: [text](target).
LIVE_LINK = re.compile(r"(?<!\\)\[((?:\\.|[^\[\]\\])*)(?<!\\)\]\(([^)]*)\)")


def _outside_code(md: str) -> str:
    """`md` without fenced blocks and single-line code spans (where nothing is interpreted)."""
    md = re.sub(r"(?ms)^ {0,3}(`{3,}|~{3,}).*?(^ {0,3}\1\s*$|\Z)", "", md)
    return re.sub(r"(?<![\\`])(`+)[^\n]*?(?<!`)\1(?!`)", "", md)  # an escaped backtick opens no span


def _unescaped(md: str, ch: str) -> list[int]:
    """Positions of `ch` not preceded by an odd number of backslashes."""
    return [m.start() for m in re.finditer(re.escape(ch), md)
            if (len(md[:m.start()]) - len(md[:m.start()].rstrip("\\"))) % 2 == 0]


def test_raw_html_is_escaped_and_formatting_kept():
    md = safe_markdown("**Bold** and _it_\n\n<script>window.__xss=1</script>\n\n<img src=x onerror=alert(1)>")
    assert md.startswith("**Bold** and _it_")
    assert "\\<script>window.__xss=1\\</script>" in md
    assert "\\<img src=x onerror=alert(1)>" in md


def test_links_only_http_and_https():
    assert safe_markdown("see [docs](https://example.org/a_b)") == "see [docs](https://example.org/a_b)"
    assert safe_markdown("[x](HTTP://example.org)") == "[x](HTTP://example.org)"
    for bad in ("[click](javascript:window.__xss=3)", "[d](data:text/html;base64,PHNjcmlwdD4=)",
                "[f](file:///etc/passwd)", "[r](/relative/path)", "[v](vbscript:msgbox)"):
        md = safe_markdown(bad)
        assert LIVE_LINK.search(md) is None, md
        assert re.sub(r"\\(.)", r"\1", md).replace(WORD_JOINER, "") == bad  # shown as its literal source


def test_images_never_load_they_become_text():
    md = safe_markdown("![screenshot](http://127.0.0.1:9/leak.png) and ![](https://x.org/a.png \"t\")")
    assert "![" not in md and LIVE_LINK.search(md) is None
    shown = re.sub(r"\\(.)", r"\1", md).replace(WORD_JOINER, "")
    assert shown == ("*image (not loaded): screenshot — http://127.0.0.1:9/leak.png* and "
                     "*image (not loaded): no description — https://x.org/a.png*")
    assert "http\\:" + WORD_JOINER in md  # no GFM autolink out of the shown URL


def test_references_directives_math_and_email_are_inert():
    md = safe_markdown('[ref]: javascript:alert(1)\n\n[x][ref] :red[alert] $x^2$ me@example.org')
    assert md.startswith("\\[ref\\]: javascript:alert(1)")
    assert "\\[x\\]\\[ref\\] :red\\[alert\\] \\$x^2\\$ me@" + WORD_JOINER + "example.org" in md


def test_code_is_verbatim():
    text = "Run `a <b> [c](javascript:x)`:\n\n```python\n<img src=x>\n[l](javascript:1)\n```\nafter <i>"
    md = safe_markdown(text)
    assert "`a <b> [c](javascript:x)`" in md
    assert "```python\n<img src=x>\n[l](javascript:1)\n```" in md
    assert md.endswith("after \\<i>")


def test_unclosed_fence_runs_to_the_end_and_unclosed_span_is_escaped():
    assert safe_markdown("~~~\n<b>") == "~~~\n<b>"
    assert safe_markdown("a `b <c>") == "a \\`b \\<c>"
    # A backtick fence whose info string has a backtick is no fence (CommonMark): the line is prose.
    assert safe_markdown("``` a`b\n<x>") == "\\`\\`\\` a\\`b\n\\<x>"


def test_authors_escapes_are_kept_and_cannot_unescape_ours():
    assert safe_markdown("\\*not bold\\*") == "\\*not bold\\*"
    assert safe_markdown("\\\\<img src=x>") == "\\\\\\<img src=x>"  # a literal backslash, then an escaped <


def test_control_characters_are_visible():
    assert safe_markdown("\u001b[31mred") == "␛\\[31mred"


PIECES = st.sampled_from([*"<>[]()!`~$@:/\\*_ \nab", "http://", "javascript:", "www.", "```", "](", "!["])


@given(st.lists(PIECES, max_size=40).map("".join))
def test_no_html_image_or_foreign_link_survives(text):
    md = _outside_code(safe_markdown(text))
    assert _unescaped(md, "<") == []
    for m in LIVE_LINK.finditer(md):
        assert re.fullmatch(r"(?i)https?://\S+", m.group(2)), (text, md)
    assert not re.search(r"(?<!\\)!\[", md.replace("\\\\", ""))


def test_bare_urls_and_emails_make_no_autolink():
    md = safe_markdown("see http://x.org, www.y.org and me@z.org")
    assert md == f"see http:{WORD_JOINER}//x.org, w{WORD_JOINER}ww.y.org and me@{WORD_JOINER}z.org"
