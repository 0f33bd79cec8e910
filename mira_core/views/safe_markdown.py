"""Untrusted markdown (an issue's text) made safe for `st.markdown`: formatting stays, nothing live gets in.

Issue text is written in GitHub markdown, so showing it as plain text hides its structure (literal `**`).
`safe_markdown` keeps emphasis, headings, lists, tables and code, and rewrites everything that could
reach out or execute:

- raw HTML is shown as text (`<` is backslash-escaped outside code, so no tag or HTML block can start);
- a link stays a link only when its target is `http(s)://`; any other link is shown as its literal source;
- an image is never loaded: it becomes the text "image (not loaded): alt — url";
- reference definitions, footnotes and Streamlit directives (`:red[...]`) cannot form (`[` and `]` are
  escaped); `$` is escaped (no math); `@`, `://` and `www.` get an invisible WORD JOINER so GFM makes no
  autolink: the only links are the ones the author wrote as `[text](http...)`.

Code (fenced blocks and single-line spans) is left verbatim: a renderer never interprets inside it.
Streamlit's `st.markdown` without `unsafe_allow_html` drops raw HTML anyway; this is the layer that also
covers links, images and what the curator reads.
"""

from __future__ import annotations

import re

from mira_core.views.escape import WORD_JOINER, escape_markdown, visible_controls

_FENCE_OPEN = re.compile(r"^ {0,3}(?P<fence>`{3,}(?=[^`]*$)|~{3,})")
_ESCAPE = frozenset("<[]$")
_TARGET = r"\(\s*<?(?P<url>[^\s()<>]*)>?(?:\s+\"[^\"\n]*\")?\s*\)"
_IMAGE = re.compile(r"!\[(?P<text>[^\[\]\n]*)\]" + _TARGET)
_LINK = re.compile(r"\[(?P<text>[^\[\]\n]*)\]" + _TARGET)
_HTTP = re.compile(r"https?://[^\s<>\"'`\\()\[\]{}]+", re.IGNORECASE)
_ESCAPE_PAIR = re.compile(r"\\[!-/:-@\[-`{-~]")


def safe_markdown(text: str) -> str:
    """Markdown source that renders `text`'s formatting with no HTML, no image load and only http(s) links.

    Control characters are made visible first (an ANSI escape shows as ␛[31m).
    """
    lines = visible_controls(text).split("\n")
    out: list[str] = []
    prose: list[str] = []
    i = 0
    while i < len(lines):
        opening = _FENCE_OPEN.match(lines[i])
        if opening is None:
            prose.append(lines[i])
            i += 1
            continue
        out.extend(_prose_lines(prose))
        prose = []
        end = _fence_end(lines, i + 1, opening.group("fence"))
        out.extend(lines[i:end])  # the fenced block verbatim: code is never interpreted
        i = end
    out.extend(_prose_lines(prose))
    return "\n".join(out)


def _fence_end(lines: list[str], start: int, fence: str) -> int:
    """Index after the closing fence (same character, at least as long), or len(lines) when unclosed."""
    closing = re.compile(r"^ {0,3}" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}\s*$")
    for j in range(start, len(lines)):
        if closing.match(lines[j]):
            return j + 1
    return len(lines)


def _prose_lines(lines: list[str]) -> list[str]:
    return [_prose(line) for line in lines]


def _prose(line: str) -> str:
    """One line outside fenced code: code spans verbatim, links checked, images and HTML made text."""
    out: list[str] = []
    i = 0
    while i < len(line):
        ch = line[i]
        pair = _ESCAPE_PAIR.match(line, i)
        if pair:  # the author's own escape: the character after it is already literal
            out.append(pair.group())
            i = pair.end()
        elif ch == "`":
            i = _code_span(line, i, out)
        elif ch == "!" and (m := _IMAGE.match(line, i)):
            out.append(_image(m.group("text"), m.group("url")))
            i = m.end()
        elif ch == "[" and (m := _LINK.match(line, i)):
            out.append(_link(m.group(), m.group("text"), m.group("url")))
            i = m.end()
        else:
            out.append(_plain(line, i))
            i += 1
    return "".join(out)


def _code_span(line: str, i: int, out: list[str]) -> int:
    """Append the code span starting at `i` verbatim (or its backticks escaped when it never closes)."""
    n = len(line[i:]) - len(line[i:].lstrip("`"))
    run = line[i:i + n]
    close = re.compile(r"(?<!`)" + run + r"(?!`)")
    m = close.search(line, i + n)
    if m is None:
        out.append("\\`" * n)
        return i + n
    out.append(line[i:m.end()])
    return m.end()


def _plain(line: str, i: int) -> str:
    ch = line[i]
    if ch in _ESCAPE:
        return "\\" + ch
    if ch == "@" or (ch == ":" and line.startswith("//", i + 1)):
        return ch + WORD_JOINER  # no GFM autolink: an email would be a mailto: link, a URL a link nobody wrote
    if ch in "wW" and line[i:i + 4].lower() == "www." and (i == 0 or not line[i - 1].isalnum()):
        return ch + WORD_JOINER
    return ch


def _image(alt: str, url: str) -> str:
    shown = f"image (not loaded): {alt or 'no description'}" + (f" — {url}" if url else "")
    return "*" + escape_markdown(shown) + "*"


def _link(source: str, text: str, url: str) -> str:
    if _HTTP.fullmatch(url):
        return f"[{escape_markdown(text) or escape_markdown(url)}]({url})"
    return escape_markdown(source)
