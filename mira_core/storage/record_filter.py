"""The filter compiler: a `RecordFilter` becomes WHERE conditions on `records`, a `SortKey` an ORDER BY.

Every listing, count, keyset step (neighbours, position) and bulk action compiles its filter here, so they
all agree on which records match and in which order.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import (
    ColumnElement,
    Connection,
    DateTime,
    Integer,
    Select,
    and_,
    column,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.sql.selectable import FromClause, NamedFromClause

from mira_core.dimensions import column_of
from mira_core.errors import NotFoundError
from mira_core.query import RecordFilter, SortKey, search_words
from mira_core.storage.spot_checks_repo import spot_checked_ids
from mira_core.storage.tables import annotations_table, record_tags, records, scores


def _fts_match(query: str) -> TextClause:
    """SQLite: the FTS5 MATCH of every word of `query` (each quoted: no FTS5 syntax from the search box)."""
    match = " AND ".join('"' + w + '"' for w in search_words(query))
    return text("records_fts MATCH :q").bindparams(q=match)


def text_condition(conn: Connection, query: str, *, probe: bool = False) -> ColumnElement:
    """`records` rows matching a full-text query (each word must occur).

    SQLite: rowids straight from the FTS5 index (its rows share their record's rowid), ~8x faster for a
    frequent word than fetching each match's record id from the FTS content table. SQLite builds the whole
    list of matching rowids before reading a row (1 s for a word in 660K records), so with `probe` the
    condition is instead a lookup of the row's own rowid in the index: a page sorted by an index then reads
    rows in order and stops after its 50, which is what a word in many records wants (and what a rare word,
    whose list is short, does not). PostgreSQL plans both forms as the same semi-join and picks the order
    from its statistics.
    """
    words = search_words(query)
    if conn.dialect.name == "sqlite":
        fts_rowid: ColumnElement = literal_column("records_fts.rowid")
        if probe:
            return select(literal_column("1")).select_from(text("records_fts")).where(
                _fts_match(query), fts_rowid == literal_column("records.rowid")).exists()
        rowids: Select = select(fts_rowid).select_from(text("records_fts")).where(_fts_match(query))
        return literal_column("records.rowid").in_(rowids)
    ids: Select = select(literal_column("record_id")).select_from(text("record_search")).where(_ts_match(words))
    return records.c.record_id.in_(ids)


def _ts_match(words: list[str]) -> TextClause:
    """PostgreSQL: the tsquery of every word (as a prefix) against `record_search.doc`."""
    tsq = " & ".join("'" + w.replace("'", "''").replace("\\", "") + "':*" for w in words)
    return text("doc @@ to_tsquery('simple', :q)").bindparams(q=tsq)


def text_driven(conn: Connection, f: RecordFilter, *, also: Sequence[ColumnElement] = ()) -> tuple[FromClause, list]:
    """SQLite: (FROM, WHERE) that read `f`'s text matches from the FTS5 index, each match's record by rowid.

    `+ 0` keeps the FTS side from being probed by rowid, so SQLite cannot start from an index on `records`
    (the source's, say) and look each row up in the text index: it reads the matches first and can stop
    after a LIMIT instead of listing them all (`text_condition`'s IN list).
    """
    fts = table("records_fts", column("rowid"))
    frm = fts.join(records, literal_column("records.rowid") == fts.c.rowid + 0)
    return frm, [_fts_match(f.text), *where(conn, f.model_copy(update={"text": ""})), *also]


def first_matches(conn: Connection, f: RecordFilter, limit: int, *, also: Sequence[ColumnElement] = ()) -> Select:
    """At most `limit` rows, one per record matching `f` and `also`, in no order (what a capped count counts).

    A text query is read from the text index's matches, so the query stops after `limit` matches instead of
    listing every match first: a text query alone from the index alone (PostgreSQL's search rows are deleted
    with their records; SQLite's are checked against them at every start, `search_index.search_rows_aligned`),
    with other conditions on SQLite through `text_driven`.
    """
    one: ColumnElement = literal_column("1")
    rest = [*where(conn, f.model_copy(update={"text": ""})), *also]
    sqlite_db = conn.dialect.name == "sqlite"
    if search_words(f.text) and not rest:  # the index alone: reading each match's record cost ~7 µs a match
        match = _fts_match(f.text) if sqlite_db else _ts_match(search_words(f.text))
        return select(one).select_from(text("records_fts" if sqlite_db else "record_search")).where(match).limit(limit)
    if search_words(f.text) and sqlite_db:
        frm, cond = text_driven(conn, f, also=also)
        return select(one).select_from(frm).where(*cond).limit(limit)
    return select(one).select_from(records).where(*where(conn, f), *also).limit(limit)


def latest_student(inner: NamedFromClause) -> Select:
    """Scores of `inner` (an alias of `scores`) that are their record's latest complete student score.

    "Latest" is the same everywhere (selection, Browse): newest created_at, then highest score_id. Written
    as NOT EXISTS (a newer one) so the caller's conditions on `inner` cut rows first and the database can
    anti-join; the probe uses ix_scores_record_id_judge_kind_complete_created_at_score_id (migration 0005).
    """
    s2 = scores.alias(f"{inner.name}_newer")
    newer = select(s2.c.score_id).where(
        s2.c.record_id == inner.c.record_id, s2.c.judge_kind == "student", s2.c.complete.is_(True),
        or_(s2.c.created_at > inner.c.created_at,
            and_(s2.c.created_at == inner.c.created_at, s2.c.score_id > inner.c.score_id)),
    ).correlate(inner)
    return select(inner.c.record_id).where(
        inner.c.judge_kind == "student", inner.c.complete.is_(True), ~newer.exists()
    )


def latest_overall_scalar() -> ColumnElement:
    """Correlated scalar: the latest complete student score's overall of the outer `records` row (or NULL)."""
    s2 = scores.alias("s_sort")
    return (
        select(s2.c.overall)
        .where(s2.c.record_id == records.c.record_id, s2.c.judge_kind == "student", s2.c.complete.is_(True))
        .order_by(s2.c.created_at.desc(), s2.c.score_id.desc())
        .limit(1)
        .correlate(records)
        .scalar_subquery()
    )


def _column_conditions(f: RecordFilter) -> list:
    """Conditions on the `records` row's own columns."""
    cond: list = []
    if f.sources:
        cond.append(records.c.source.in_(f.sources))
    if f.outcomes:
        cond.append(records.c.outcome.in_([o.value for o in f.outcomes]))
    if f.agents:
        cond.append(records.c.agent.in_(f.agents))
    if f.models:
        cond.append(records.c.model.in_(f.models))
    if f.formats:
        cond.append(records.c.format.in_(f.formats))
    if f.min_tokens is not None:
        cond.append(records.c.token_estimate >= f.min_tokens)
    if f.max_tokens is not None:
        cond.append(records.c.token_estimate <= f.max_tokens)
    return cond


def _curation_conditions(f: RecordFilter) -> list:
    """Tags (ALL of them: one indexed IN per tag), overrides and spot checks."""
    cond: list = []
    for tag in dict.fromkeys(f.tags):
        cond.append(records.c.record_id.in_(select(record_tags.c.record_id).where(record_tags.c.tag == tag)))
    if f.override is not None:
        ann = annotations_table.c
        if f.override in ("force_keep", "force_drop"):
            cond.append(records.c.record_id.in_(select(ann.record_id).where(ann.override == f.override)))
        else:
            overridden = select(ann.record_id).where(ann.override.in_(("force_keep", "force_drop")))
            cond.append(records.c.record_id.in_(overridden) if f.override == "any"
                        else records.c.record_id.not_in(overridden))
    if f.spot_check is not None:
        reviewed = {"reviewed": True, "not_reviewed": False}.get(f.spot_check)
        checked = spot_checked_ids(reviewed=reviewed)
        cond.append(records.c.record_id.in_(checked))
    return cond


def _score_conditions(f: RecordFilter, sqlite_db: bool = False) -> list:
    """Scored or not, and bounds on the latest complete student score."""
    cond: list = []
    if f.scored is not None:
        has = select(scores.c.record_id).where(scores.c.judge_kind == "student", scores.c.complete.is_(True))
        cond.append(records.c.record_id.in_(has) if f.scored else records.c.record_id.not_in(has))
    if f.not_scored_by is not None:
        done = select(scores.c.record_id).where(
            scores.c.judge_kind == "student", scores.c.complete.is_(True),
            scores.c.judge.in_(f.not_scored_by.judges), scores.c.prompt_version == f.not_scored_by.prompt_version)
        cond.append(records.c.record_id.not_in(done))
    # Score bounds test the records' own keys (storage.overall_keys: -1 / 101 when unscored). On SQLite the key
    # is written `+key` so it cannot drive the index choice: SQLite (no ANALYZE statistics) then preferred the
    # (source, outcome, key) index for every sort and sorted 100K+ rows (1-2 s for a page sorted by import
    # time at 700K records) instead of reading (source, imported_at) in order; the bound is still checked
    # inside the index for counts and score-sorted pages.
    desc: ColumnElement = records.c.overall_desc_key
    asc: ColumnElement = records.c.overall_asc_key
    if sqlite_db:
        desc, asc = literal_column("+records.overall_desc_key"), literal_column("+records.overall_asc_key")
    if f.min_overall is not None:
        cond.append(desc >= f.min_overall)
    if f.max_overall is not None:
        cond.append(asc <= f.max_overall)
    if f.dim_min or f.recommendations:
        inner = scores.alias("s_filter")
        latest = latest_student(inner)
        if f.recommendations:
            latest = latest.where(inner.c.recommendation.in_(list(f.recommendations)))
        for dim, lo in f.dim_min.items():
            latest = latest.where(inner.c[column_of(dim)] >= lo)
        cond.append(records.c.record_id.in_(latest))
    return cond


def where(conn: Connection, f: RecordFilter, *, text_probe: bool = False) -> list:
    """The WHERE conditions of `f` (an empty list matches every record).

    Tags, overrides, spot checks and scores are `record_id IN (subquery)` conditions: each subquery is
    evaluated once and served by an index, never per listed row. `text_probe`: see `text_condition`.
    """
    cond = _column_conditions(f)
    if search_words(f.text):
        cond.append(text_condition(conn, f.text, probe=text_probe))
    if f.record_ids is not None:
        cond.append(records.c.record_id.in_(list(f.record_ids)))
    return cond + _curation_conditions(f) + _score_conditions(f, conn.dialect.name == "sqlite")


def sort_source(sort: SortKey) -> tuple[FromClause, ColumnElement]:
    """(FROM clause, sort value) for `sort`.

    The value is never NULL, so keyset comparisons (neighbours, position) see every row: a missing instance id
    sorts as '', and records without a complete student score sort after all scored ones in either direction.
    """
    if sort.column == "overall":  # the latest score kept on the row (storage.overall_keys), one index scan
        return records, records.c.overall_desc_key if sort.descending else records.c.overall_asc_key
    if sort.column == "instance_id":
        return records, func.coalesce(records.c.instance_id, "")
    return records, records.c[sort.column]


def unindexed(conn: Connection, expr: ColumnElement) -> ColumnElement:
    """The same sort value as an expression no index provides (PostgreSQL; SQLite gets `expr` back).

    For a text query known to match few records: PostgreSQL's estimate for a word it has no statistics on
    is ~0.2% of the rows, so it walked the sort index testing every row against the text index (1.4 s at
    500K records for a word in none); without an ordered index it reads the matches and sorts them. SQLite
    already starts from the list of matches.
    """
    if conn.dialect.name == "sqlite":
        return expr
    if isinstance(expr.type, Integer):
        return expr + 0
    if isinstance(expr.type, DateTime):
        return expr + literal(timedelta(0))
    return expr.concat("")


def order(expr: ColumnElement, descending: bool) -> list:
    """ORDER BY the sort value, ties broken on record id in the same direction (stable pages)."""
    return [expr.desc(), records.c.record_id.desc()] if descending else [expr.asc(), records.c.record_id.asc()]


def sort_key(conn: Connection, sort: SortKey, frm: FromClause, expr: ColumnElement, record_id: str) -> tuple:
    """(sort value, record id) of one record, computed by the database as the listing does."""
    value = conn.execute(select(expr).select_from(frm).where(records.c.record_id == record_id)).first()
    if value is None:
        raise NotFoundError(f"record {record_id} not found: check the id, or re-import its file")
    return (value[0], record_id)


def matching_ids(conn: Connection, f: RecordFilter) -> Select:
    """A subquery of the ids of every record matching `f` (bulk actions cover all matches, not one page)."""
    return select(records.c.record_id).where(*where(conn, f))
