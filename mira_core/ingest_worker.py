"""What import worker processes run: parse, normalize, serialize, compress and hash items (no database).

`ingest` sends chunks of items here through its process pool and does the SQL itself. This module is kept
free of the storage stack (SQLAlchemy's engine and the repositories, pandas): each spawned worker imports
it before its first item, and importing `ingest` instead cost every worker ~0.8 s of start-up
(`python -X importtime`), paid again for every pool. The serial path runs the same `process_item`.
"""

from __future__ import annotations

import gc
import os
from dataclasses import dataclass
from pathlib import Path

from mira_core.errors import ImportRejected
from mira_core.importers import ItemContext, Layout, layout_by_name
from mira_core.importers.base import ItemSkipped, fix_text_tree, needs_text_fix
from mira_core.importers.summary import Rejection
from mira_core.jsonstream import JSONValue, LineSpan, RawItem, parse_json, read_span
from mira_core.records import OutcomeReport, Record
from mira_core.storage.prepared_rows import PreparedRow, StoredItem, prepare_item


def normalize_item(
    item: RawItem, layout: Layout, source: str, path: Path, parsed: JSONValue = None
) -> Record | list[OutcomeReport]:
    """Parse (unless `parsed` is given) and normalize one raw item; every failure is an ImportRejected."""
    obj = parse_json(item.raw, item.origin) if parsed is None else parsed
    altered: set[str] = set()
    if needs_text_fix(item.raw):
        try:
            obj, altered = fix_text_tree(obj)
        except RecursionError:
            raise ImportRejected(item.origin, "JSON nested too deeply") from None
    try:
        out = layout.normalize(obj, ItemContext(source=source, raw=item.raw, origin=item.origin, path=path))
    except ImportRejected:
        raise
    except RecursionError:
        raise ImportRejected(item.origin, f"{layout.name}: JSON nested too deeply") from None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise ImportRejected(item.origin, f"{layout.name}: cannot read this item ({type(exc).__name__}: {exc})") from None
    if isinstance(out, Record) and altered:
        out.altered_fields = sorted(altered)
    if isinstance(out, Record) and not out.steps and (held := _events_held(obj)):
        raise ImportRejected(item.origin, f"{layout.name}: {held} but no step could be read from them: not imported")
    if isinstance(out, list) and not out:
        raise ImportRejected(item.origin, f"{layout.name}: no instance id with an outcome or model in this item; "
                                          "is it a file of that format?")
    return out


_EVENT_KEYS = ("history", "trajectory", "messages", "events")


def _events_held(obj: JSONValue) -> str | None:
    """What an item held that should have become steps ("12 entries in 'history'"), or None when it held none.

    A record from a non-empty event list or trajectory with no steps is a failed read, not an empty success.
    """
    if isinstance(obj, list):
        return f"{len(obj)} entries" if obj else None
    if isinstance(obj, dict):
        for key in _EVENT_KEYS:
            value = obj.get(key)
            if isinstance(value, list) and value:
                return f"{len(value)} entries in {key!r}"
    return None


@dataclass(frozen=True)
class ItemResult:
    """What one item became: a row to insert, outcome reports, a rejection or a skip (exactly one)."""

    nbytes: int  # input bytes the item used (for progress)
    row: PreparedRow | None = None
    reports: list[OutcomeReport] | None = None
    rejected: Rejection | None = None
    skipped: Rejection | None = None


def process_item(item: RawItem | Rejection, layout: Layout, source: str, path: Path, parsed: JSONValue = None) -> ItemResult:
    """Everything an item needs before SQL: parse, normalize, serialize, compress, hash (pure; no database)."""
    if isinstance(item, Rejection):
        return ItemResult(0, rejected=item)
    nbytes = len(item.raw) + 1
    try:
        out = normalize_item(item, layout, source, path, parsed)
    except ItemSkipped as exc:
        return ItemResult(nbytes, skipped=Rejection(exc.where, exc.reason))
    except ImportRejected as exc:
        return ItemResult(nbytes, rejected=Rejection(exc.where, exc.reason))
    if isinstance(out, Record):
        return ItemResult(nbytes, row=prepare_item(StoredItem(out, item.raw)))
    return ItemResult(nbytes, reports=out)


ChunkEntry = RawItem | Rejection | LineSpan


def process_chunk(items: list[ChunkEntry], layout_name: str, source: str, path: Path) -> list[ItemResult]:
    """`process_item` over a chunk, in a worker process (the layout travels by name).

    Lines of a JSON Lines file arrive as spans and are read here, so their bytes never pass through the
    parent.
    """
    layout = layout_by_name(layout_name)
    ready = [it for it in items if not isinstance(it, LineSpan)]
    if len(ready) == len(items):
        return [process_item(it, layout, source, path) for it in ready]
    fd = os.open(path, os.O_RDONLY)
    try:
        return [process_item(plain_item(read_span(fd, path, it)) if isinstance(it, LineSpan) else it, layout, source, path)
                for it in items]
    finally:
        os.close(fd)


def init_worker() -> None:
    """Import workers collect garbage less often.

    They allocate millions of short-lived, cycle-free JSON containers: collecting less often saves ~8% of
    their CPU (measured on OpenHands rows). Objects loaded at start-up are frozen out of it.
    """
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def plain_item(item: RawItem | ImportRejected) -> RawItem | Rejection:
    """A reader's rejection as a plain `Rejection` (exceptions do not travel to or from workers reliably)."""
    return Rejection(item.where, item.reason) if isinstance(item, ImportRejected) else item
