"""Annotation views: the panel's read and save (a stale save is refused), and bulk tagging with its message."""

import pytest

from mira_core.errors import ConflictError
from mira_core.identity import PermissionDenied, Role
from mira_core.query import RecordFilter
from mira_core.storage import read_conn, write_tx
from mira_core.storage.annotations_repo import AnnotationConflict
from mira_core.team import list_changes
from mira_core.views.annotations import (
    InvalidAnnotation,
    apply_bulk_tag,
    count_matches,
    load_annotation_panel,
    save_annotation,
    tag_all_matches,
)
from tests.reliability.builders import make_records, person

CURATOR = person("ann", Role.curator)


def _save(engine, rid, version, **kw):
    edit = {"override": "none", "reason": "", "tags": [], "note": "", **kw}
    who = edit.pop("who", "ann")
    with write_tx(engine) as conn:
        return save_annotation(conn, rid, expected_version=version, actor=person(who, Role.curator), **edit)


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
        added = apply_bulk_tag(conn, only_x, tag=" needs_review ", actor=CURATOR, remove=False, matched=n)
    assert (n, added.changed) == (3, 2)
    assert added.message == "Tag needs\\_review added to 2 records (1 already had it)."
    with write_tx(engine) as conn:
        removed = apply_bulk_tag(conn, RecordFilter(), tag="needs_review", actor=CURATOR, remove=True, matched=6)
    assert removed.message == "Tag needs\\_review removed from 3 records (3 already without it)."
    with pytest.raises(InvalidAnnotation), write_tx(engine) as conn:
        apply_bulk_tag(conn, only_x, tag="  ", actor=CURATOR, remove=False, matched=n)


@pytest.mark.parametrize("role", list(Role))
def test_annotating_needs_a_curator_and_names_them(engine, role):
    rid = make_records(engine, 1)[0]
    who = person(f"{role}@example.org", role)
    edit = {"override": "force_keep", "reason": "clean run", "tags": ["gold", "hard"], "note": "n"}
    with write_tx(engine) as conn:
        if role is Role.viewer:
            with pytest.raises(PermissionDenied, match="annotating records needs the curator role; viewer@"):
                save_annotation(conn, rid, expected_version=0, actor=who, **edit)
        else:
            save_annotation(conn, rid, expected_version=0, actor=who, **edit)
            save_annotation(conn, rid, expected_version=1, actor=who, **{**edit, "override": "none", "tags": ["gold"]})
    with read_conn(engine) as conn:
        panel = load_annotation_panel(conn, rid)
        log = list_changes(conn, record_id=rid)
    if role is Role.viewer:
        assert (panel.current.version, panel.history.empty, log) == (0, True, [])  # no row, no activity
        return
    assert panel.current.updated_by == who.user_id and set(panel.history.updated_by) == {who.user_id}
    assert {(c.actor, c.target_kind, c.target_id) for c in log} == {(who.user_id, "record", rid)}
    assert [(c.kind, c.detail) for c in log] == [  # newest first; the reason and note texts are not logged
        ("tag.remove", {"version": 2, "tags": ["hard"]}),
        ("override.set", {"version": 2, "old": "force_keep", "new": "none"}),
        ("annotation.save", {"version": 2, "changed": ["override", "tags"]}),
        ("tag.add", {"version": 1, "tags": ["gold", "hard"]}),
        ("override.set", {"version": 1, "old": "none", "new": "force_keep"}),
        ("annotation.save", {"version": 1, "changed": ["override", "reason", "tags", "note"]}),
    ]


def test_a_conflict_names_the_person_who_saved_first(engine):
    rid = make_records(engine, 1)[0]
    _save(engine, rid, 0, note="first", who="cy@example.org")
    with pytest.raises(AnnotationConflict, match=r"changed by cy@example\.org at") as refused:
        _save(engine, rid, 0, note="second", who="ann@example.org")
    assert refused.value.changed_by == "cy@example.org"
    with read_conn(engine) as conn:
        assert [c.actor for c in list_changes(conn)] == ["cy@example.org"]  # the refused save left no trace


@pytest.mark.parametrize("role", list(Role))
def test_bulk_tagging_needs_a_curator_and_logs_the_filter_and_count(engine, role):
    ids = make_records(engine, 4, sources=("x", "y"))
    who, only_x = person(f"{role}@example.org", role), RecordFilter(sources=["x"])
    with write_tx(engine) as conn:
        if role is Role.viewer:
            with pytest.raises(PermissionDenied, match="tagging records needs the curator role"):
                apply_bulk_tag(conn, only_x, tag="review", remove=False, matched=2, actor=who)
            with pytest.raises(PermissionDenied, match="tagging records needs the curator role"):
                tag_all_matches(conn, only_x, tag="review", remove=False, actor=who)
        else:
            assert apply_bulk_tag(conn, only_x, tag=" review ", remove=False, matched=2, actor=who).changed == 2
            assert tag_all_matches(conn, RecordFilter(record_ids=["nope"]), tag="review", remove=True, actor=who) == 0
            assert tag_all_matches(conn, RecordFilter(), tag="review", remove=True, actor=who) == 2
    with read_conn(engine) as conn:
        tagged = count_matches(conn, RecordFilter(tags=["review"]))
        log = list_changes(conn)
        updated_by = {load_annotation_panel(conn, rid).current.updated_by for rid in ids[0::2]}  # the x records
    if role is Role.viewer:
        assert (tagged, log, updated_by) == (0, [], {None})
        return
    assert tagged == 0 and updated_by == {who.user_id}  # added, then removed again; each record names them
    assert [(c.actor, c.kind, c.target_kind, c.detail) for c in log] == [  # the no-op removal is not logged
        (who.user_id, "tag.bulk_remove", "record", {"tag": "review", "filter": {}, "count": 2}),
        (who.user_id, "tag.bulk_add", "record", {"tag": "review", "filter": {"sources": ["x"]}, "count": 2}),
    ]
