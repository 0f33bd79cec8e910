"""Input files: walking the paths given, sniffing each file's framing and layout, streaming its raw items.

Sniffing reads only the head of a file and its first good item; a pretty-printed .traj or report that
has to be parsed whole is parsed once here and the parse is reused by the import (`Sniffed.whole`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mira_core.errors import ImportRejected, MiraError
from mira_core.importers import LAYOUTS, Layout, layout_by_name
from mira_core.jsonstream import JSONValue, RawItem, iter_array_elements, iter_lines, parse_json, read_whole

Container = Literal["lines", "array", "whole"]
HEAD_BYTES = 1 << 16
"""Bytes read from the start of a file to tell JSON Lines, a JSON array and one JSON document apart."""


def iter_input_files(paths: list[Path]) -> Iterator[Path]:
    """Files under `paths` (folders walked in sorted order; hidden files skipped)."""
    for p in paths:
        if p.is_dir():
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if not name.startswith(".") and name.endswith((".json", ".jsonl", ".traj")):
                        yield Path(root) / name
        elif p.exists():
            yield p
        else:
            raise MiraError(f"{p}: no such file or folder")


SNIFF_ITEMS = 100


def _first_parsed(items: Iterator[RawItem | ImportRejected]) -> JSONValue:
    """The first item that parses as JSON, tolerating up to SNIFF_ITEMS bad ones (reported later)."""
    first_error: ImportRejected | None = None
    for n, item in enumerate(items):
        if n >= SNIFF_ITEMS:
            break
        if isinstance(item, ImportRejected):
            first_error = first_error or item
            continue
        try:
            return parse_json(item.raw, item.origin)
        except ImportRejected as exc:
            first_error = first_error or exc
    if first_error is not None:
        raise first_error
    return None


@dataclass(frozen=True)
class Sniffed:
    """How a file is framed and its first good item, parsed.

    Also the whole file if it was read and parsed as one item anyway, so a .traj or report is parsed once,
    not twice.
    """

    container: Container
    first: JSONValue
    whole: RawItem | None = None


def sniff_file(path: Path, max_bytes: int) -> Sniffed:
    """Guess how the file is framed and parse its first good item (for sniffing).

    A file starting with `{` is JSON Lines when its first line parses; otherwise it is tried as one JSON
    document (a pretty-printed .traj or report), and failing that as JSON Lines whose first lines are bad.
    """
    with path.open("rb") as fh:
        head = fh.read(HEAD_BYTES).lstrip()
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:].lstrip()
    if not head:
        raise ImportRejected(str(path), "empty file: nothing to import")
    if head.startswith(b"["):
        return Sniffed("array", _first_parsed(iter_array_elements(path, max_bytes)))
    if not head.startswith(b"{"):
        raise ImportRejected(str(path), "unknown layout: the file is not JSON, JSON Lines or a JSON array")
    size = path.stat().st_size
    lines = iter_lines(path, max_bytes)
    first = next(lines, None)
    if isinstance(first, RawItem):
        try:
            obj = parse_json(first.raw, first.origin)
        except ImportRejected:
            pass
        else:
            single = size <= max_bytes and next(lines, None) is None
            return Sniffed("lines", obj, RawItem(path.read_bytes(), str(path)) if single else None)
    whole_error: ImportRejected | None = None
    if size <= max_bytes:
        raw = path.read_bytes()
        try:
            return Sniffed("whole", parse_json(raw, str(path)), RawItem(raw, str(path)))
        except ImportRejected as exc:
            whole_error = exc
    try:
        return Sniffed("lines", _first_parsed(lines))
    except ImportRejected:
        raise whole_error or ImportRejected(str(path), "no line of this file is valid JSON") from None


def choose_layout(sniffed: Sniffed, path: Path, fmt: str | None) -> Layout:
    """The layout named by `fmt`, else the first whose sniffer claims the first item."""
    if fmt:
        return layout_by_name(fmt)
    for layout in LAYOUTS:
        try:
            if layout.sniff(sniffed.first, path):
                return layout
        except Exception:  # a sniffer must never stop the import; treat as "not mine"
            continue
    known = ", ".join(lay.name for lay in LAYOUTS)
    raise ImportRejected(str(path), f"unknown layout (known: {known}); pass --format to choose one")


def detect(path: Path, max_bytes: int, fmt: str | None = None) -> tuple[Layout, Container]:
    """The layout of `path` (or the one named by `fmt`) and its container framing."""
    sniffed = sniff_file(path, max_bytes)
    return choose_layout(sniffed, path, fmt), sniffed.container


def file_items(path: Path, layout: Layout, container: Container, max_bytes: int) -> Iterator[RawItem | ImportRejected]:
    """The raw items of a file, framed as its layout and container say."""
    if layout.framing == "whole" or container == "whole":
        return read_whole(path, max_bytes)
    if container == "array":
        return iter_array_elements(path, max_bytes)
    return iter_lines(path, max_bytes)
