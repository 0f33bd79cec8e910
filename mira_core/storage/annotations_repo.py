"""Curator annotations: a decision override, tags and a note per record, with full history.

Lost updates are refused, not merged: every save names the version it read, and the UPDATE only
matches that version (plain SQL, so it behaves the same on SQLite and PostgreSQL). A stale save raises
ConflictError naming who saved in between and when. Bulk tagging bumps the version of every record it
changes, so a curator editing one of them sees the conflict instead of silently dropping the new tag.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd
from sqlalchemy import Connection, Select, delete, func, insert, literal, select, update
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect

from mira_core.errors import ConflictError, MiraError
from mira_core.query import RecordFilter
from mira_core.storage.record_filter import matching_ids
from mira_core.storage.tables import annotation_history, annotations_table, record_tags, records
from mira_core.text_rules import make_storable
from mira_core.timeutil import as_utc, utcnow

OVERRIDES = ("none", "force_keep", "force_drop")
HISTORY_COLUMNS = ("version", "action", "override", "reason", "tags", "note", "updated_by", "updated_at")
MAX_TAG = 100


class InvalidAnnotation(MiraError):
    """An annotation or tag does not pass validation (unknown override, missing reason, bad tag)."""


class AnnotationConflict(ConflictError):
    """A stale annotation save: who saved in between and when."""

    def __init__(self, message: str, changed_by: str | None, changed_at: datetime | None):
        super().__init__(message)
        self.changed_by = changed_by
        self.changed_at = changed_at


@dataclass(frozen=True)
class Annotation:
    """A record's curator annotation; version 0 means nobody has annotated it yet."""

    record_id: str
    override: str = "none"
    reason: str = ""
    tags: list[str] = field(default_factory=list)
    note: str = ""
    version: int = 0
    updated_by: str | None = None
    updated_at: datetime | None = None


def normalize_tags(tags: Iterable[str]) -> list[str]:
    """Trimmed, de-duplicated, sorted tags; an over-long tag is refused (not cut)."""
    out = set()
    for tag in tags:
        t = " ".join(make_storable(str(tag))[0].split())
        if not t:
            continue
        if len(t) > MAX_TAG:
            raise InvalidAnnotation(f"tag {t[:30]!r}... is longer than {MAX_TAG} characters")
        out.add(t)
    return sorted(out)


def _tags_of(conn: Connection, record_id: str) -> list[str]:
    stmt = select(record_tags.c.tag).where(record_tags.c.record_id == record_id).order_by(record_tags.c.tag)
    return list(conn.execute(stmt).scalars())


def get_annotation(conn: Connection, record_id: str) -> Annotation:
    """The record's annotation (an empty one at version 0 when never saved)."""
    row = conn.execute(select(annotations_table).where(annotations_table.c.record_id == record_id)).mappings().first()
    tags = _tags_of(conn, record_id)
    if row is None:
        return Annotation(record_id=record_id, tags=tags)
    return Annotation(record_id=record_id, override=row["override"], reason=row["reason"], tags=tags,
                      note=row["note"], version=int(row["version"]), updated_by=row["updated_by"],
                      updated_at=as_utc(row["updated_at"]))


def _validate(override: str, reason: str) -> None:
    if override not in OVERRIDES:
        raise InvalidAnnotation(f"override must be one of {', '.join(OVERRIDES)} (got {override!r})")
    if override != "none" and not reason.strip():
        raise InvalidAnnotation(f"a {override.replace('_', ' ')} override needs a written reason")


def _conflict(conn: Connection, record_id: str, expected: int) -> AnnotationConflict:
    current = get_annotation(conn, record_id)
    when = current.updated_at.strftime("%Y-%m-%d %H:%M:%S UTC") if current.updated_at else "an unknown time"
    return AnnotationConflict(
        f"record {record_id} was changed by {current.updated_by} at {when} (version {current.version}; you "
        f"edited version {expected}). Nothing was saved: reload to see their change, then apply yours again.",
        changed_by=current.updated_by,
        changed_at=current.updated_at,
    )


def save_annotation(conn: Connection, record_id: str, *, expected_version: int, override: str = "none",
                    reason: str = "", tags: Iterable[str] = (), note: str = "", who: str) -> Annotation:
    """Save the whole annotation if it is still at `expected_version`; returns the saved one.

    Raises ConflictError when someone else saved first (nothing is written).
    """
    reason, note = make_storable(reason)[0], make_storable(note)[0]  # NUL / lone surrogates: the text rule
    _validate(override, reason)
    clean_tags = normalize_tags(tags)
    if conn.execute(select(records.c.record_id).where(records.c.record_id == record_id)).scalar() is None:
        raise InvalidAnnotation(f"record {record_id} not found: it may have been deleted")
    now, version = utcnow(), expected_version + 1
    values = {"override": override, "reason": reason.strip(), "note": note, "version": version,
              "updated_by": who, "updated_at": now}
    if expected_version == 0:
        # ON CONFLICT DO NOTHING: a concurrent first save makes ours a no-op we report, not an IntegrityError.
        dialect = sqlite_dialect if conn.dialect.name == "sqlite" else pg_dialect
        res = conn.execute(dialect.insert(annotations_table).values(record_id=record_id, **values)
                           .on_conflict_do_nothing(index_elements=["record_id"])
                           .returning(annotations_table.c.record_id))  # rowcount is unreliable here on PG
        if res.first() is None:
            raise _conflict(conn, record_id, expected_version)
    else:
        res = conn.execute(update(annotations_table).where(annotations_table.c.record_id == record_id,
                                                     annotations_table.c.version == expected_version).values(values))
        if not res.rowcount:
            raise _conflict(conn, record_id, expected_version)
    conn.execute(delete(record_tags).where(record_tags.c.record_id == record_id))
    if clean_tags:
        conn.execute(insert(record_tags), [{"record_id": record_id, "tag": t} for t in clean_tags])
    conn.execute(insert(annotation_history).values(record_id=record_id, action="save", tags=json.dumps(clean_tags),
                                                   **values))
    return Annotation(record_id=record_id, override=override, reason=reason.strip(), tags=clean_tags, note=note,
                      version=version, updated_by=who, updated_at=now)


def history(conn: Connection, record_id: str) -> pd.DataFrame:
    """Every change to a record's annotation, newest first (HISTORY_COLUMNS; tags as a list)."""
    stmt = (select(*[annotation_history.c[c] for c in HISTORY_COLUMNS])
            .where(annotation_history.c.record_id == record_id)
            .order_by(annotation_history.c.history_id.desc()))
    df = pd.DataFrame([tuple(r) for r in conn.execute(stmt)], columns=list(HISTORY_COLUMNS))
    df["tags"] = [json.loads(t) for t in df["tags"]]
    df["updated_at"] = [as_utc(v) for v in df["updated_at"]]
    return df


def bulk_tag(conn: Connection, f: RecordFilter, tag: str, *, who: str, remove: bool = False) -> int:
    """Add (or remove) `tag` on every record matching `f`; returns how many records changed.

    Runs as four set-based statements (no ids in Python), so a filter matching 232K records is one
    transaction of INSERT ... SELECT / UPDATE ... WHERE IN; each changed record gets a history row and
    a version bump.
    """
    clean = normalize_tags([tag])
    if not clean:
        raise InvalidAnnotation("a tag cannot be empty")
    tag = clean[0]
    has_tag = select(record_tags.c.record_id).where(record_tags.c.tag == tag)
    matching = matching_ids(conn, f)
    changing = records.c.record_id.in_(matching) & (
        records.c.record_id.in_(has_tag) if remove else records.c.record_id.not_in(has_tag))
    n = int(conn.execute(select(func.count()).select_from(records).where(changing)).scalar_one())
    if not n:
        return 0
    now, action = utcnow(), "bulk_untag" if remove else "bulk_tag"
    src = records.outerjoin(annotations_table, annotations_table.c.record_id == records.c.record_id)
    hist = select(
        records.c.record_id, func.coalesce(annotations_table.c.version, 0) + 1, literal(action),
        func.coalesce(annotations_table.c.override, "none"), func.coalesce(annotations_table.c.reason, ""),
        literal(json.dumps([tag])), func.coalesce(annotations_table.c.note, ""), literal(who), literal(now),
    ).select_from(src).where(changing)
    conn.execute(insert(annotation_history).from_select(
        ["record_id", "version", "action", "override", "reason", "tags", "note", "updated_by", "updated_at"], hist))
    target_ids = select(records.c.record_id).where(changing)
    conn.execute(update(annotations_table).where(annotations_table.c.record_id.in_(target_ids))
                 .values(version=annotations_table.c.version + 1, updated_by=who, updated_at=now))
    fresh = select(records.c.record_id, literal("none"), literal(""), literal(""), literal(1), literal(who),
                   literal(now)).where(changing, records.c.record_id.not_in(select(annotations_table.c.record_id)))
    conn.execute(insert(annotations_table).from_select(
        ["record_id", "override", "reason", "note", "version", "updated_by", "updated_at"], fresh))
    if remove:
        conn.execute(delete(record_tags).where(record_tags.c.tag == tag, record_tags.c.record_id.in_(matching)))
    else:
        conn.execute(insert(record_tags).from_select(
            ["record_id", "tag"], select(records.c.record_id, literal(tag)).where(changing)))
    return n


def tag_counts(conn: Connection) -> pd.DataFrame:
    """Every tag with how many records carry it (columns tag, records), most used first."""
    stmt = (select(record_tags.c.tag, func.count().label("records")).group_by(record_tags.c.tag)
            .order_by(func.count().desc(), record_tags.c.tag))
    return pd.DataFrame([tuple(r) for r in conn.execute(stmt)], columns=["tag", "records"])


def tagged_ids(tags: Iterable[str]) -> Select:
    """Subquery of record ids carrying any of `tags` (for Browse: `records.c.record_id.in_(...)`)."""
    return select(record_tags.c.record_id).where(record_tags.c.tag.in_(list(tags)))


def override_ids(override: str) -> Select:
    """Subquery of record ids whose override is `override` ('force_keep' / 'force_drop')."""
    return select(annotations_table.c.record_id).where(annotations_table.c.override == override)


@dataclass(frozen=True)
class PageAnnotation:
    """A record's override and tags, as a Browse row shows them."""

    override: str
    """'none', 'force_keep' or 'force_drop'."""
    tags: list[str]
    """Sorted."""


def page_annotations(conn: Connection, record_ids: Sequence[str]) -> dict[str, PageAnnotation]:
    """Override and tags of each of `record_ids` in ONE query (a page of Browse); unannotated ids are absent.

    The UNION puts each record's override row and its tag rows into one result: no query per row.
    """
    if not record_ids:
        return {}
    ids = list(record_ids)
    overrides = select(annotations_table.c.record_id, annotations_table.c.override.label("value"),
                       literal(0).label("kind")).where(annotations_table.c.record_id.in_(ids))
    tags = select(record_tags.c.record_id, record_tags.c.tag.label("value"),
                  literal(1).label("kind")).where(record_tags.c.record_id.in_(ids))
    out: dict[str, PageAnnotation] = {}
    for rid, value, kind in conn.execute(overrides.union_all(tags)):
        row = out.setdefault(rid, PageAnnotation("none", []))
        if kind == 0:
            out[rid] = PageAnnotation(value, row.tags)
        else:
            row.tags.append(value)
    for row in out.values():
        row.tags.sort()
    return out
