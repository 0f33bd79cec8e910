"""The documented, reversible rule for text that cannot be stored as is.

SQLite truncates `length()` at NUL and PostgreSQL text rejects NUL; lone surrogates cannot be encoded as
UTF-8 at all. Normalized fields therefore replace NUL with U+2400 (SYMBOL FOR NULL) and each lone
surrogate with U+FFFD, and the record lists the altered fields in `altered_fields`. The raw original is
always stored byte-exact beside the record, so the exact text stays recoverable (`mira-curator raw ID`).
"""

from __future__ import annotations

import re

_SURROGATE = re.compile("[\ud800-\udfff]")


def make_storable(text: str) -> tuple[str, bool]:
    """Return (storable text, whether it was altered)."""
    if "\x00" not in text and not _SURROGATE.search(text):
        return text, False
    return _SURROGATE.sub("\ufffd", text.replace("\x00", "\u2400")), True
