"""Make untrusted record text inert before it reaches a place Streamlit renders as markdown.

Record text is shown with `st.text`/`st.code` wherever possible. Some places only take markdown
(expander and button labels, `st.error`, subheaders); there every record-derived string goes through
`escape_markdown`, which backslash-escapes all ASCII punctuation. CommonMark turns any escaped ASCII
punctuation into the literal character, so no link, image, emphasis, HTML tag, math (`$`) or directive
(`:red[...]`) can form from it. GFM autolink literals (`http://x`, `www.x`, `a@b.c`) are found after
escapes are resolved (checked in chromium: `![](http://127.0.0.1:9/x)` escaped still became a live link),
so `://`, `www.` and `@` also get an invisible WORD JOINER (U+2060) that the autolink patterns cannot cross.
"""

from __future__ import annotations

import re
import string

_PUNCT = frozenset(string.punctuation)
WORD_JOINER = "\u2060"
_AUTOLINK = re.compile(r"(?<=:)(?=//)|(?<=\bwww)(?=\.)|(?<=@)", re.IGNORECASE)

# Bidirectional overrides can make displayed code differ from what it is ("Trojan Source").
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


def _visible(ch: str) -> str:
    code = ord(ch)
    if code < 0x20:
        return chr(0x2400 + code)  # U+2400.. "control pictures": ESC becomes ␛
    if code == 0x7F:
        return "\u2421"  # ␡
    if 0x80 <= code < 0xA0 or ch in _BIDI:
        return f"<U+{code:04X}>"
    return ch


def visible_controls(text: str, *, keep_newlines: bool = True) -> str:
    """Replace control characters (ANSI escapes, C1, bidi overrides) with visible stand-ins.

    Newlines and tabs stay (they are layout) unless `keep_newlines` is False, then they become spaces.
    A terminal escape such as ESC[31m is shown as ␛[31m instead of silently vanishing.
    """
    out = []
    for ch in text:
        if ch in "\n\t":
            out.append(ch if keep_newlines else " ")
        elif ch == "\r":
            out.append("" if keep_newlines else " ")
        elif ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 or ch in _BIDI:
            out.append(_visible(ch))
        else:
            out.append(ch)
    return "".join(out)


def escape_markdown(text: str, *, max_chars: int | None = None) -> str:
    """Single-line markdown source that renders exactly as `text` (controls made visible).

    `max_chars` truncates the plain text first (with "…"), so an escape is never cut in half.
    """
    flat = visible_controls(str(text), keep_newlines=False)
    if max_chars is not None and len(flat) > max_chars:
        flat = flat[: max(max_chars - 1, 0)] + "…"
    flat = _AUTOLINK.sub(WORD_JOINER, flat)
    return "".join("\\" + ch if ch in _PUNCT else ch for ch in flat)


def escape_badge_label(text: str, *, max_chars: int | None = None) -> str:
    """`escape_markdown` for `st.badge`, which escapes `[` and `]` itself.

    It wraps the label in a `:color-badge[...]` directive; escaping them twice would show the backslashes.
    """
    return escape_markdown(text, max_chars=max_chars).replace("\\[", "[").replace("\\]", "]")
