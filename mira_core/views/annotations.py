"""The Record page's annotation panel and Browse's bulk tag: read, save with conflict detection, tag every match.

A save names the version the curator read; storage refuses it with ConflictError (nothing written) when
someone saved in between, so the page can offer their version instead of overwriting it. Both writes need
the curator role and add to the activity log in the same transaction: `annotation.save` for every save, plus
`override.set`, `tag.add` and `tag.remove` for what a save changed; `tag.bulk_add` / `tag.bulk_remove` for a
bulk tag (the filter and the count).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from mira_core.identity import Actor, Role, require
from mira_core.query import RecordFilter
from mira_core.storage import Connection, annotations_repo, records_repo
from mira_core.storage.annotations_repo import Annotation, InvalidAnnotation
from mira_core.team import record_change
from mira_core.views.escape import escape_markdown

__all__ = [
    "OVERRIDE_LABELS",
    "Annotation",
    "AnnotationPanel",
    "BulkTagResult",
    "InvalidAnnotation",
    "apply_bulk_tag",
    "count_matches",
    "load_annotation_panel",
    "save_annotation",
    "tag_all_matches",
]

OVERRIDE_LABELS = {"none": "no override", "force_keep": "force keep", "force_drop": "force drop"}


@dataclass(frozen=True)
class AnnotationPanel:
    """What the annotation panel shows for one record."""

    current: Annotation
    """The stored annotation (version 0 when nobody has annotated the record yet)."""
    known_tags: list[str]
    """Every tag in use, most used first (the tag picker's options)."""
    history: pd.DataFrame
    """Every change, newest first (`annotations_repo.HISTORY_COLUMNS`), tags joined by ', ', overrides labelled."""

    @property
    def last_change(self) -> str | None:
        """'version N · last changed by WHO at WHEN UTC' (markdown, the name escaped); None before the first save."""
        a = self.current
        if not a.version:
            return None
        return (f"version {a.version} · last changed by {escape_markdown(str(a.updated_by))} at "
                f"{a.updated_at:%Y-%m-%d %H:%M} UTC")


def _history_table(hist: pd.DataFrame) -> pd.DataFrame:
    return hist.assign(tags=[", ".join(t) for t in hist.tags],
                       override=[OVERRIDE_LABELS.get(o, o) for o in hist.override])


def load_annotation_panel(conn: Connection, record_id: str) -> AnnotationPanel:
    """The record's annotation, the tags in use and the change history (three small reads)."""
    current = annotations_repo.get_annotation(conn, record_id)
    known = [str(t) for t in annotations_repo.tag_counts(conn).tag.tolist()]
    return AnnotationPanel(current, known, _history_table(annotations_repo.history(conn, record_id)))


def save_annotation(conn: Connection, record_id: str, *, expected_version: int, override: str, reason: str,
                    tags: Iterable[str], note: str, actor: Actor) -> Annotation:
    """Save the whole annotation if it is still at `expected_version` (call inside `write_tx`).

    Raises PermissionDenied for a viewer, ConflictError (naming who saved) when someone saved first,
    InvalidAnnotation for an unknown override, an override without a reason, a bad tag or a deleted record;
    nothing is written in any of these cases.
    """
    require(actor, Role.curator, "annotating records")
    before = annotations_repo.get_annotation(conn, record_id)
    saved = annotations_repo.save_annotation(conn, record_id, expected_version=expected_version,
                                             override=override, reason=reason, tags=tags, note=note,
                                             who=actor.user_id)
    _record_save(conn, actor, before, saved)
    return saved


def _record_save(conn: Connection, actor: Actor, before: Annotation, saved: Annotation) -> None:
    """The save in the activity log, and the override and tag changes it made (no text bodies)."""
    rid, version = saved.record_id, saved.version
    changed = [f for f in ("override", "reason", "tags", "note") if getattr(before, f) != getattr(saved, f)]
    record_change(conn, actor, "annotation.save", target_kind="record", target_id=rid, record_id=rid,
                  version=version, changed=changed)
    if before.override != saved.override or (saved.override != "none" and before.reason != saved.reason):
        record_change(conn, actor, "override.set", target_kind="record", target_id=rid, record_id=rid,
                      version=version, old=before.override, new=saved.override)
    added, removed = sorted(set(saved.tags) - set(before.tags)), sorted(set(before.tags) - set(saved.tags))
    if added:
        record_change(conn, actor, "tag.add", target_kind="record", target_id=rid, record_id=rid, version=version,
                      tags=added)
    if removed:
        record_change(conn, actor, "tag.remove", target_kind="record", target_id=rid, record_id=rid,
                      version=version, tags=removed)


@dataclass(frozen=True)
class BulkTagResult:
    """What a bulk tag did, for the message after the page reruns."""

    tag: str
    """The tag as typed (surrounding spaces removed)."""
    changed: int
    """Records that gained (or lost) the tag."""
    matched: int
    """Records the filter matched when the form was shown."""
    removed: bool
    """Whether the tag was removed rather than added."""

    @property
    def message(self) -> str:
        """'Tag T added to N records (M already had it).' as markdown (the tag escaped)."""
        verb = "removed from" if self.removed else "added to"
        return (f"Tag {escape_markdown(self.tag)} {verb} {self.changed:,} records "
                f"({self.matched - self.changed:,} already {'without' if self.removed else 'had'} it).")


def count_matches(conn: Connection, record_filter: RecordFilter) -> int:
    """Records the filter matches (the number the bulk-tag form names)."""
    return records_repo.count_records(conn, record_filter)


def _filter_detail(record_filter: RecordFilter) -> dict[str, object]:
    """The filter as the activity log keeps it: only what differs from the default, explicit ids as a count."""
    detail = record_filter.model_dump(mode="json", exclude_defaults=True)
    if record_filter.record_ids is not None:
        detail["record_ids"] = f"{len(record_filter.record_ids)} ids"
    return detail


def tag_all_matches(conn: Connection, record_filter: RecordFilter, *, tag: str, remove: bool, actor: Actor) -> int:
    """Add (or remove) `tag` on every match in one transaction (call inside `write_tx`); returns records changed.

    Raises PermissionDenied for a viewer, InvalidAnnotation for an empty or over-long tag (nothing written).
    """
    require(actor, Role.curator, "tagging records")
    changed = annotations_repo.bulk_tag(conn, record_filter, tag, who=actor.user_id, remove=remove)
    if changed:  # a bulk tag that changed nothing wrote nothing
        record_change(conn, actor, "tag.bulk_remove" if remove else "tag.bulk_add", target_kind="record",
                      tag=annotations_repo.normalize_tags([tag])[0], filter=_filter_detail(record_filter),
                      count=changed)
    return changed


def apply_bulk_tag(conn: Connection, record_filter: RecordFilter, *, tag: str, remove: bool, matched: int,
                   actor: Actor) -> BulkTagResult:
    """`tag_all_matches`, with the message the page shows (`matched` is the count the form showed)."""
    require(actor, Role.curator, "tagging records")
    changed = tag_all_matches(conn, record_filter, tag=tag, remove=remove, actor=actor)
    return BulkTagResult(tag.strip(), changed, matched, remove)
