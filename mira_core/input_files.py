"""Input files: walking the paths given, sniffing each file's framing and layout, streaming its raw items.

Sniffing reads only the head of a file and its first good item; a pretty-printed .traj or report that
has to be parsed whole is parsed once here and the parse is reused by the import (`Sniffed.whole`).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mira_core.errors import ImportRejected
from mira_core.importers import LAYOUTS, Layout, layout_by_name
from mira_core.jsonstream import (
    JSONValue,
    RawItem,
    iter_array_elements,
    iter_lines,
    open_input,
    parse_json,
    read_limited,
    read_whole,
    too_large,
)

Container = Literal["lines", "array", "whole"]
HEAD_BYTES = 1 << 16
"""Bytes read from the start of a file to tell JSON Lines, a JSON array and one JSON document apart."""


INPUT_SUFFIXES = tuple(ext + z for ext in (".json", ".jsonl", ".traj") for z in ("", ".gz", ".zst"))
"""Names read from a folder; a file named on the command line is read whatever its name."""


@dataclass(frozen=True)
class InputFile:
    """A regular file to import and its size on disk (for progress)."""

    path: Path
    size: int


@dataclass(frozen=True)
class FileProblem:
    """A path that is not imported: a problem (`skipped` False: broken link, FIFO, unreadable) or a file passed over."""

    path: Path
    reason: str
    skipped: bool = False


_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def _not_regular(mode: int) -> str | None:
    """Why a file of this mode is not read (None for a regular file): opening a FIFO or device can block forever."""
    if stat.S_ISREG(mode):
        return None
    kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    return f"{kind}, not a regular file: skipped without opening it"


def probe(path: Path) -> InputFile | FileProblem:
    """A path checked before any read: it exists, can be opened for reading, and is a regular file.

    The type is checked before and after a non-blocking open, so a FIFO or device is never read from.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            return FileProblem(path, f"broken symbolic link (its target {os.readlink(path)} does not exist)")
        return FileProblem(path, "no such file or folder")
    except OSError as exc:
        return FileProblem(path, f"cannot read: {exc.strerror or exc}")
    if (why := _not_regular(st.st_mode)) is not None:
        return FileProblem(path, why)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # never blocks, even if a FIFO was swapped in
    except OSError as exc:
        return FileProblem(path, f"cannot read: {exc.strerror or exc}")
    try:
        st = os.fstat(fd)
    finally:
        os.close(fd)
    why = _not_regular(st.st_mode)
    return FileProblem(path, why) if why else InputFile(path, st.st_size)


def _walk(folder: Path) -> Iterator[InputFile | FileProblem]:
    """Files under a folder in sorted order; hidden files and folders are left out, everything else is accounted for."""
    errors: list[OSError] = []
    for root, dirs, files in os.walk(folder, onerror=errors.append):
        while errors:
            err = errors.pop(0)
            yield FileProblem(Path(err.filename or root), f"cannot list this folder: {err.strerror or err}")
        for d in sorted(dirs):
            if not d.startswith(".") and os.path.islink(Path(root) / d):
                yield FileProblem(Path(root) / d, "symbolic link to a folder: not followed (name it to import it)", True)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            path = Path(root) / name
            if name.endswith(INPUT_SUFFIXES):
                yield probe(path)
            else:
                yield FileProblem(path, "not an input file name (.json, .jsonl, .traj, optionally .gz or .zst); "
                                        "name the file itself to import it", True)
    for err in errors:
        yield FileProblem(Path(err.filename or folder), f"cannot list this folder: {err.strerror or err}")


def iter_input_files(paths: list[Path]) -> Iterator[InputFile | FileProblem]:
    """Every file under `paths` to import, and every path that will not be, with the reason."""
    for p in paths:
        if p.is_dir():
            yield from _walk(p)
        else:
            yield probe(p)


SNIFF_ITEMS = 100


def _first_parsed(items: Iterator[RawItem | ImportRejected], first_error: ImportRejected | None = None) -> JSONValue:
    """The first item that parses as JSON, tolerating up to SNIFF_ITEMS bad ones (reported later).

    With no good item, the first problem is raised (a line over the size limit says so, not "unknown layout").
    """
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
    with open_input(path) as fh:
        head = fh.read(HEAD_BYTES).lstrip()
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:].lstrip()
    if not head:
        raise ImportRejected(str(path), "empty file: nothing to import")
    if head.startswith(b"["):
        return Sniffed("array", _first_parsed(iter_array_elements(path, max_bytes)))
    if not head.startswith(b"{"):
        raise ImportRejected(str(path), "unknown layout: the file is not JSON, JSON Lines or a JSON array")
    lines = iter_lines(path, max_bytes)
    first = next(lines, None)
    if isinstance(first, RawItem):
        try:
            obj = parse_json(first.raw, first.origin)
        except ImportRejected:
            pass
        else:
            single = next(lines, None) is None
            whole = read_limited(path, max_bytes) if single else None
            return Sniffed("lines", obj, RawItem(whole, str(path)) if isinstance(whole, bytes) else None)
    return _sniff_document_or_lines(path, max_bytes, first, lines)


def _sniff_document_or_lines(path: Path, max_bytes: int, first: RawItem | ImportRejected | None,
                             lines: Iterator[RawItem | ImportRejected]) -> Sniffed:
    """A file whose first line is not JSON on its own: one JSON document, else JSON Lines with bad first lines."""
    whole = read_limited(path, max_bytes)
    whole_error: ImportRejected | None = None
    if isinstance(whole, bytes):
        try:
            return Sniffed("whole", parse_json(whole, str(path)), RawItem(whole, str(path)))
        except ImportRejected as exc:
            whole_error = exc
    else:
        whole_error = ImportRejected(str(path), too_large(whole, max_bytes, "file") + ", and no line of it is a "
                                     "JSON value on its own: a single JSON document this large cannot be imported")
    line_error = first if isinstance(first, ImportRejected) else None
    try:
        return Sniffed("lines", _first_parsed(lines, line_error))
    except ImportRejected as exc:
        raise (line_error or whole_error or exc) from None


def choose_layout(sniffed: Sniffed, path: Path, fmt: str | None) -> Layout:
    """The layout named by `fmt`, else the first whose sniffer claims the first item.

    A forced layout that does not claim the file while another one does is refused: that is a file of
    another kind passed along with the ones `--format` was meant for (trajectories beside a results file).
    """
    claimed = next((lay for lay in LAYOUTS if _claims(lay, sniffed.first, path)), None)
    if fmt:
        forced = layout_by_name(fmt)
        if claimed is not None and claimed is not forced and not _claims(forced, sniffed.first, path):
            raise ImportRejected(str(path), f"--format {fmt} does not fit this file: it is {claimed.name} "
                                            f"({claimed.description}); import it without --format, or separately")
        return forced
    if claimed is not None:
        return claimed
    known = ", ".join(lay.name for lay in LAYOUTS)
    raise ImportRejected(str(path), f"unknown layout (known: {known}); pass --format to choose one")


def _claims(layout: Layout, first: JSONValue, path: Path) -> bool:
    try:
        return bool(layout.sniff(first, path))
    except Exception:  # a sniffer must never stop the import; treat as "not mine"
        return False


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
