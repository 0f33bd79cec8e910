"""Reading and writing records. Listing and filtering touch only `records`; bodies are read one at a time.

Filters and sort orders are compiled by `record_filter`; full-text rows are kept by `search_index`; outcome
reports (and the test-report columns) are stored by `outcomes_repo`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

import pandas as pd
import zstandard
from sqlalchemy import ColumnElement, Connection, func, literal_column, select, tuple_, update
from sqlalchemy.sql.selectable import FromClause

from mira_core.dimensions import COLUMNS
from mira_core.errors import NotFoundError
from mira_core.query import RecordFilter, SortKey, search_words
from mira_core.records import Outcome, Record
from mira_core.storage import record_filter as rf
from mira_core.storage.bulk_insert import insert_ignore
from mira_core.storage.outcomes_repo import apply_known_outcomes, report_from_columns
from mira_core.storage.prepared_rows import PreparedRow, StoredItem, prepare_item
from mira_core.storage.record_counts import counted_sources, kept_count
from mira_core.storage.search_index import index_search
from mira_core.storage.tables import record_bodies, records, scores

# zstd (de)compressor objects are not thread-safe; Streamlit sessions and the worker use threads.
_ZSTD = threading.local()


def _zd() -> zstandard.ZstdDecompressor:
    if not hasattr(_ZSTD, "d"):
        _ZSTD.d = zstandard.ZstdDecompressor()
    return _ZSTD.d

LIST_COLUMNS = (
    "record_id",
    "source",
    "instance_id",
    "format",
    "outcome",
    "agent",
    "model",
    "n_steps",
    "n_errors",
    "token_estimate",
    "title",
    "synthetic",
    "imported_at",
)


class InsertCounts(dict):
    """{'inserted': n, 'present': n}."""


def insert_items(conn: Connection, items: Iterable[StoredItem]) -> dict[str, int]:
    """Insert records that are not stored yet (by record id) with their bodies and search entries.

    Runs inside the caller's transaction, so a batch is all-or-nothing and never half-written.
    Returns {'inserted': n, 'present': n}.
    """
    return insert_prepared(conn, [prepare_item(it) for it in items])


def insert_prepared(conn: Connection, rows: Iterable[PreparedRow]) -> dict[str, int]:
    """`insert_items` for rows already prepared by `prepare_item` (same semantics, same transaction rule)."""
    rows = list(rows)
    if not rows:
        return {"inserted": 0, "present": 0}
    ids = [r.record_id for r in rows]
    existing = set(conn.scalars(select(records.c.record_id).where(records.c.record_id.in_(ids))))
    fresh: dict[str, PreparedRow] = {}
    for r in rows:
        if r.record_id not in existing:
            fresh.setdefault(r.record_id, r)
    if fresh:
        now = datetime.now(UTC)
        insert_ignore(conn, records, [{**r.meta, "imported_at": now} for r in fresh.values()], ["record_id"])
        insert_ignore(conn, record_bodies, [r.body for r in fresh.values()], ["record_id"])
        index_search(conn, [r.search for r in fresh.values()])
        apply_known_outcomes(conn, list(fresh))
    return {"inserted": len(fresh), "present": len(rows) - len(fresh)}


class MatchCount(NamedTuple):
    """How many records match a filter: exactly `n`, or (not `exact`) more than `n`."""

    n: int
    exact: bool


def count_records(conn: Connection, f: RecordFilter) -> int:
    """How many records match `f` (reads no bodies; no filter or sources alone: the kept counts, no scan)."""
    sources = counted_sources(f)
    if sources is not None:
        return kept_count(conn, sources)
    return int(conn.execute(select(func.count()).select_from(records).where(*rf.where(conn, f))).scalar_one())


def count_capped(conn: Connection, f: RecordFilter, cap: int) -> MatchCount:
    """`count_records`, except that a full-text query stops counting past `cap` matches.

    Counting every match of a word found in most records reads its whole posting list (seconds at millions of
    records); past `cap` the answer is "more than `cap`" (MatchCount(cap, False)).
    """
    if not search_words(f.text):
        return MatchCount(count_records(conn, f), True)
    first = rf.first_matches(conn, f, cap + 1).subquery()
    n = int(conn.execute(select(func.count()).select_from(first)).scalar_one())
    return MatchCount(min(n, cap), n <= cap)


WALK_MIN_MATCHES = 40_000
"""SQLite: a text search matching more than Browse counts reads rows in sort order, testing each against the
text index, only if it matches at least this many (each test costs 25-100 µs; with fewer matches too few rows
pass, and reading every match, ~3 µs each, then sorting them is cheaper)."""


def _page_source(conn: Connection, f: RecordFilter, text_count: MatchCount | None, frm: FromClause,
                 expr: ColumnElement) -> tuple[FromClause, list, ColumnElement]:
    """(FROM, WHERE conditions, sort value) of a page, for how many records its text query matches.

    No count: the database chooses. Counted exactly (few): SQLite starts from the list of matches, PostgreSQL
    is kept off the ordered index (`rf.unindexed`). More than counted: PostgreSQL chooses from its statistics;
    SQLite reads the matches from the text index and sorts them (`rf.text_driven`) below WALK_MIN_MATCHES,
    or walks the sort order testing each row (`rf.text_condition(probe=True)`) above.
    """
    if text_count is None or not search_words(f.text):
        return frm, rf.where(conn, f), expr
    if text_count.exact:
        return frm, rf.where(conn, f), rf.unindexed(conn, expr)
    if conn.dialect.name != "sqlite":
        return frm, rf.where(conn, f), expr
    if count_capped(conn, f, WALK_MIN_MATCHES).exact:
        text_frm, cond = rf.text_driven(conn, f)
        return text_frm, cond, expr
    return frm, rf.where(conn, f, text_probe=True), expr


def list_records(
    conn: Connection, f: RecordFilter, *, sort: SortKey | None = None, offset: int = 0, limit: int = 50,
    total: int | None = None, text_count: MatchCount | None = None,
) -> pd.DataFrame:
    """One page of metadata rows (columns: LIST_COLUMNS) matching `f`, sorted, never reading bodies.

    With `total` (the exact count of matches, which Browse has already), a page past the middle is read from
    the other end in the reverse order and turned back: an OFFSET makes the database step over every row
    before the page, so the last page of 2.3M records stepped over 2.3M index entries instead of 50.
    `text_count` (what `count_capped` said of a text query) chooses how the text index is read: `_page_source`.
    """
    sort = sort or SortKey()
    frm, expr = rf.sort_source(sort)
    frm, cond, expr = _page_source(conn, f, text_count, frm, expr)
    descending = sort.descending
    flip = total is not None and offset > total // 2 and offset < total
    if flip and total is not None:
        limit = min(limit, total - offset)
        offset, descending = total - offset - limit, not descending
    stmt = (
        select(*[records.c[c] for c in LIST_COLUMNS])
        .select_from(frm)
        .where(*cond)
        .order_by(*rf.order(expr, descending))
        .offset(offset)
        .limit(limit)
    )
    rows = conn.execute(stmt).mappings().all()
    return pd.DataFrame(rows[::-1] if flip else rows, columns=list(LIST_COLUMNS))


def iter_record_metadata(conn: Connection, f: RecordFilter, *,
                         batch: int = 5000) -> Iterator[dict[str, Any]]:
    """Yield metadata dicts of every match in record-id order, in pages (bounded memory, for the CLI)."""
    last = ""
    while True:
        stmt = (
            select(*[records.c[c] for c in LIST_COLUMNS])
            .where(*rf.where(conn, f), records.c.record_id > last)
            .order_by(records.c.record_id)
            .limit(batch)
        )
        rows = conn.execute(stmt).mappings().all()
        if not rows:
            return
        yield from (dict(r) for r in rows)
        last = rows[-1]["record_id"]


def distinct_values(conn: Connection, column: str) -> list[str]:
    """Distinct non-null values of a small-cardinality column (source, agent, model, format)."""
    col = records.c[column]
    return list(conn.execute(select(col).distinct().where(col.is_not(None)).order_by(col)).scalars())


def token_range(conn: Connection) -> tuple[int, int]:
    """Smallest and largest token estimate in the store."""
    lo, hi = conn.execute(select(func.min(records.c.token_estimate), func.max(records.c.token_estimate))).one()
    return int(lo or 0), int(hi or 0)


def get_metadata(conn: Connection, record_id: str) -> dict:
    """The metadata row of one record."""
    row = conn.execute(select(records).where(records.c.record_id == record_id)).mappings().first()
    if row is None:
        raise NotFoundError(f"record {record_id} not found: check the id, or re-import its file")
    return dict(row)


def get_record(conn: Connection, record_id: str) -> Record:
    """The full normalized record (decompresses one body)."""
    blob = conn.execute(select(record_bodies.c.body).where(record_bodies.c.record_id == record_id)).scalar()
    if blob is None:
        raise NotFoundError(f"record {record_id} not found: check the id, or re-import its file")
    data = json.loads(_zd().decompress(blob))
    data["record_id"] = record_id
    rec = Record.model_validate(data)
    # What was joined later from other files (outcome, test counts and report file, model) lives on the
    # metadata row; it is the source of truth for them.
    meta = get_metadata(conn, record_id)
    rec.outcome = Outcome(meta["outcome"])
    rec.model = meta["model"] or rec.model
    report = report_from_columns(meta)
    if any(v is not None for v in report.model_dump().values()):
        rec.report = report
    return rec


def get_raw(conn: Connection, record_id: str) -> bytes:
    """The raw original bytes of a record, exactly as imported."""
    blob = conn.execute(select(record_bodies.c.raw).where(record_bodies.c.record_id == record_id)).scalar()
    if blob is None:
        raise NotFoundError(f"record {record_id} not found")
    return _zd().decompress(blob)


def neighbours(conn: Connection, f: RecordFilter, sort: SortKey, record_id: str, *,
               text_count: MatchCount | None = None) -> tuple[str | None, str | None]:
    """(previous id, next id) of `record_id` within filter `f` under `sort` (keyset, no full scan).

    `text_count`: what `count_capped` said of `f`'s text query, read as a page is (`_page_source`).
    """
    frm, expr = rf.sort_source(sort)
    key = rf.sort_key(conn, sort, frm, expr, record_id)
    frm, base, expr = _page_source(conn, f, text_count, frm, expr)
    pair = tuple_(expr, records.c.record_id)
    after = pair < key if sort.descending else pair > key
    before = pair > key if sort.descending else pair < key
    ids = select(records.c.record_id).select_from(frm)
    nxt = conn.execute(ids.where(*base, after).order_by(*rf.order(expr, sort.descending)).limit(1)).scalar()
    prv = conn.execute(ids.where(*base, before).order_by(*rf.order(expr, not sort.descending)).limit(1)).scalar()
    return prv, nxt


def matches(conn: Connection, f: RecordFilter, record_id: str) -> bool:
    """Whether record `record_id` matches `f` (its own row tested against the text index, never every match)."""
    stmt = select(records.c.record_id).where(records.c.record_id == record_id, *rf.where(conn, f, text_probe=True))
    return conn.execute(stmt.limit(1)).first() is not None


def latest_overall(conn: Connection, record_ids: Sequence[str]) -> dict[str, int]:
    """Latest complete student overall score of each of `record_ids` (one page; unscored ids are absent)."""
    if not record_ids:
        return {}
    stmt = select(records.c.record_id, rf.latest_overall_scalar()).where(records.c.record_id.in_(list(record_ids)))
    return {rid: int(v) for rid, v in conn.execute(stmt) if v is not None}


def latest_anchor_scores(conn: Connection, record_ids: Sequence[str]) -> dict[str, tuple[float | None, ...]]:
    """A1..A15 of each record's latest complete student score (one page; unscored ids are absent)."""
    if not record_ids:
        return {}
    inner = scores.alias("s_page")
    stmt = rf.latest_student(inner).add_columns(*(inner.c[c] for c in COLUMNS)).where(inner.c.record_id.in_(list(record_ids)))
    return {row[0]: tuple(None if v is None else float(v) for v in row[1:]) for row in conn.execute(stmt)}


def has_synthetic(conn: Connection, f: RecordFilter) -> bool:
    """True if any record matching `f` is synthetic (the pages then show a "SYNTHETIC DEMO DATA" marker).

    A text query is read from the text index's matches (`first_matches`), never by listing them all first.
    """
    stmt = rf.first_matches(conn, f, 1, also=[records.c.synthetic.is_(True)])
    return conn.execute(stmt).first() is not None


def mark_synthetic(conn: Connection, record_ids: Sequence[str]) -> int:
    """Flag records as synthetic (generated by `mira-curator demo`); returns how many rows were updated.

    The importers read the real layouts, which have no such flag, so the demo marks its records after import.
    """
    if not record_ids:
        return 0
    res = conn.execute(update(records).where(records.c.record_id.in_(list(record_ids))).values(synthetic=True))
    return int(res.rowcount or 0)


def position(conn: Connection, f: RecordFilter, sort: SortKey, record_id: str, *,
             text_count: MatchCount | None = None, limit: int | None = None) -> int:
    """How many records matching `f` come before `record_id` under `sort` (its 0-based rank; keyset count).

    `text_count` as for `neighbours`; with `limit` the count stops there (the rank is then `limit` or more).
    """
    frm, expr = rf.sort_source(sort)
    key = rf.sort_key(conn, sort, frm, expr, record_id)
    frm, base, expr = _page_source(conn, f, text_count, frm, expr)
    pair = tuple_(expr, records.c.record_id)
    before = pair > key if sort.descending else pair < key
    earlier = select(literal_column("1")).select_from(frm).where(*base, before).limit(limit).subquery()
    return int(conn.execute(select(func.count()).select_from(earlier)).scalar_one())


def count_synthetic(conn: Connection) -> int:
    """How many stored records are synthetic (demo data); `serve --demo-scores` only scores a demo-only store."""
    stmt = select(func.count()).select_from(records).where(records.c.synthetic.is_(True))
    return int(conn.execute(stmt).scalar_one())
