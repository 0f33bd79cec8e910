"""Annotation views: the panel's read and save (a stale save is refused), and bulk tagging with its message."""

import pytest

from mira_core.errors import ConflictError
from mira_core.query import RecordFilter
from mira_core.storage import read_conn, write_tx
from mira_core.views.annotations import (
    InvalidAnnotation,
    apply_bulk_tag,
    count_matches,
    load_annotation_panel,
    save_annotation,
)
from tests.reliability.builders import make_records


def _save(engine, rid, version, **kw):
    edit = {"override": "none", "reason": "", "tags": [], "note": "", "who": "ann", **kw}
    with write_tx(engine) as conn:
        return save_annotation(conn, rid, expected_version=version, **edit)


def test_panel_before_and_after_saves(engine):
    rid, other = make_records(engine, 2)
    with read_conn(engine) as conn:
        empty = load_annotation_panel(conn, rid)
    assert empty.current.version == 0 and empty.last_change is None and empty.history.empty
    _save(engine, rid, 0, override="force_drop", reason="dup", tags=["b_tag", "a_tag"], who="bob_smith")
    _save(engine, other, 0, tags=["b_tag"])
    with read_conn(engine) as conn:
        panel = load_annotation_panel(conn, rid)
    assert panel.known_tags == ["b_tag", "a_tag"]  # most used first
    assert panel.last_change is not None and panel.last_change.startswith("version 1 · last changed by bob\\_smith at ")
    assert panel.history[["override", "tags"]].values.tolist() == [["force drop", "a_tag, b_tag"]]


def test_a_stale_save_is_refused_and_writes_nothing(engine):
    rid = make_records(engine, 1)[0]
    _save(engine, rid, 0, note="first", who="bob")
    with pytest.raises(ConflictError, match="changed by bob"):
        _save(engine, rid, 0, note="second")  # read before bob's save
    with pytest.raises(InvalidAnnotation, match="needs a written reason"):
        _save(engine, rid, 1, override="force_keep")
    with read_conn(engine) as conn:
        panel = load_annotation_panel(conn, rid)
    assert (panel.current.version, panel.current.note, len(panel.history)) == (1, "first", 1)


def test_bulk_tag_counts_applies_and_says_what_it_did(engine):
    ids = make_records(engine, 6, sources=("x", "y"))
    only_x = RecordFilter(sources=["x"])
    _save(engine, ids[0], 0, tags=["needs_review"])  # ids[0] is an x record that has the tag already
    with read_conn(engine) as conn:
        n = count_matches(conn, only_x)
    with write_tx(engine) as conn:
        added = apply_bulk_tag(conn, only_x, tag=" needs_review ", who="ann", remove=False, matched=n)
    assert (n, added.changed) == (3, 2)
    assert added.message == "Tag needs\\_review added to 2 records (1 already had it)."
    with write_tx(engine) as conn:
        removed = apply_bulk_tag(conn, RecordFilter(), tag="needs_review", who="ann", remove=True, matched=6)
    assert removed.message == "Tag needs\\_review removed from 3 records (3 already without it)."
    with pytest.raises(InvalidAnnotation), write_tx(engine) as conn:
        apply_bulk_tag(conn, only_x, tag="  ", who="ann", remove=False, matched=n)
