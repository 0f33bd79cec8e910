"""Curator annotations: optimistic locking, history and bulk tags, on SQLite and PostgreSQL."""

import pytest

from mira_core.errors import ConflictError
from mira_core.query import RecordFilter
from mira_core.storage import annotations_repo as ann
from mira_core.storage.engine import read_conn, write_tx
from tests.reliability.builders import make_records


def test_save_then_stale_save_is_refused_naming_who_and_when(engine):
    rid = make_records(engine, 1)[0]
    with read_conn(engine) as conn:
        first_read = ann.get_annotation(conn, rid)
    assert first_read.version == 0 and first_read.override == "none"
    with write_tx(engine) as conn:
        saved = ann.save_annotation(conn, rid, expected_version=0, override="force_keep", reason="great recovery",
                                    tags=["gold", " gold ", "recovery"], note="see step 12", who="ann")
    assert saved.version == 1 and saved.tags == ["gold", "recovery"]
    # Bob read version 0 too; his save must not overwrite Ann's.
    with write_tx(engine) as conn, pytest.raises(ConflictError, match=r"changed by ann at \d{4}-\d\d-\d\d") as exc:
        ann.save_annotation(conn, rid, expected_version=0, override="force_drop", reason="noise", who="bob")
    assert exc.value.changed_by == "ann"
    with write_tx(engine) as conn:
        ann.save_annotation(conn, rid, expected_version=1, override="force_keep", reason="great recovery",
                            tags=["gold"], note="", who="bob")
    with write_tx(engine) as conn, pytest.raises(ConflictError, match="changed by bob"):
        ann.save_annotation(conn, rid, expected_version=1, note="late edit", who="ann")
    with read_conn(engine) as conn:
        now = ann.get_annotation(conn, rid)
        hist = ann.history(conn, rid)
    assert (now.version, now.updated_by, now.tags, now.override) == (2, "bob", ["gold"], "force_keep")
    assert hist.version.tolist() == [2, 1] and hist.updated_by.tolist() == ["bob", "ann"]
    assert hist.tags.tolist() == [["gold"], ["gold", "recovery"]]


def test_override_needs_reason_and_known_value(engine):
    rid = make_records(engine, 1)[0]
    with write_tx(engine) as conn:
        with pytest.raises(ann.InvalidAnnotation, match="needs a written reason"):
            ann.save_annotation(conn, rid, expected_version=0, override="force_drop", reason=" ", who="ann")
        with pytest.raises(ann.InvalidAnnotation, match="override must be one of"):
            ann.save_annotation(conn, rid, expected_version=0, override="keep", reason="x", who="ann")
        with pytest.raises(ann.InvalidAnnotation, match="longer than 100"):
            ann.save_annotation(conn, rid, expected_version=0, tags=["x" * 101], who="ann")


def test_bulk_tag_covers_every_match_and_bumps_versions(engine):
    ids = make_records(engine, 30)  # 15 src_a, 15 src_b
    with write_tx(engine) as conn:
        ann.save_annotation(conn, ids[0], expected_version=0, note="early", tags=["old"], who="ann")
        n = ann.bulk_tag(conn, RecordFilter(sources=["src_a"]), "needs-review", who="bob")
        again = ann.bulk_tag(conn, RecordFilter(sources=["src_a"]), "needs-review", who="bob")
    assert (n, again) == (15, 0)  # idempotent
    with read_conn(engine) as conn:
        counts = ann.tag_counts(conn)
        first = ann.get_annotation(conn, ids[0])
        other = ann.get_annotation(conn, ids[2])
        untouched = ann.get_annotation(conn, ids[1])
        tagged = set(conn.execute(ann.tagged_ids(["needs-review"])).scalars())
    assert dict(zip(counts.tag, counts.records, strict=True)) == {"needs-review": 15, "old": 1}
    assert first.version == 2 and first.tags == ["needs-review", "old"] and first.note == "early"
    assert other.version == 1 and other.updated_by == "bob"
    assert untouched.version == 0 and tagged == set(ids[0::2])
    # Ann's page still shows version 1 of ids[0]: her save is refused, the bulk tag is not lost.
    with write_tx(engine) as conn, pytest.raises(ConflictError, match="changed by bob"):
        ann.save_annotation(conn, ids[0], expected_version=1, tags=["old"], who="ann")
    with write_tx(engine) as conn:
        removed = ann.bulk_tag(conn, RecordFilter(sources=["src_a"], min_tokens=0), "needs-review", who="bob",
                               remove=True)
    with read_conn(engine) as conn:
        assert removed == 15 and ann.get_annotation(conn, ids[0]).tags == ["old"]
        assert ann.history(conn, ids[0]).action.tolist() == ["bulk_untag", "bulk_tag", "save"]


def test_override_subquery_for_browse(engine):
    ids = make_records(engine, 3)
    with write_tx(engine) as conn:
        ann.save_annotation(conn, ids[1], expected_version=0, override="force_drop", reason="dup", who="ann")
    with read_conn(engine) as conn:
        assert list(conn.execute(ann.override_ids("force_drop")).scalars()) == [ids[1]]


def test_unstorable_text_follows_the_text_rule(engine):
    rid = make_records(engine, 1)[0]
    with write_tx(engine) as conn:
        saved = ann.save_annotation(conn, rid, expected_version=0, override="force_keep", reason="a\u0000b",
                                    note="x\ud800y", tags=["t\u0000"], who="ann")
    with read_conn(engine) as conn:
        got = ann.get_annotation(conn, rid)
    assert (got.reason, got.note, got.tags) == ("a\u2400b", "x\ufffdy", ["t\u2400"]) == (
        saved.reason, saved.note, saved.tags)


def test_two_first_saves_at_once_one_wins_the_other_gets_a_conflict(engine):
    import threading

    rid = make_records(engine, 1)[0]
    a_saved, outcome = threading.Event(), {}

    def curator_a():
        with write_tx(engine) as conn:
            ann.save_annotation(conn, rid, expected_version=0, note="from A", who="ann")
            a_saved.set()
            threading.Event().wait(0.3)  # keep the transaction open while B tries

    def curator_b():
        a_saved.wait(10)
        try:
            with write_tx(engine) as conn:  # waits for A's transaction (lock), then sees A's row
                ann.save_annotation(conn, rid, expected_version=0, note="from B", who="bob")
            outcome["b"] = "saved"
        except ConflictError as exc:
            outcome["b"] = str(exc)

    threads = [threading.Thread(target=curator_a), threading.Thread(target=curator_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert "changed by ann" in outcome["b"]
    with read_conn(engine) as conn:
        assert ann.get_annotation(conn, rid).note == "from A"
